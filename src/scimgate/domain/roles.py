"""Roles of an organization, their weights, and which SCIM group grants which role."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError
from scimgate.storage.models import Group, GroupRole, Organization, Role

from .rows import check_fits
from .uniqueness import flush_unique

# Every organization starts with these (name, weight) roles; "member" is the default.
DEFAULT_ROLES = (("owner", 100), ("admin", 80), ("member", 50), ("observer", 10))
DEFAULT_ROLE = "member"
# Weights stay well inside a 32-bit INTEGER on every database.
WEIGHTS = range(-1_000_000, 1_000_001)


def check_weight(weight: int) -> None:
    """Refuse a weight outside :data:`WEIGHTS`."""
    if weight not in WEIGHTS:
        raise InvalidValueError(
            f"A role weight must be between {WEIGHTS.start} and {WEIGHTS.stop - 1}."
        )


def create_defaults(session: Session, org: Organization) -> None:
    """Give a new organization the default roles and default role."""
    for name, weight in DEFAULT_ROLES:
        role = Role(org_id=org.id, name=name, name_norm=name, weight=weight)
        session.add(role)
        session.flush()
        if name == DEFAULT_ROLE:
            org.default_role_id = role.id


def list_for(session: Session, org: Organization) -> list[Role]:
    """The organization's roles, heaviest first."""
    return list(
        session.scalars(
            select(Role).where(Role.org_id == org.id).order_by(Role.weight.desc(), Role.name)
        )
    )


def get(session: Session, org: Organization, name: str) -> Role:
    """The organization's role with this name (case-insensitive)."""
    role = None
    if "\x00" not in name:  # PostgreSQL refuses to compare text holding NUL
        role = session.scalars(
            select(Role).where(Role.org_id == org.id, Role.name_norm == name.strip().lower())
        ).first()
    if role is None:
        raise NotFoundError(f"Organization {org.name!r} has no role named {name!r}.")
    return role


def create(session: Session, org: Organization, name: str, weight: int) -> Role:
    """Add a role; its name must be new in the organization."""
    clean = name.strip()
    if not clean:
        raise InvalidValueError("A role name must not be empty.")
    check_weight(weight)
    role = Role(org_id=org.id, name=clean, name_norm=clean.lower(), weight=weight)
    check_fits(role, {"name": "name"})
    session.add(role)
    flush_unique(session, f"A role named {clean!r} already exists.")
    return role


def set_weight(role: Role, weight: int) -> None:
    """Change a role's weight; callers recompute the roles that depend on it."""
    role.weight = weight


def set_default(org: Organization, role: Role) -> None:
    """Make ``role`` the role of members no mapped group gives one to."""
    org.default_role_id = role.id


def mapping(session: Session, org: Organization) -> dict[str, Role]:
    """Group id → the role the group's members get."""
    rows = session.execute(
        select(GroupRole.group_id, Role)
        .join(Role, Role.id == GroupRole.role_id)
        .where(Role.org_id == org.id)
    )
    return {group_id: role for group_id, role in rows}


def map_group(session: Session, org: Organization, group: Group, role: Role | None) -> None:
    """Map a SCIM group to a role, or remove its mapping when ``role`` is None."""
    if group.org_id != org.id or (role is not None and role.org_id != org.id):
        raise NotFoundError("The group and the role must belong to the organization.")
    current = session.get(GroupRole, group.id)
    if role is None:
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(GroupRole(group_id=group.id, role_id=role.id))
    else:
        current.role_id = role.id
    session.flush()
