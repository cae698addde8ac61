"""The role assignment page: roles and their weights, the default role, group mappings.

Every change can be previewed first. A preview runs the change in a savepoint that
is rolled back (``domain.role_assignment``), which needs a write transaction: the
Preview buttons POST, and the answer is the page itself with the members whose role
would move and a form to apply exactly that change.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from scimgate.admin import operations as ops
from scimgate.admin.views import View
from scimgate.errors import InvalidValueError

from .pages import Redirect, Show, Visit, org_url, page


def roles_page(visit: Visit, session: Session) -> Show:
    """The organization's roles, default role and group mappings."""
    return _show(visit, session)


def _show(visit: Visit, session: Session, preview: Mapping[str, Any] | None = None) -> Show:
    org = visit.organization
    return Show(
        "roles.html",
        {
            "tab": "roles",
            "roles": ops.list_roles(session, org.id),
            "groups": ops.list_groups(session, org.id),
            "assign_from_groups": org.assign_roles_from_groups,
            "preview": preview,
        },
    )


def _previewing(visit: Visit) -> bool:
    # Only the Save and Apply buttons write; a form sent any other way is previewed.
    return visit.text("action") != "save"


def _saved(visit: Visit, found: View) -> Redirect:
    count = len(found["changes"])
    noun = "role change" if count == 1 else "role changes"
    return Redirect(org_url(visit.organization, "roles"), f"Saved: {count} {noun}.")


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
    fields = {"group": group_id, "role": role or ""}
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
