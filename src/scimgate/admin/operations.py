"""What an administrator can do, as domain calls returning views.

Each function runs in the caller's transaction (the API's request or the CLI
command) and names the organization by id or name. Dry runs preview role changes
through ``role_assignment``, which rolls its savepoint back, so they write nothing.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scimgate.audit import queries
from scimgate.audit.entries import open_entry
from scimgate.audit.keys import KeyRing
from scimgate.domain import (
    breaker,
    groups,
    organizations,
    persons,
    role_assignment,
    roles,
    sso,
    teams,
    tokens,
    users,
)
from scimgate.domain.paging import PageRequest
from scimgate.errors import InvalidValueError
from scimgate.storage.models import Organization, Role, Team

from . import reads, views
from .views import View

# The user source switches: at most one may be on, which their setters enforce.
SWITCHES: dict[str, Callable[[Organization, bool], None]] = {
    "scim_enabled": organizations.set_scim_enabled,
    "google_directory_sync": organizations.set_google_directory_sync,
}
FLAGS = organizations.FLAGS

# Past this an offset is a mistake, and it would overflow the database's BIGINT.
_MAX_OFFSET = 1_000_000_000


@dataclass(frozen=True)
class OrgChanges:
    """Switches, feature flags and default role to set; what is absent stays."""

    switches: Mapping[str, bool] = field(default_factory=dict)
    flags: Mapping[str, bool] = field(default_factory=dict)
    default_role: str | None = None


def _org_view(session: Session, org: Organization) -> View:
    default = next((r for r in roles.list_for(session, org) if r.id == org.default_role_id), None)
    return views.organization(org, default)


def list_orgs(session: Session) -> list[View]:
    """Every organization, oldest first."""
    return [_org_view(session, org) for org in organizations.list_all(session)]


def create_org(session: Session, name: str) -> View:
    """Create an organization (with the default roles)."""
    return _org_view(session, organizations.create(session, name))


def show_org(session: Session, ref: str) -> View:
    """One organization with its switches and flags."""
    return _org_view(session, organizations.get(session, ref))


def update_org(session: Session, ref: str, changes: OrgChanges) -> View:
    """Apply switches, flags and default role, and return the organization."""
    org = organizations.get(session, ref)
    # Switches going off first, so one request can move from SCIM to Google
    # Directory Sync (or back) without tripping over the exclusivity rule.
    for name, enabled in sorted(changes.switches.items(), key=lambda item: item[1]):
        SWITCHES[name](org, enabled)
    for flag, enabled in changes.flags.items():
        organizations.set_flag(session, org, flag, enabled)
    if changes.default_role is not None:
        role = roles.get(session, org, changes.default_role)
        role_assignment.set_default(session, org, role)
    return _org_view(session, org)


def list_roles(session: Session, ref: str) -> list[View]:
    """The organization's roles, heaviest first."""
    org = organizations.get(session, ref)
    return [views.role(role, org) for role in roles.list_for(session, org)]


def create_role(session: Session, ref: str, name: str, weight: int) -> View:
    """Add a role with a weight."""
    org = organizations.get(session, ref)
    return views.role(roles.create(session, org, name, weight), org)


def set_role_weight(session: Session, ref: str, name: str, weight: int, *, dry_run: bool) -> View:
    """Change a role's weight (or preview it) and list whose role it moves."""
    org = organizations.get(session, ref)
    role = roles.get(session, org, name)
    found = role_assignment.set_weight(session, org, role, weight, dry_run=dry_run)
    return {"role": views.role(role, org), **views.changes(found, applied=not dry_run)}


def set_default_role(session: Session, ref: str, name: str, *, dry_run: bool) -> View:
    """Make a role the default (or preview it) and list whose role it moves."""
    org = organizations.get(session, ref)
    role = roles.get(session, org, name)
    found = role_assignment.set_default(session, org, role, dry_run=dry_run)
    return {"role": views.role(role, org), **views.changes(found, applied=not dry_run)}


def list_mappings(session: Session, ref: str) -> list[View]:
    """Which SCIM group grants which role, by group name."""
    org = organizations.get(session, ref)
    mapped = [
        (groups.get(session, org, gid), role) for gid, role in roles.mapping(session, org).items()
    ]
    return [
        {"group_id": group.id, "group_display_name": group.display_name, "role": role.name}
        for group, role in sorted(mapped, key=lambda pair: pair[0].display_name_norm)
    ]


def map_group(
    session: Session, ref: str, group_id: str, role_name: str | None, *, dry_run: bool
) -> View:
    """Map a SCIM group to a role, or unmap it when ``role_name`` is None (or preview)."""
    org = organizations.get(session, ref)
    group = groups.get(session, org, group_id)
    role: Role | None = roles.get(session, org, role_name) if role_name is not None else None
    found = role_assignment.map_group(session, org, group, role, dry_run=dry_run)
    return {"group_id": group.id, "role": role_name, **views.changes(found, applied=not dry_run)}


