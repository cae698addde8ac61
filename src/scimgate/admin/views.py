"""How administrators see organizations, roles, teams and members: JSON-ready dicts."""

import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scimgate.audit.entries import Opened
from scimgate.audit.queries import Tally
from scimgate.domain.breaker import Status, window_phrase
from scimgate.domain.role_assignment import RoleChange
from scimgate.domain.sso import describe_certificate
from scimgate.domain.tokens import IssuedToken
from scimgate.storage.models import (
    Group,
    Organization,
    Person,
    RequestLogEntry,
    Role,
    ScimToken,
    SsoConnection,
    Team,
    TeamMember,
    User,
)

View = dict[str, Any]


def organization(org: Organization, default_role: Role | None) -> View:
    """An organization with its user source switches and feature flags."""
    return {
        "id": org.id,
        "name": org.name,
        "scim_enabled": org.scim_enabled,
        "google_directory_sync": org.google_directory_sync,
        "sync_groups_to_teams": org.sync_groups_to_teams,
        "assign_roles_from_groups": org.assign_roles_from_groups,
        "phone_sync": org.phone_sync,
        "default_role": default_role.name if default_role else None,
        "sso_configured": org.sso is not None,
        "created_at": org.created_at.isoformat(),
    }


def role(role: Role, org: Organization) -> View:
    """A role, and whether it is the organization's default."""
    return {
        "id": role.id,
        "name": role.name,
        "weight": role.weight,
        "default": role.id == org.default_role_id,
    }


def changes(found: list[RoleChange], *, applied: bool) -> View:
    """The members a role change moves, and whether it was written."""
    return {
        "changes": [
            {
                "user_id": change.user_id,
                "user_name": change.user_name,
                "before": change.before,
                "after": change.after,
            }
            for change in found
        ],
        "applied": applied,
    }


def team(team: Team, member_count: int) -> View:
    """A team, the SCIM group it is linked to (if any) and its size."""
    return {
        "id": team.id,
        "name": team.name,
        "scim_group_id": team.scim_group_id,
        "member_count": member_count,
    }


def team_member(grant: TeamMember, user: User) -> View:
    """A team member with the grants that keep them in the team."""
    return {
        "user_id": user.id,
        "user_name": user.user_name,
        "via_scim": grant.via_scim,
        "manual": grant.manual,
    }


def member(user: User, roles_by_id: Mapping[str, Role], group_names: Mapping[str, str]) -> View:
    """A membership, its role and, when a mapped group gave the role, which group."""
    role_row = roles_by_id.get(user.role_id or "")
    source = user.role_from_group_id
    return {
        "user_id": user.id,
        "user_name": user.user_name,
        # RFC 7643 leaves an unassigned active to the server: such a member is active.
        "active": user.active is not False,
        "role": role_row.name if role_row else None,
        "role_from_group_id": source,
        "role_from_group": group_names.get(source) if source else None,
        "person_id": user.person_id,
    }


def person(row: Person | None, phone_numbers: list[str]) -> View | None:
    """The app's own fields of the person behind a membership."""
    if row is None:
        return None
    return {
        "id": row.id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "preferred_name": row.preferred_name,
        "work_email": row.work_email,
        "phone_numbers": phone_numbers,
    }


def membership_team(team: Team, grant: TeamMember) -> View:
    """A team a member is in, with the grants that keep them there."""
    return {
        "id": team.id,
        "name": team.name,
        "via_scim": grant.via_scim,
        "manual": grant.manual,
    }


def log_entry(entry: RequestLogEntry, opened: Opened, *, full: bool = False) -> View:
    """A request log entry: its summary, or with ``full`` its query, bodies and headers.

    An entry whose key is not in the ring shows why instead of what it holds.
    """
    payload = opened.payload or {}
    view: View = {
        "id": entry.id,
        "time": entry.created_at.isoformat(),
        "status": entry.status,
        "method": entry.method,
        "path": entry.path,
        "resource_type": entry.resource_type,
        "event": entry.event,
        "target_id": entry.target_id,
        "summary": payload.get("summary"),
        "duration_ms": entry.duration_ms,
        "user_agent": entry.user_agent,
        "idp": entry.idp,
        "warnings": payload.get("warnings", []),
    }
    if opened.problem:
        view["unreadable"] = opened.problem
    if full:
        view.update(
            org_id=entry.org_id,
            key_id=entry.key_id,
            query=payload.get("query"),
            request=payload.get("request"),
            response=payload.get("response"),
        )
    return view


