"""Read-only look-ups the admin views need and the domain does not offer yet.

They only read what a view shows (a person by id, a member's teams, team sizes);
every write goes through the domain. They are candidates to move into
``domain.persons`` and ``domain.teams``.

The tables of large organizations (tens of thousands of groups, teams of 100,000
members) are read a page at a time: one COUNT, then LIMIT/OFFSET in a stable order,
and the sizes and links of only the rows of that page.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from scimgate.storage.models import (
    Group,
    GroupMember,
    GroupRole,
    Organization,
    Person,
    Role,
    Team,
    TeamMember,
    User,
)


def person(session: Session, person_id: str | None) -> Person | None:
    """The person behind a membership, if it has one."""
    return session.get(Person, person_id) if person_id else None


def teams_of(session: Session, user: User) -> list[tuple[Team, TeamMember]]:
    """The teams a member is in, by name, with the grants that keep them there."""
    rows = session.execute(
        select(Team, TeamMember)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user.id, Team.org_id == user.org_id)
        .order_by(Team.name_norm)
    )
    return [(team, grant) for team, grant in rows]


def team_sizes(session: Session, org: Organization) -> dict[str, int]:
    """Team id → number of members, for the organization's non-empty teams."""
    rows = session.execute(
        select(TeamMember.team_id, func.count())
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.org_id == org.id)
        .group_by(TeamMember.team_id)
    )
    return {team_id: count for team_id, count in rows}


def member_named(session: Session, org: Organization, user_name: str) -> User | None:
    """The organization's membership with this userName (case-insensitive), if any."""
    if "\x00" in user_name:  # PostgreSQL refuses to compare text holding NUL
        return None
    return session.scalars(
        select(User).where(User.org_id == org.id, User.user_name_norm == user_name.strip().lower())
    ).first()


@dataclass(frozen=True)
class Window:
    """One page of a listing: how many rows match, where the page starts, its rows."""

    total: int
    offset: int
    """The offset used: one at or past the end is moved back to the last page."""
    rows: Sequence[Any]


def _window(session: Session, query: Select[*tuple[Any, ...]], limit: int, offset: int) -> Window:
    """Count what ``query`` selects, then read one page of it (none when nothing matches)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if total == 0:
        return Window(0, 0, [])
    if offset >= total:
        offset = (total - 1) // limit * limit
    return Window(total, offset, session.execute(query.limit(limit).offset(offset)).all())


def _single(found: Window) -> Window:
    """The window with each row's one entity in place of the row."""
    return replace(found, rows=[row[0] for row in found.rows])


def _holding(column: InstrumentedAttribute[str], search: str) -> ColumnElement[bool]:
    """``column`` (a lower-cased name) holds ``search`` anywhere, % and _ taken literally."""
    if "\x00" in search:  # PostgreSQL refuses to compare text holding NUL
        return false()
    return column.contains(search.strip().lower(), autoescape=True)


def groups_page(
    session: Session, org: Organization, search: str, limit: int, offset: int
) -> Window:
    """A page of the organization's groups (Group rows) by name, those holding ``search``."""
    query = select(Group).where(Group.org_id == org.id)
    if search.strip():
        query = query.where(_holding(Group.display_name_norm, search))
    return _single(
        _window(session, query.order_by(Group.display_name_norm, Group.id), limit, offset)
    )


def teams_page(session: Session, org: Organization, search: str, limit: int, offset: int) -> Window:
    """A page of the organization's teams (Team rows) by name, those holding ``search``."""
    query = select(Team).where(Team.org_id == org.id)
    if search.strip():
        query = query.where(_holding(Team.name_norm, search))
    return _single(_window(session, query.order_by(Team.name_norm, Team.id), limit, offset))


def team_members_page(session: Session, team: Team, search: str, limit: int, offset: int) -> Window:
    """A page of a team's (TeamMember, User) rows by user name, those holding ``search``."""
    query = (
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team.id)
    )
    if search.strip():
        query = query.where(_holding(User.user_name_norm, search))
    return _window(session, query.order_by(User.user_name_norm, User.id), limit, offset)


def team_grant(session: Session, team: Team, user_id: str) -> tuple[TeamMember, User] | None:
    """A member's place in a team with their membership, if they have one."""
    if "\x00" in user_id:
        return None
    row = session.execute(
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def sizes_of_groups(session: Session, group_ids: Collection[str]) -> dict[str, int]:
    """Group id → number of direct members, for the non-empty ones of these groups."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(GroupMember.group_id, func.count())
        .where(GroupMember.group_id.in_(group_ids))
        .group_by(GroupMember.group_id)
    )
    return {group_id: count for group_id, count in rows}


def sizes_of_teams(session: Session, team_ids: Collection[str]) -> dict[str, int]:
    """Team id → number of members, for the non-empty ones of these teams."""
    if not team_ids:
        return {}
    rows = session.execute(
        select(TeamMember.team_id, func.count())
        .where(TeamMember.team_id.in_(team_ids))
        .group_by(TeamMember.team_id)
    )
    return {team_id: count for team_id, count in rows}


def roles_of_groups(session: Session, group_ids: Collection[str]) -> dict[str, Role]:
    """Group id → the role it grants, for the mapped ones of these groups."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(GroupRole.group_id, Role)
        .join(Role, Role.id == GroupRole.role_id)
        .where(GroupRole.group_id.in_(group_ids))
    )
    return {group_id: role for group_id, role in rows}


def teams_linked_to(session: Session, group_ids: Collection[str]) -> dict[str, Team]:
    """Group id → the team it is linked to, for the linked ones of these groups."""
    if not group_ids:
        return {}
    found = session.scalars(select(Team).where(Team.scim_group_id.in_(group_ids)))
    return {team.scim_group_id: team for team in found if team.scim_group_id is not None}


def group_names(session: Session, group_ids: Collection[str]) -> dict[str, str]:
    """Group id → display name, for these groups."""
    if not group_ids:
        return {}
    rows = session.execute(select(Group.id, Group.display_name).where(Group.id.in_(group_ids)))
    return {group_id: name for group_id, name in rows}
