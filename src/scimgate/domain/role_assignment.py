"""Administrators' changes to roles from groups, with a preview of their effect.

Each change ends by recomputing the members it can affect (``provisioning``). A dry
run makes the change inside a savepoint, reads who would gain or lose which role,
and rolls the savepoint back, so the preview is computed by the very rules that
would apply.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scimgate.storage.models import Group, Organization, Role, User

from . import provisioning, roles


@dataclass(frozen=True)
class RoleChange:
    """A member whose role a change moves, by role name (None: no role)."""

    user_id: str
    user_name: str
    before: str | None
    after: str | None


def map_group(
    session: Session, org: Organization, group: Group, role: Role | None, *, dry_run: bool = False
) -> list[RoleChange]:
    """Map a SCIM group to a role (None removes the mapping); return the role changes."""

    def change() -> None:
        roles.map_group(session, org, group, role)
        provisioning.resync(session, org, provisioning.users_in(session, org, [group.id]))

    return _with_preview(session, org, change, dry_run)


def set_weight(
    session: Session, org: Organization, role: Role, weight: int, *, dry_run: bool = False
) -> list[RoleChange]:
    """Change a role's weight; members of groups mapped to any role are recomputed."""
    roles.check_weight(weight)

    def change() -> None:
        roles.set_weight(role, weight)
        mapped = roles.mapping(session, org)
        provisioning.resync(session, org, provisioning.users_in(session, org, mapped))

    return _with_preview(session, org, change, dry_run)


def set_default(
    session: Session, org: Organization, role: Role, *, dry_run: bool = False
) -> list[RoleChange]:
    """Make ``role`` the default role; members holding the old default follow it."""
    previous = org.default_role_id

    def change() -> None:
        roles.set_default(org, role)
        # Deactivated members hold no role and must not gain one here.
        holders = session.scalars(
            select(User.id).where(
                User.org_id == org.id,
                User.role_id == previous,
                User.role_id.is_not(None),
                User.active.is_not(False),
            )
        )
        if org.assign_roles_from_groups:
            provisioning.resync(session, org, holders)
        else:
            for user in session.scalars(select(User).where(User.id.in_(list(holders)))):
                user.role_id = role.id
        session.flush()

    return _with_preview(session, org, change, dry_run)


def _with_preview(
    session: Session, org: Organization, change: Callable[[], None], dry_run: bool
) -> list[RoleChange]:
    before = _roles_now(session, org)
    savepoint = session.begin_nested()
    change()
    after = _roles_now(session, org)
    if dry_run:
        savepoint.rollback()
        session.expire_all()
    else:
        savepoint.commit()
    names = {r.id: r.name for r in session.scalars(select(Role).where(Role.org_id == org.id))}
    return [
        RoleChange(user_id, user_name, names.get(old or ""), names.get(after[user_id][1] or ""))
        for user_id, (user_name, old) in sorted(before.items(), key=lambda item: item[1][0])
        if after.get(user_id, (user_name, old))[1] != old
    ]


def _roles_now(session: Session, org: Organization) -> dict[str, tuple[str, str | None]]:
    session.flush()
    return {
        user_id: (user_name, role_id)
        for user_id, user_name, role_id in session.execute(
            select(User.id, User.user_name, User.role_id).where(User.org_id == org.id)
        )
    }
