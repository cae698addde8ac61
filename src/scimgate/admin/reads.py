"""Read-only look-ups the admin views need and the domain does not offer yet.

They only read what a view shows (a person by id, a member's teams, team sizes);
every write goes through the domain. They are candidates to move into
``domain.persons`` and ``domain.teams``.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scimgate.storage.models import (
    Group,
    GroupMember,
    Organization,
    Person,
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


def groups_by_name(session: Session, org: Organization) -> list[Group]:
    """Every SCIM group of the organization, by name."""
    return list(
        session.scalars(
            select(Group).where(Group.org_id == org.id).order_by(Group.display_name_norm, Group.id)
        )
    )


def group_sizes(session: Session, org: Organization) -> dict[str, int]:
    """Group id → number of direct members (users and nested groups), for non-empty groups."""
    rows = session.execute(
        select(GroupMember.group_id, func.count())
        .join(Group, Group.id == GroupMember.group_id)
        .where(Group.org_id == org.id)
        .group_by(GroupMember.group_id)
    )
    return {group_id: count for group_id, count in rows}


def member_named(session: Session, org: Organization, user_name: str) -> User | None:
    """The organization's membership with this userName (case-insensitive), if any."""
    if "\x00" in user_name:  # PostgreSQL refuses to compare text holding NUL
        return None
    return session.scalars(
        select(User).where(User.org_id == org.id, User.user_name_norm == user_name.strip().lower())
    ).first()
