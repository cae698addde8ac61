"""Organizations (tenants) and their SCIM switch."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scimgate.errors import ConflictError, InvalidValueError, NotFoundError, UniquenessError
from scimgate.storage.models import Group, Organization, SsoConnection, utcnow

from . import provisioning, roles, teams
from .rows import check_fits
from .sso import SsoSettings


def create(session: Session, name: str) -> Organization:
    """Create an organization; its name must be new, case-insensitively."""
    clean = name.strip()
    if not clean:
        raise InvalidValueError("An organization name must not be empty.")
    org = Organization(name=clean, name_norm=clean.lower())
    check_fits(org, {"name": "name"})
    session.add(org)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise UniquenessError(f"An organization named {clean!r} already exists.") from None
    roles.create_defaults(session, org)
    return org


def get(session: Session, ref: str) -> Organization:
    """Find an organization by id or by name (case-insensitive)."""
    org = None
    if "\x00" not in ref:  # PostgreSQL refuses to compare text holding NUL
        org = session.scalars(
            select(Organization).where(
                (Organization.id == ref) | (Organization.name_norm == ref.strip().lower())
            )
        ).first()
    if org is None:
        raise NotFoundError(f"No organization is named or identified by {ref!r}.")
    return org


def find_by_name(session: Session, name: str) -> Organization | None:
    """Return the organization with this name (case-insensitive), if any."""
    return session.scalars(
        select(Organization).where(Organization.name_norm == name.strip().lower())
    ).first()


def list_all(session: Session) -> list[Organization]:
    """List every organization, oldest first."""
    return list(session.scalars(select(Organization).order_by(Organization.created_at)))


def set_scim_enabled(org: Organization, enabled: bool) -> None:
    """Switch SCIM on or off; refused while Google Directory Sync is the user source."""
    if enabled and org.google_directory_sync:
        raise ConflictError(
            f"Google Directory Sync is the user source of {org.name!r}; an organization "
            "takes users from SCIM or from Google Directory Sync, never both. "
            "Turn Google Directory Sync off first."
        )
    org.scim_enabled = enabled


def set_google_directory_sync(org: Organization, enabled: bool) -> None:
    """Make Google Directory Sync the user source, or stop; refused while SCIM is on."""
    if enabled and org.scim_enabled:
        raise ConflictError(
            f"SCIM is the user source of {org.name!r}; an organization takes users from "
            "SCIM or from Google Directory Sync, never both. Disable SCIM first."
        )
    org.google_directory_sync = enabled


FLAGS = ("sync_groups_to_teams", "assign_roles_from_groups", "phone_sync")


def set_flag(session: Session, org: Organization, flag: str, enabled: bool) -> None:
    """Turn a provisioning feature flag on or off, and bring teams and roles in line.

    Turning group sync on backfills: every SCIM group already pushed is linked to its
    team and the teams are filled, in the caller's one transaction.
    """
    if flag not in FLAGS:
        raise InvalidValueError(f"Unknown feature flag {flag!r}; known: {', '.join(FLAGS)}.")
    was = getattr(org, flag)
    setattr(org, flag, enabled)
    session.flush()
    if was == enabled or flag == "phone_sync":
        return
    if flag == "sync_groups_to_teams" and enabled:
        for group in session.scalars(select(Group).where(Group.org_id == org.id)):
            teams.link(session, org, group)
    provisioning.resync_all(session, org)


def configure_sso(session: Session, org: Organization, sso: SsoSettings) -> SsoConnection:
    """Set (or replace) the organization's SAML SSO configuration."""
    connection = org.sso
    if connection is None:
        connection = SsoConnection(org_id=org.id)
        session.add(connection)
        org.sso = connection
    connection.entity_id = sso.entity_id
    connection.sso_url = sso.sso_url
    connection.certificate_pem = sso.certificate_pem
    session.flush()
    return connection


def record_idp(session: Session, org_id: str, idp: str | None, user_agent: str | None) -> None:
    """Remember which identity provider (and User-Agent) last talked to an organization."""
    org = session.get(Organization, org_id)
    if org is None:
        return
    if idp is not None:
        org.detected_idp = idp
    org.detected_user_agent = (user_agent or "")[:300] or None
    org.idp_seen_at = utcnow()


# A retention longer than ten years is a typo, and would overflow date arithmetic.
MAX_LOG_RETENTION_DAYS = 3650


def set_log_retention(org: Organization, days: int) -> None:
    """Keep the organization's SCIM request log entries for ``days`` days (1 to 3650)."""
    if isinstance(days, bool) or not 1 <= days <= MAX_LOG_RETENTION_DAYS:
        raise InvalidValueError(
            f"The request log retention must be 1 to {MAX_LOG_RETENTION_DAYS} days, not {days}."
        )
    org.log_retention_days = days
