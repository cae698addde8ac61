"""Read-only look-ups the admin views need and the domain does not offer yet.

They only read what a view shows (a person by id, a member's teams, team sizes);
every write goes through the domain. They are candidates to move into
``domain.persons`` and ``domain.teams``.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scimgate.storage.models import Organization, Person, Team, TeamMember, User


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
