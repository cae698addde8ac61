"""The organization's overview: its set-up at a glance and the provisioning health panel."""

from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from scimgate.admin import operations as ops
from scimgate.domain import breaker
from scimgate.storage.models import Organization, utcnow

from .pages import Redirect, Show, Visit, org_url, page


def routes() -> list[BaseRoute]:
    """This module's pages, relative to ``/admin``, each starting ``/orgs/{org}``."""
    return [
        Route("/orgs/{org}", page(overview), methods=["GET"]),
        Route("/orgs/{org}/breaker/approve", page(approve_breaker, write=True), methods=["POST"]),
    ]


def approve_breaker(visit: Visit, session: Session) -> Redirect:
    """Let held deprovisioning through for one window, as ``scimgate breaker approve`` does.

    The IdP retries what was held (it got 503 with Retry-After), so approving is all an
    administrator has to do once they have checked the deprovisioning is wanted.
    """
    org = visit.organization
    limits = breaker.Limits.from_settings(visit.settings)
    found = ops.approve_breaker(session, org.id, limits)
    until = datetime.fromisoformat(found["approved_until"]).strftime("%Y-%m-%d %H:%M UTC")
    return Redirect(
        org_url(org),
        f"Approved: every deprovisioning passes until {until}; the identity provider's "
        "retries of the held requests now go through.",
    )


def overview(visit: Visit, session: Session) -> Show:
    """The organization's SSO, SCIM and IdP state, and its last day of SCIM requests."""
    org = visit.organization
    limits = breaker.Limits.from_settings(visit.settings)
    health = ops.health(session, org.id, visit.ring, limits, utcnow())
    since = datetime.fromisoformat(health["since"])
    last = health["last_error"]
    return Show(
        "overview.html",
        {
            "tab": "overview",
            "view": ops.show_org(session, org.id),
            "source": user_source(org),
            "health": health,
            "since": since,
            "last_error_at": datetime.fromisoformat(last["time"]) if last else None,
            "links": _log_links(org, since),
        },
    )


def user_source(org: Organization) -> str:
    """Where the organization's members come from, in words."""
    if org.scim_enabled:
        return "SCIM"
    if org.google_directory_sync:
        return "Google Directory Sync"
    return "none"


def _log_links(org: Organization, since: datetime) -> dict[str, str]:
    """The request log filtered to the health panel's window: every request, 4xx, 5xx."""
    # Written with "Z" so the link reads well; the log page parses ISO 8601.
    moment = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = org_url(org, "logs")
    return {
        "all": f"{base}?{urlencode({'since': moment}, safe=':')}",
        "4xx": f"{base}?{urlencode({'status': '4xx', 'since': moment}, safe=':')}",
        "5xx": f"{base}?{urlencode({'status': '5xx', 'since': moment}, safe=':')}",
    }
