"""SCIM Groups of an organization and their members.

Members are rows: adding or removing one runs one INSERT or DELETE on that row and
never reads or rewrites the rest of the list, whatever the group's size.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from scim2_models.path import FilterNode
from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import Session, aliased

from scimgate.errors import InvalidValueError, NoSuchMemberError, TooManyError
from scimgate.storage.filters import member_filter
from scimgate.storage.models import Group, GroupMember, Organization, User, utcnow
from scimgate.storage.statements import insert_ignoring_conflicts

from . import provisioning, rows, teams
from .paging import Page, PageRequest
from .rows import check_fits
from .uniqueness import flush_unique
from .versions import check_precondition

MemberType = Literal["User", "Group"]


@dataclass(frozen=True)
class MemberRef:
    """A member as a client names it: the resource id and, optionally, its type."""

    value: str
    type: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class Member:
    """A stored member, with what a SCIM response shows of it."""

    value: str
    type: MemberType
    display: str | None


@dataclass(frozen=True)
class Rename:
    """Set ``displayName``."""

    display_name: str


@dataclass(frozen=True)
class SetExternalId:
    """Set or clear ``externalId``."""

    external_id: str | None


@dataclass(frozen=True)
class AddMembers:
    """Add members; ones already present are left as they are (RFC 7644 §3.5.2.1)."""

    refs: Sequence[MemberRef]


@dataclass(frozen=True)
class RemoveMembers:
    """Remove the named members; absent ones are ignored."""

    refs: Sequence[MemberRef]


@dataclass(frozen=True)
class RemoveMembersWhere:
    """Remove the members a value filter selects (``members[value eq "..."]``)."""

    where: FilterNode
    limit: int | None = None
    """Most members one such filter may remove; more is refused as ``tooMany``."""


@dataclass(frozen=True)
class ReplaceMembers:
    """Make the member list exactly ``refs`` (an empty list clears the group)."""

    refs: Sequence[MemberRef]


GroupChange = (
    Rename | SetExternalId | AddMembers | RemoveMembers | RemoveMembersWhere | ReplaceMembers
)


def _taken(name: str) -> str:
    return f"A group named {name!r} already exists in this organization."


_GROUP_COLUMNS = {"display_name": "displayName", "external_id": "externalId"}


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidValueError("displayName is required and must not be empty.")
    return clean


def create(
    session: Session, org: Organization, group: Group, members: Sequence[MemberRef]
) -> Group:
    """Add a group with its members; its displayName must be free (case-insensitive)."""
    group.display_name = _check_name(group.display_name)
    group.display_name_norm = group.display_name.lower()
    check_fits(group, _GROUP_COLUMNS)
    group.org_id = org.id
    group.created_at = group.updated_at = utcnow()
    session.add(group)
    flush_unique(session, _taken(group.display_name))
    _insert_members(session, org, group, members)
    if org.sync_groups_to_teams:
        teams.link(session, org, group)
    if provisioning.is_relevant(org):
        provisioning.resync(session, org, provisioning.users_in(session, org, [group.id]))
    return group


def get(session: Session, org: Organization, group_id: str, *, for_update: bool = False) -> Group:
    """Return the organization's group with this id; 404 if none (or another org's).

    ``for_update`` locks it until the transaction ends (see ``rows.get``).
    """
    return rows.get(session, org, Group, group_id, for_update=for_update)


def search(
    session: Session,
    org: Organization,
    where: ColumnElement[bool] | None,
    page: PageRequest,
) -> Page[Group]:
    """Return one page of the organization's groups matching ``where``, oldest first."""
    return rows.search(session, org, Group, where, page)


def members_of(session: Session, group_ids: Iterable[str]) -> dict[str, list[Member]]:
    """Return the members of each group, in the order they were added."""
    ids = list(group_ids)
    found: dict[str, list[Member]] = {group_id: [] for group_id in ids}
    if not ids:
        return found
    for group_id, user_id, nested_id, user_display, group_display in session.execute(
        _members_query(ids)
    ):
        if user_id is not None:
            found[group_id].append(Member(value=user_id, type="User", display=user_display))
        elif nested_id is not None:
            found[group_id].append(Member(value=nested_id, type="Group", display=group_display))
    return found


def _members_query(group_ids: list[str]) -> Select[str, str | None, str | None, str, str]:
    nested = aliased(Group)
    return (
        select(
            GroupMember.group_id,
            GroupMember.user_id,
            GroupMember.member_group_id,
            func.coalesce(GroupMember.display, User.display_name, User.user_name),
            func.coalesce(GroupMember.display, nested.display_name),
        )
        .outerjoin(User, User.id == GroupMember.user_id)
        .outerjoin(nested, nested.id == GroupMember.member_group_id)
        .where(GroupMember.group_id.in_(group_ids))
        .order_by(GroupMember.id)
    )