def log_retention(org: Organization) -> View:
    """How long an organization's request log entries are kept."""
    return {"org": org.name, "log_retention_days": org.log_retention_days}


def breaker(org: Organization, status: Status) -> View:
    """An organization's mass-deprovisioning breaker, with a sentence saying where it stands."""
    limits, tally = status.limits, status.tally

    def stamp(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "org": org.name,
        "state": status.state,
        "summary": _breaker_summary(org, status),
        "share": limits.share,
        "min_people": limits.min_people,
        "window_seconds": limits.window_seconds,
        "active_members": tally.active,
        "deprovisioned_in_window": tally.deprovisioned,
        "base": tally.base,
        "allowed": status.allowed,
        "tripped_at": stamp(status.tripped_at),
        "held_requests": status.held_requests,
        "approved_until": stamp(status.approved_until),
        "frees_at": stamp(status.frees_at),
        "overrides": dict(status.overrides),
    }


def _breaker_summary(org: Organization, status: Status) -> str:
    limits, tally = status.limits, status.tally
    if status.state == "off":
        return "off: deprovisioning is never held (the share is 0 or 1)"
    if status.state == "approved":
        until = status.approved_until.isoformat() if status.approved_until else "now"
        return (
            f"approved until {until}: every deprovisioning passes, and counting starts "
            "again from zero then"
        )
    counted = (
        f"{tally.deprovisioned} of {tally.base} active members deprovisioned "
        f"{window_phrase(limits)}, {status.allowed} allowed"
    )
    if status.state == "tripped":
        return (
            f"tripped: {counted}; {status.held_requests} deprovisioning requests held. "
            f"Approve with: scimgate breaker approve {shlex.quote(org.name)}"
        )
    return f"closed: {counted}"


def org_status(org: Organization) -> View:
    """An organization's SCIM state and the identity provider last seen talking to it."""
    return {
        "id": org.id,
        "name": org.name,
        "scim_enabled": org.scim_enabled,
        "sso_configured": org.sso is not None,
        "detected_idp": org.detected_idp,
        "idp_seen_at": org.idp_seen_at.isoformat() if org.idp_seen_at else None,
        "created_at": org.created_at.isoformat(),
    }


def sso_connection(connection: SsoConnection) -> View:
    """An organization's SAML identity provider, with its certificate summarized."""
    return {
        "entity_id": connection.entity_id,
        "sso_url": connection.sso_url,
        "certificate": describe_certificate(connection.certificate_pem),
    }


def token(token: ScimToken) -> View:
    """A SCIM bearer token as listed: its prefix and dates, never its secret."""

    def stamp(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": token.id,
        "prefix": token.prefix,
        "created_at": stamp(token.created_at),
        "last_used_at": stamp(token.last_used_at),
        "expires_at": stamp(token.expires_at),
        "revoked_at": stamp(token.revoked_at),
    }


def issued_token(issued: IssuedToken) -> View:
    """A token just issued, with its secret: shown this once, never stored."""
    return {**token(issued.token), "token": issued.secret}


def health(since: datetime, counted: Tally, last_error: View | None, breaker_view: View) -> View:
    """An organization's provisioning health: recent requests, errors and the breaker."""
    errors = counted.client_errors + counted.server_errors
    return {
        "since": since.isoformat(),
        "requests": counted.total,
        "errors": errors,
        "client_errors": counted.client_errors,
        "server_errors": counted.server_errors,
        "error_rate": errors / counted.total if counted.total else 0.0,
        "last_error": last_error,
        "breaker": breaker_view,
    }


def scim_group(group: Group, member_count: int, role: Role | None, team: Team | None) -> View:
    """A SCIM group with its size, the role it grants (if mapped) and its linked team."""
    return {
        "id": group.id,
        "display_name": group.display_name,
        "member_count": member_count,
        "role": role.name if role else None,
        "team_id": team.id if team else None,
        "team_name": team.name if team else None,
    }
