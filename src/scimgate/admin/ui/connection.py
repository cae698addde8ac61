"""The "SSO & SCIM" page: the identity provider, SCIM switch and tokens, flags, retention.

Every form posts to its own path below ``/orgs/{org}/sso``. A new token's secret is
shown once, in the page that answers the POST which issued it (never a redirect,
which would have to carry it): reloading the page later shows only its prefix.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from scimgate.admin import operations as ops
from scimgate.admin.views import View
from scimgate.domain import sso
from scimgate.errors import InvalidValueError
from scimgate.storage.models import utcnow

from .pages import Handler, Redirect, Show, Visit, org_url, page

FLAG_LABELS = {
    "sync_groups_to_teams": "Sync SCIM groups to teams",
    "assign_roles_from_groups": "Assign roles from SCIM groups",
    "phone_sync": "Sync phone numbers",
}
SOURCES = {
    "scim": "SCIM",
    "google": "Google Directory Sync",
    "none": "None (no user source)",
}
GRACE_CHOICES = {"0": "now", "3600": "1 hour", "86400": "24 hours"}
"""How long a rotated token keeps working, in seconds, as the rotate form offers it."""
# Certificates are renewed weeks ahead; under this the badge turns yellow.
_EXPIRY_WARNING = timedelta(days=30)


def routes() -> list[BaseRoute]:
    """This module's pages, relative to ``/admin``, each starting ``/orgs/{org}``."""
    base = "/orgs/{org}/sso"
    posts: dict[str, Handler] = {
        "/metadata": upload_metadata,
        "/settings": save_settings,
        "/scim": switch_scim,
        "/source": save_source,
        "/tokens": generate_token,
        "/tokens/{token}/rotate": rotate_token,
        "/tokens/{token}/revoke": revoke_token,
        "/flags": save_flags,
        "/retention": save_retention,
    }
    return [
        Route(base, page(show), methods=["GET"]),
        *(
            Route(base + tail, page(handler, write=True), methods=["POST"])
            for tail, handler in posts.items()
        ),
    ]


def show(visit: Visit, session: Session) -> Show:
    """The organization's SSO and SCIM set-up."""
    return Show("sso.html", _context(visit, session))


def upload_metadata(visit: Visit, session: Session) -> Redirect:
    """Configure SSO from an uploaded IdP metadata document."""
    upload = visit.upload("metadata")
    if upload is None:
        raise InvalidValueError("Choose the IdP metadata file to upload.")
    config = sso.parse_metadata(upload.file.read())
    return _configured(visit, session, config, "from the uploaded metadata")


def save_settings(visit: Visit, session: Session) -> Redirect:
    """Configure SSO from an entity ID, SSO URL and certificate typed or pasted by hand."""
    config = sso.build_settings(
        visit.text("entity_id"), visit.text("sso_url"), visit.text("certificate")
    )
    return _configured(visit, session, config, "")


def _configured(visit: Visit, session: Session, config: sso.SsoSettings, how: str) -> Redirect:
    org = visit.organization
    ops.configure_sso(session, org.id, config)
    said = f"Single sign-on saved {how}".rstrip()
    return Redirect(org_url(org, "sso"), f"{said}: identity provider {config.entity_id}.")


def switch_scim(visit: Visit, session: Session) -> Redirect:
    """Turn SCIM on or off."""
    org = visit.organization
    enabled = visit.text("enabled") == "true"
    ops.update_org(session, org.id, ops.OrgChanges(switches={"scim_enabled": enabled}))
    return Redirect(org_url(org, "sso"), f"SCIM turned {'on' if enabled else 'off'}.")


def save_source(visit: Visit, session: Session) -> Redirect:
    """Choose where members come from: SCIM, Google Directory Sync, or neither."""
    org = visit.organization
    source = visit.text("source")
    if source not in SOURCES:
        raise InvalidValueError("Choose a directory source: SCIM, Google Directory Sync or none.")
    switches = {"scim_enabled": source == "scim", "google_directory_sync": source == "google"}
    ops.update_org(session, org.id, ops.OrgChanges(switches=switches))
    return Redirect(org_url(org, "sso"), f"Directory source saved: {SOURCES[source]}.")


