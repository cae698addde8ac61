"""What SCIM state grants in the app: team memberships and roles, kept in step.

Every change that can alter a member's groups (directly or through nesting), their
active flag, a group's team link or role mapping, a role weight or a feature flag
ends by calling :func:`resync`, which recomputes exactly the affected memberships:

- teams: with "sync SCIM groups to teams" on, an active member belongs (``via_scim``)
  to the team linked to each group they are in, directly or through nested groups;
  grants made by a person (``manual``) are never touched;
- roles: with "assign roles to SCIM groups" on, an active member's role is the
  heaviest role mapped to any of their groups, else the organization's default;
- a deactivated member keeps no SCIM-granted team membership and no role.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError
from scimgate.storage.models import Group, GroupMember, Organization, Role, Team, TeamMember, User

from . import roles

_CHUNK = 500


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def is_relevant(org: Organization) -> bool:
    """Tell whether group changes can change teams or roles in this organization."""
    return org.sync_groups_to_teams or org.assign_roles_from_groups


def _parents(session: Session, org: Organization) -> dict[str, set[str]]:
    """Nested group → the groups it is a direct member of (few rows per organization)."""
    parents: dict[str, set[str]] = defaultdict(set)
    rows = session.execute(
        select(GroupMember.member_group_id, GroupMember.group_id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(Group.org_id == org.id, GroupMember.member_group_id.is_not(None))
    )
    for child, parent in rows:
        if child is not None:
            parents[child].add(parent)
    return parents


def _ancestors(group_id: str, parents: dict[str, set[str]]) -> set[str]:
    """The group and every group containing it, transitively."""
    found, stack = {group_id}, [group_id]
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found


def check_nesting(session: Session, org: Organization, group_id: str, nested_id: str) -> None:
    """Refuse to put ``nested_id`` into ``group_id`` when that would close a cycle."""
    if nested_id in _ancestors(group_id, _parents(session, org)):
        raise InvalidValueError(
            f"Group {nested_id!r} already contains group {group_id!r} (directly or through "
            "nested groups); making it a member would create a cycle."
        )


def users_in(session: Session, org: Organization, group_ids: Iterable[str]) -> set[str]:
    """The users in these groups, directly or through nested groups."""
    children: dict[str, set[str]] = defaultdict(set)
    for child, parents in _parents(session, org).items():
        for parent in parents:
            children[parent].add(child)
    seen, stack = set(group_ids), list(group_ids)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    found: set[str] = set()
    for chunk in _chunks(sorted(seen)):
        found.update(
            user_id
            for user_id in session.scalars(
                select(GroupMember.user_id).where(
                    GroupMember.group_id.in_(chunk), GroupMember.user_id.is_not(None)
                )
            )
            if user_id is not None
        )
    return found


def _groups_of(session: Session, org: Organization, user_ids: list[str]) -> dict[str, set[str]]:
    """Each user's groups, including every group those are nested in."""
    direct: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(user_ids):
        for user_id, group_id in session.execute(
            select(GroupMember.user_id, GroupMember.group_id).where(GroupMember.user_id.in_(chunk))
        ):
            if user_id is not None:
                direct[user_id].add(group_id)
    # Users in no group (every newly created one) need no nesting read.
    parents = _parents(session, org) if direct else {}
    closure: dict[str, set[str]] = {}
    result: dict[str, set[str]] = {}
    for user_id in user_ids:
        groups: set[str] = set()
        for group_id in direct.get(user_id, ()):
            if group_id not in closure:
                closure[group_id] = _ancestors(group_id, parents)
            groups |= closure[group_id]
        result[user_id] = groups
    return result


def resync(session: Session, org: Organization, user_ids: Iterable[str]) -> None:
    """Recompute the SCIM-granted teams and the roles of these members."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    session.flush()
    groups = _groups_of(session, org, ids)
    members = {
        user.id: user
        for chunk in _chunks(ids)
        for user in session.scalars(select(User).where(User.org_id == org.id, User.id.in_(chunk)))
    }
    _sync_teams(session, org, members, groups)
    _sync_roles(session, org, members, groups)
    session.flush()


def resync_all(session: Session, org: Organization) -> None:
    """Recompute every member of the organization (after a flag or weight change)."""
    resync(session, org, session.scalars(select(User.id).where(User.org_id == org.id)))


def _sync_teams(
    session: Session, org: Organization, members: dict[str, User], groups: dict[str, set[str]]
) -> None:
    team_of: dict[str | None, str] = {
        group_id: team_id
        for group_id, team_id in session.execute(
            select(Team.scim_group_id, Team.id).where(
                Team.org_id == org.id, Team.scim_group_id.is_not(None)
            )
        )
    }
    for user_id, user in members.items():
        if user.active is False:
            wanted: set[str] = set()
        elif org.sync_groups_to_teams:
            wanted = {team_of[g] for g in groups.get(user_id, ()) if g in team_of}
        else:
            continue  # with the flag off, SCIM leaves active members' teams alone
        _apply_team_grants(session, user_id, wanted)


def _apply_team_grants(session: Session, user_id: str, wanted: set[str]) -> None:
    rows = {
        row.team_id: row
        for row in session.scalars(select(TeamMember).where(TeamMember.user_id == user_id))
    }
    for team_id, row in rows.items():
        if row.via_scim and team_id not in wanted:
            if row.manual:
                row.via_scim = False
            else:
                session.execute(delete(TeamMember).where(TeamMember.id == row.id))
    for team_id in wanted:
        existing = rows.get(team_id)
        if existing is None:
            session.add(TeamMember(team_id=team_id, user_id=user_id, via_scim=True, manual=False))
        elif not existing.via_scim:
            existing.via_scim = True


def _sync_roles(
    session: Session, org: Organization, members: dict[str, User], groups: dict[str, set[str]]
) -> None:
    mapped = roles.mapping(session, org) if org.assign_roles_from_groups else {}
    for user_id, user in members.items():
        role_id, source = _role_for(org, groups.get(user_id, set()), mapped)
        if user.active is False:
            role_id, source = None, None
        elif not org.assign_roles_from_groups and user.role_id is not None:
            continue  # roles are an administrator's business while the flag is off
        if (user.role_id, user.role_from_group_id) != (role_id, source):
            session.execute(
                update(User)
                .where(User.id == user_id)
                .values(role_id=role_id, role_from_group_id=source)
            )
            user.role_id, user.role_from_group_id = role_id, source


def _role_for(
    org: Organization, groups: set[str], mapped: dict[str, Role]
) -> tuple[str | None, str | None]:
    """The heaviest mapped role among ``groups`` and the group giving it, else the default."""
    best: tuple[int, str, str] | None = None
    for group_id in sorted(groups):
        role = mapped.get(group_id)
        if role is not None and (best is None or role.weight > best[0]):
            best = (role.weight, role.id, group_id)
    if best is None:
        return org.default_role_id, None
    return best[1], best[2]