def list_teams(session: Session, ref: str) -> list[View]:
    """The organization's teams, by name, with their sizes."""
    org = organizations.get(session, ref)
    sizes = reads.team_sizes(session, org)
    return [views.team(team, sizes.get(team.id, 0)) for team in teams.list_for(session, org)]


def create_team(session: Session, ref: str, name: str) -> View:
    """Add an empty team."""
    org = organizations.get(session, ref)
    return views.team(teams.create(session, org, name), 0)


def _team_view(
    session: Session, team: Team, limit: int | None = None, offset: int = 0, search: str = ""
) -> View:
    """A team with its members: all of them, or with ``limit`` one page of those matching."""
    if limit is None:
        members = teams.members(session, team)
        return {
            **views.team(team, len(members)),
            "members": [views.team_member(grant, user) for grant, user in members],
        }
    _check_window(limit, offset)
    found = reads.team_members_page(session, team, search, limit, offset)
    size = (
        reads.sizes_of_teams(session, [team.id]).get(team.id, 0) if search.strip() else found.total
    )
    return {
        **views.team(team, size),
        "members": [views.team_member(grant, user) for grant, user in found.rows],
        **_window_view(found, limit, search),
    }


def show_team(
    session: Session,
    ref: str,
    team_ref: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    search: str = "",
) -> View:
    """A team with its members and the grants that keep each one there.

    With ``limit``, only one page of the members whose user name holds ``search``,
    and how many match (``total``).
    """
    org = organizations.get(session, ref)
    return _team_view(session, teams.get(session, org, team_ref), limit, offset, search)


def team_member(session: Session, ref: str, team_ref: str, user_id: str) -> View | None:
    """A member's place in a team with its grants, or None when they are not in it."""
    org = organizations.get(session, ref)
    found = reads.team_grant(session, teams.get(session, org, team_ref), user_id)
    return views.team_member(*found) if found is not None else None


def add_to_team(
    session: Session, ref: str, team_ref: str, user_id: str, *, limit: int | None = None
) -> View:
    """Grant a member a place in a team by hand; return the team (``limit`` members of it)."""
    org = organizations.get(session, ref)
    team = teams.get(session, org, team_ref)
    teams.add_manual(session, org, team, users.get(session, org, user_id))
    return _team_view(session, team, limit)


def remove_from_team(
    session: Session, ref: str, team_ref: str, user_id: str, *, limit: int | None = None
) -> View:
    """Withdraw a hand-made grant (a SCIM grant stays); return the team (``limit`` members)."""
    org = organizations.get(session, ref)
    team = teams.get(session, org, team_ref)
    teams.remove_manual(session, team, users.get(session, org, user_id))
    return _team_view(session, team, limit)


def list_members(session: Session, ref: str, limit: int, offset: int) -> View:
    """One page of memberships, oldest first, with each one's role and its reason."""
    _check_window(limit, offset)
    org = organizations.get(session, ref)
    page = users.search(session, org, None, PageRequest(start_index=offset + 1, count=limit))
    roles_by_id = {role.id: role for role in roles.list_for(session, org)}
    sources = {user.role_from_group_id for user in page.items if user.role_from_group_id}
    names = {gid: groups.get(session, org, gid).display_name for gid in sources}
    return {
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "members": [views.member(user, roles_by_id, names) for user in page.items],
    }


def show_member(session: Session, ref: str, user_id: str) -> View:
    """A membership with its person's profile and its teams."""
    org = organizations.get(session, ref)
    user = users.get(session, org, user_id)
    roles_by_id = {role.id: role for role in roles.list_for(session, org)}
    source = user.role_from_group_id
    names = {source: groups.get(session, org, source).display_name} if source else {}
    person = reads.person(session, user.person_id)
    phones = persons.phone_numbers(session, person.id) if person else []
    return {
        **views.member(user, roles_by_id, names),
        "person": views.person(person, phones),
        "teams": [views.membership_team(t, grant) for t, grant in reads.teams_of(session, user)],
    }


def list_logs(
    session: Session, ref: str, ring: KeyRing, wanted: queries.LogFilter, limit: int, offset: int
) -> View:
    """One page of an organization's SCIM request log, newest first, summaries decrypted."""
    org = organizations.get(session, ref)
    total, rows = queries.search(session, org.id, wanted, limit, offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "entries": [views.log_entry(row, open_entry(ring, row)) for row in rows],
    }


def show_log(session: Session, ref: str | None, entry_id: str, ring: KeyRing) -> View:
    """One request log entry, decrypted; within the organization ``ref`` when given."""
    org_id = organizations.get(session, ref).id if ref is not None else None
    entry = queries.get(session, entry_id, org_id)
    return views.log_entry(entry, open_entry(ring, entry), full=True)


def log_retention(session: Session, ref: str, days: int | None = None) -> View:
    """How long the organization keeps request log entries; set it when ``days`` is given."""
    org = organizations.get(session, ref)
    if days is not None:
        organizations.set_log_retention(org, days)
    return views.log_retention(org)