def generate_token(visit: Visit, session: Session) -> Show:
    """Issue a SCIM token and show its secret, this once."""
    issued = ops.issue_token(session, visit.organization.id)
    return Show("sso.html", _context(visit, session, issued))


def rotate_token(visit: Visit, session: Session) -> Show:
    """Replace a token; the old one keeps working for the chosen time, then stops."""
    seconds = visit.text("grace")
    if seconds not in GRACE_CHOICES:
        raise InvalidValueError("Choose how long the old token keeps working.")
    grace = timedelta(seconds=int(seconds))
    issued = ops.rotate_token(session, visit.organization.id, grace, visit.path["token"])
    return Show("sso.html", _context(visit, session, issued, rotated=GRACE_CHOICES[seconds]))


def revoke_token(visit: Visit, session: Session) -> Redirect:
    """Revoke a token at once."""
    org = visit.organization
    revoked = ops.revoke_token(session, org.id, visit.path["token"])
    return Redirect(org_url(org, "sso"), f"Token {revoked['prefix']}… revoked.")


def save_flags(visit: Visit, session: Session) -> Redirect:
    """Set the provisioning feature flags from the ticked boxes."""
    org = visit.organization
    flags = {name: visit.checked(name) for name in ops.FLAGS}
    ops.update_org(session, org.id, ops.OrgChanges(flags=flags))
    return Redirect(org_url(org, "sso"), "Feature flags saved.")


def save_retention(visit: Visit, session: Session) -> Redirect:
    """Set how many days the organization's request log entries are kept."""
    org = visit.organization
    text = visit.text("days").strip()
    if not text.isdigit():
        raise InvalidValueError("Give the request log retention as a whole number of days.")
    kept = ops.log_retention(session, org.id, int(text))
    return Redirect(
        org_url(org, "sso"), f"Request logs are kept for {kept['log_retention_days']} days."
    )


def _context(
    visit: Visit, session: Session, new_token: View | None = None, rotated: str | None = None
) -> dict[str, Any]:
    org = visit.organization
    view = ops.show_org(session, org.id)
    now = utcnow()
    base = (visit.settings.public_base_url or visit.origin).rstrip("/")
    return {
        "tab": "sso",
        "view": view,
        "connection": _connection(ops.show_sso(session, org.id), now),
        "scim_base_url": f"{base}/scim/v2",
        "source": "scim" if org.scim_enabled else "google" if org.google_directory_sync else "none",
        "sources": SOURCES,
        "tokens": [_token(token, now) for token in ops.list_tokens(session, org.id)],
        "new_token": new_token,
        "rotated": rotated,
        "grace_choices": GRACE_CHOICES,
        "flags": [(name, label, view[name]) for name, label in FLAG_LABELS.items()],
        "retention": ops.log_retention(session, org.id)["log_retention_days"],
    }


def _connection(found: View | None, now: datetime) -> View | None:
    """The SSO view with its certificate's expiry as a badge: text and kind."""
    if found is None:
        return None
    ends = datetime.fromisoformat(found["certificate"]["not_valid_after"])
    left = ends - now
    if left <= timedelta(0):
        badge = ("expired", "bad")
    else:
        days = left.days
        kind = "warn" if left < _EXPIRY_WARNING else "ok"
        badge = (f"expires in {days} day{'' if days == 1 else 's'}", kind)
    return {**found, "expires_at": ends, "expiry": badge}


def _token(found: View, now: datetime) -> View:
    """A token row with its dates as datetimes and its state: active, expiring, expired, revoked."""
    dates = {
        key: datetime.fromisoformat(found[key]) if found[key] else None
        for key in ("created_at", "last_used_at", "expires_at", "revoked_at")
    }
    expires = dates["expires_at"]
    if dates["revoked_at"] is not None:
        state = ("revoked", "bad")
    elif expires is not None and expires <= now:
        state = ("expired", "bad")
    elif expires is not None:
        state = ("expiring", "warn")
    else:
        state = ("active", "ok")
    return {**found, **dates, "state": state, "usable": state[0] in ("active", "expiring")}
