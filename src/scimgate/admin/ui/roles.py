"""The role assignment page: roles and their weights, the default role, group mappings.

Every change can be previewed first. A preview runs the change in a savepoint that
is rolled back (``domain.role_assignment``), which needs a write transaction: the
Preview buttons POST, and the answer is the page itself with the members whose role
would move and a form to apply exactly that change.

Group mappings are listed a page at a time (an organization may have tens of
thousands of groups), narrowed by a name search (``q``); a mapping form carries the
page it was sent from, so its preview and its saved answer show that page again.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from scimgate.admin import operations as ops
from scimgate.admin.views import View
from scimgate.domain import groups
from scimgate.errors import InvalidValueError

from .pages import Redirect, Show, Visit, org_url, page

PAGE_SIZE = 50
# A name is at most 1000 characters; a search longer than a name finds nothing anyway.
_MAX_SEARCH = 1000


def roles_page(visit: Visit, session: Session) -> Show:
    """The organization's roles, default role and one page of group mappings."""
    return _show(visit, session)


def _where(visit: Visit) -> dict[str, str]:
    """The group listing's search and page: from the query string, or the form that was sent."""
    search = (visit.query.get("q") or visit.text("q")).strip()[:_MAX_SEARCH]
    offset = visit.query.get("offset") or visit.text("offset")
    kept = {"q": search, "offset": offset if offset.isdigit() and len(offset) < 10 else ""}
    return {name: value for name, value in kept.items() if value and value != "0"}


def _show(visit: Visit, session: Session, preview: Mapping[str, Any] | None = None) -> Show:
    org = visit.organization
    where = _where(visit)
    search = where.get("q", "")
    listing = ops.page_groups(session, org.id, PAGE_SIZE, int(where.get("offset", "0")), search)
    # ui.pager appends "offset=N": the search rides along before it.
    pager_url = org_url(org, "roles") + "?" + (urlencode({"q": search}) + "&" if search else "")
    return Show(
        "roles.html",
        {
            "tab": "roles",
            "roles": ops.list_roles(session, org.id),
            "listing": listing,
            "pager_url": pager_url,
            # The previewed group, named, wherever its page is (roles_preview.html).
            "groups": _previewed(visit, session, preview),
            "assign_from_groups": org.assign_roles_from_groups,
            "preview": preview,
        },
    )


def _previewed(
    visit: Visit, session: Session, preview: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    if preview is None or preview["action"] != "map":
        return []
    group = groups.get(session, visit.organization, preview["fields"]["group"])
    return [{"id": group.id, "display_name": group.display_name}]


def _previewing(visit: Visit) -> bool:
    # Only the Save and Apply buttons write; a form sent any other way is previewed.
    return visit.text("action") != "save"


def _saved(visit: Visit, found: View) -> Redirect:
    count = len(found["changes"])
    noun = "role change" if count == 1 else "role changes"
    where = urlencode(_where(visit))
    to = org_url(visit.organization, "roles") + (f"?{where}" if where else "")
    return Redirect(to, f"Saved: {count} {noun}.")


def _weight(visit: Visit) -> int:
    raw = visit.text("weight").strip()
    try:
        return int(raw)
    except ValueError:
        raise InvalidValueError(f"A role weight must be a whole number, not {raw!r}.") from None


def _answer(
    visit: Visit, session: Session, found: View, action: str, fields: Mapping[str, str]
) -> Show | Redirect:
    """After a save, back to the page; after a preview, the page with what would move."""
    if not _previewing(visit):
        return _saved(visit, found)
    preview = {"action": action, "fields": fields, "changes": found["changes"]}
    return _show(visit, session, preview)


def set_weight(visit: Visit, session: Session) -> Show | Redirect:
    """Preview or save a role's new weight."""
    name, weight = visit.text("role"), _weight(visit)
    found = ops.set_role_weight(
        session, visit.organization.id, name, weight, dry_run=_previewing(visit)
    )
    fields = {"role": found["role"]["name"], "weight": str(weight)}
    return _answer(visit, session, found, "weight", fields)


def set_default(visit: Visit, session: Session) -> Show | Redirect:
    """Preview or save a new default role."""
    found = ops.set_default_role(
        session, visit.organization.id, visit.text("role"), dry_run=_previewing(visit)
    )
    return _answer(visit, session, found, "default", {"role": found["role"]["name"]})


def map_group(visit: Visit, session: Session) -> Show | Redirect:
    """Preview or save the role a SCIM group grants ("" for none)."""
    group_id, role = visit.text("group"), visit.text("role") or None
    found = ops.map_group(
        session, visit.organization.id, group_id, role, dry_run=_previewing(visit)
    )
    # The page of groups the form was sent from rides along to "Apply these changes".
    fields = {"group": group_id, "role": role or "", **_where(visit)}
    return _answer(visit, session, found, "map", fields)


def create_role(visit: Visit, session: Session) -> Redirect:
    """Add a role."""
    found = ops.create_role(session, visit.organization.id, visit.text("name"), _weight(visit))
    return Redirect(org_url(visit.organization, "roles"), f"Added the role {found['name']}.")


def back_to_roles(visit: Visit, session: Session) -> Redirect:
    """The page itself, for a GET of a form's address.

    A preview is the answer to a POST, so a form sent from it names that address as
    its referrer, and a refused one is sent back there with its error.
    """
    return Redirect(org_url(visit.organization, "roles"))


def routes() -> list[BaseRoute]:
    """This module's pages, relative to ``/admin``, each starting ``/orgs/{org}``."""
    return [
        Route("/orgs/{org}/roles", page(roles_page), methods=["GET"]),
        Route("/orgs/{org}/roles/weight", page(set_weight, write=True), methods=["POST"]),
        Route("/orgs/{org}/roles/default", page(set_default, write=True), methods=["POST"]),
        Route("/orgs/{org}/roles/map", page(map_group, write=True), methods=["POST"]),
        Route("/orgs/{org}/roles/new", page(create_role, write=True), methods=["POST"]),
        Route("/orgs/{org}/roles/{form}", page(back_to_roles), methods=["GET"]),
    ]
