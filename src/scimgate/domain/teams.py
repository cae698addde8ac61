"""Teams: the app's own groups, filled by people and, when linked, by a SCIM group."""

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError
from scimgate.storage.models import Group, Organization, Team, TeamMember, User

from .rows import check_fits
from .uniqueness import flush_unique


def _clean(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidValueError("A team name must not be empty.")
    check_fits(Team(name=clean), {"name": "name"})
    return clean


def create(session: Session, org: Organization, name: str) -> Team:
    """Add a team; its name must be new in the organization (case-insensitive)."""
    clean = _clean(name)
    team = Team(org_id=org.id, name=clean, name_norm=clean.lower())
    session.add(team)
    flush_unique(session, f"A team named {clean!r} already exists.")
    return team


def list_for(session: Session, org: Organization) -> list[Team]:
    """The organization's teams, by name."""
    return list(session.scalars(select(Team).where(Team.org_id == org.id).order_by(Team.name)))


def get(session: Session, org: Organization, ref: str) -> Team:
    """The organization's team with this id or name (case-insensitive)."""
    team = None
    if "\x00" not in ref:  # PostgreSQL refuses to compare text holding NUL
        team = session.scalars(
            select(Team).where(
                Team.org_id == org.id, (Team.id == ref) | (Team.name_norm == ref.strip().lower())
            )
        ).first()
    if team is None:
        raise NotFoundError(f"No team is named or identified by {ref!r}.")
    return team


def linked_to(session: Session, group_id: str) -> Team | None:
    """The team a SCIM group is linked to, if any."""
    return session.scalars(select(Team).where(Team.scim_group_id == group_id)).first()


def link(session: Session, org: Organization, group: Group) -> Team:
    """Link a SCIM group to the team of the same name, creating the team if none exists.

    The seed's rule: a pushed group links to an existing team with its name rather
    than creating a duplicate.
    """
    team = linked_to(session, group.id)
    if team is not None:
        return team
    team = session.scalars(
        select(Team).where(Team.org_id == org.id, Team.name_norm == group.display_name.lower())
    ).first()
    if team is None:
        team = Team(org_id=org.id, name=group.display_name, name_norm=group.display_name.lower())
        session.add(team)
    if team.scim_group_id is None:
        team.scim_group_id = group.id
    session.flush()
    return team


def rename_linked(session: Session, group: Group) -> None:
    """Give the linked team the group's new name (the seed: renames follow the IdP)."""
    team = linked_to(session, group.id)
    if team is not None and team.name != group.display_name:
        team.name = group.display_name
        team.name_norm = group.display_name.lower()
        flush_unique(
            session,
            f"Renaming the linked team to {group.display_name!r} clashes with another team.",
        )


def members(session: Session, team: Team) -> list[tuple[TeamMember, User]]:
    """A team's members with the grants that keep each of them there."""
    rows = session.execute(
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team.id)
        .order_by(User.user_name_norm)
    )
    return [(member, user) for member, user in rows]


def add_manual(session: Session, org: Organization, team: Team, user: User) -> None:
    """Add a member by hand; SCIM never removes such a grant."""
    if user.org_id != org.id:
        raise NotFoundError("No such member in this organization.")
    row = session.scalars(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    ).first()
    if row is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id, manual=True, via_scim=False))
    else:
        row.manual = True
    session.flush()


def remove_manual(session: Session, team: Team, user: User) -> None:
    """Withdraw a hand-made grant; a grant through SCIM keeps the member in the team."""
    if user.org_id != team.org_id:
        raise NotFoundError("No such member in this organization.")
    row = session.scalars(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    ).first()
    if row is None:
        return
    if row.via_scim:
        row.manual = False
    else:
        session.execute(delete(TeamMember).where(TeamMember.id == row.id))
    session.flush()