def update(
    session: Session,
    org: Organization,
    group_id: str,
    changes: Sequence[GroupChange],
    *,
    if_match: int | None = None,
) -> Group:
    """Apply ``changes`` in order, all or nothing, as PUT and PATCH do."""
    group = get(session, org, group_id, for_update=True)
    check_precondition(group.version, if_match)
    track = provisioning.is_relevant(org)
    affected: set[str] = set()
    # Member changes run SQL statements, which would autoflush a pending rename outside
    # flush_unique and surface a taken name as an IntegrityError instead of a 409. The
    # name is checked once, after every change, so that only the final state counts.
    with session.no_autoflush:
        for change in changes:
            affected |= _apply_tracked(session, org, group, change, track)
    check_fits(group, _GROUP_COLUMNS)
    group.version += 1
    group.updated_at = utcnow()
    flush_unique(session, _taken(group.display_name))
    if org.sync_groups_to_teams:
        teams.rename_linked(session, group)
    if track:
        provisioning.resync(session, org, affected)
    return group


def _apply_tracked(
    session: Session, org: Organization, group: Group, change: GroupChange, track: bool
) -> set[str]:
    """Apply one change; when tracking, return the users whose membership it may change.

    Adding or removing named members touches only those (and the users of nested
    groups among them), so a one-member PATCH costs the same in a group of any size.
    """
    if not track or isinstance(change, Rename | SetExternalId):
        _apply(session, org, group, change)
        return set()
    if isinstance(change, AddMembers | RemoveMembers):
        named = {ref.value for ref in change.refs}
        _apply(session, org, group, change)
        return named | provisioning.users_in(session, org, named)
    before = provisioning.users_in(session, org, [group.id])
    _apply(session, org, group, change)
    return before ^ provisioning.users_in(session, org, [group.id])


def _apply(session: Session, org: Organization, group: Group, change: GroupChange) -> None:
    match change:
        case Rename(display_name=name):
            group.display_name = _check_name(name)
            group.display_name_norm = group.display_name.lower()
        case SetExternalId(external_id=external_id):
            group.external_id = external_id
        case AddMembers(refs=refs):
            _insert_members(session, org, group, refs)
        case RemoveMembers(refs=refs):
            ids = [ref.value for ref in refs]
            session.execute(
                delete(GroupMember).where(
                    GroupMember.group_id == group.id,
                    GroupMember.user_id.in_(ids) | GroupMember.member_group_id.in_(ids),
                )
            )
        case RemoveMembersWhere(where=node, limit=limit):
            _remove_where(session, group, node, limit)
        case ReplaceMembers(refs=refs):
            session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
            _insert_members(session, org, group, refs)


def remove(
    session: Session, org: Organization, group_id: str, *, if_match: int | None = None
) -> None:
    """Delete a group; its member rows go with it, the member users and the team stay."""
    group = get(session, org, group_id, for_update=True)
    check_precondition(group.version, if_match)
    affected: set[str] = set()
    if provisioning.is_relevant(org):
        affected = provisioning.users_in(session, org, [group.id])
    # The linked team stays (its link is cleared by the foreign key); the members
    # SCIM gave it lose that grant in the resync.
    session.delete(group)
    session.flush()
    provisioning.resync(session, org, affected)


def _remove_where(session: Session, group: Group, node: FilterNode, limit: int | None) -> None:
    condition = member_filter(node, group.id)
    if limit is not None:
        # RFC 7644 §3.12 tooMany: a filter that selects more than the server is willing
        # to process in one unpaged operation is refused, not half applied.
        matched = session.scalar(select(func.count()).select_from(GroupMember).where(condition))
        if matched and matched > limit:
            raise TooManyError(
                f"The filter selects {matched} members; at most {limit} may be removed "
                "by one operation. Remove them in smaller batches."
            )
    session.execute(delete(GroupMember).where(condition))


def _insert_members(
    session: Session, org: Organization, group: Group, refs: Sequence[MemberRef]
) -> None:
    if not refs:
        return
    values = _resolve(session, org, group, refs)
    for value in values:
        if value["member_group_id"] is not None:
            provisioning.check_nesting(session, org, group.id, value["member_group_id"])
    # A member already present is not an error (RFC 7644 §3.5.2.1 "add" is idempotent
    # for values already there), and ON CONFLICT keeps concurrent adds from racing.
    session.execute(insert_ignoring_conflicts(session, GroupMember), values)


def _resolve(
    session: Session, org: Organization, group: Group, refs: Sequence[MemberRef]
) -> list[dict[str, str | None]]:
    """Map member references to member rows (user or nested group) of the organization."""
    # No id holds NUL, and PostgreSQL refuses to compare text holding it.
    wanted = {ref.value for ref in refs if "\x00" not in ref.value}
    users = set(session.scalars(select(User.id).where(User.org_id == org.id, User.id.in_(wanted))))
    groups = set(
        session.scalars(select(Group.id).where(Group.org_id == org.id, Group.id.in_(wanted)))
    )
    resolved: dict[str, dict[str, str | None]] = {}
    for ref in refs:
        kind = (ref.type or "").lower()
        row = {"group_id": group.id, "display": ref.display}
        if ref.value in users and kind in ("", "user"):
            resolved[ref.value] = {**row, "user_id": ref.value, "member_group_id": None}
        elif ref.value in groups and kind in ("", "group"):
            if ref.value == group.id:
                raise InvalidValueError("A group cannot be a member of itself.")
            resolved[ref.value] = {**row, "user_id": None, "member_group_id": ref.value}
    missing = [ref.value for ref in refs if ref.value not in resolved]
    if missing:
        shown = ", ".join(repr(value) for value in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise NoSuchMemberError(
            f"Members not found in this organization: {shown}{more}. "
            "Provision the users (or groups) before adding them to a group."
        )
    return list(resolved.values())