def breaker_status(session: Session, ref: str, defaults: breaker.Limits) -> View:
    """The organization's mass-deprovisioning breaker: limits, counts and state."""
    org = organizations.get(session, ref)
    return views.breaker(org, breaker.status(session, org, defaults))


def approve_breaker(
    session: Session, ref: str, defaults: breaker.Limits, seconds: int | None = None
) -> View:
    """Let held deprovisioning through for ``seconds`` (one window by default)."""
    org = organizations.get(session, ref)
    return views.breaker(org, breaker.approve(session, org, defaults, seconds))


def configure_breaker(
    session: Session,
    ref: str,
    defaults: breaker.Limits,
    changes: Mapping[str, float | int | None],
) -> View:
    """Set the organization's own breaker limits; None restores the server's."""
    org = organizations.get(session, ref)
    return views.breaker(org, breaker.configure(session, org, defaults, changes))


def page_groups(session: Session, ref: str, limit: int, offset: int, search: str = "") -> View:
    """One page of the SCIM groups by name whose name holds ``search``, and how many match.

    Sizes, roles and linked teams are read for the groups of the page only.
    """
    _check_window(limit, offset)
    org = organizations.get(session, ref)
    found = reads.groups_page(session, org, search, limit, offset)
    ids = [group.id for group in found.rows]
    sizes = reads.sizes_of_groups(session, ids)
    mapped = reads.roles_of_groups(session, ids)
    linked = reads.teams_linked_to(session, ids)
    return {
        **_window_view(found, limit, search),
        "groups": [
            views.scim_group(group, sizes.get(id_, 0), mapped.get(id_), linked.get(id_))
            for group, id_ in zip(found.rows, ids, strict=True)
        ],
    }


def page_teams(session: Session, ref: str, limit: int, offset: int, search: str = "") -> View:
    """One page of the teams by name whose name holds ``search``, with sizes and linked groups."""
    _check_window(limit, offset)
    org = organizations.get(session, ref)
    found = reads.teams_page(session, org, search, limit, offset)
    sizes = reads.sizes_of_teams(session, [team.id for team in found.rows])
    names = reads.group_names(session, [t.scim_group_id for t in found.rows if t.scim_group_id])
    return {
        **_window_view(found, limit, search),
        "teams": [
            {
                **views.team(team, sizes.get(team.id, 0)),
                "scim_group_name": names.get(team.scim_group_id or ""),
            }
            for team in found.rows
        ],
    }


def _check_window(limit: int, offset: int) -> None:
    if limit < 1 or not 0 <= offset <= _MAX_OFFSET:
        raise InvalidValueError(f"limit must be at least 1 and offset 0 to {_MAX_OFFSET}.")


def _window_view(found: reads.Window, limit: int, search: str) -> View:
    return {"total": found.total, "limit": limit, "offset": found.offset, "search": search}


def configure_sso(session: Session, ref: str, config: sso.SsoSettings) -> View:
    """Set (or replace) the organization's SAML identity provider from checked settings."""
    org = organizations.get(session, ref)
    connection = organizations.configure_sso(session, org, config)
    return {**views.org_status(org), **views.sso_connection(connection)}


def list_tokens(session: Session, ref: str) -> list[View]:
    """The organization's SCIM tokens, newest first, without their secrets."""
    org = organizations.get(session, ref)
    return [views.token(token) for token in tokens.list_for(session, org)]


def issue_token(session: Session, ref: str) -> View:
    """Issue a SCIM token; the view holds its secret, which is never shown again."""
    org = organizations.get(session, ref)
    return views.issued_token(tokens.issue(session, org))


def rotate_token(session: Session, ref: str, grace: timedelta, token_id: str | None = None) -> View:
    """Issue a new token; the old ones (or only ``token_id``) stop working after ``grace``."""
    org = organizations.get(session, ref)
    return views.issued_token(tokens.rotate(session, org, grace, token_id))


def revoke_token(session: Session, ref: str, token_id: str) -> View:
    """Revoke one of the organization's tokens at once."""
    org = organizations.get(session, ref)
    return views.token(tokens.revoke(session, org, token_id))


# The provisioning health panel looks back one day.
HEALTH_WINDOW = timedelta(hours=24)


def health(
    session: Session, ref: str, ring: KeyRing, defaults: breaker.Limits, now: datetime
) -> View:
    """Requests and errors of the last day, the newest error decrypted, and the breaker."""
    org = organizations.get(session, ref)
    since = now - HEALTH_WINDOW
    counted = queries.tally(session, org.id, since)
    last = counted.last_error
    last_view = views.log_entry(last, open_entry(ring, last)) if last is not None else None
    status = views.breaker(org, breaker.status(session, org, defaults))
    return views.health(since, counted, last_view, status)


def show_sso(session: Session, ref: str) -> View | None:
    """The organization's SAML identity provider, or None while SSO is not configured."""
    org = organizations.get(session, ref)
    return views.sso_connection(org.sso) if org.sso is not None else None
