"""Organizations (tenants) and their SCIM switch."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError, UniquenessError
from scimgate.storage.models import Organization, SsoConnection

from .sso import SsoSettings


def create(session: Session, name: str) -> Organization:
    """Create an organization; its name must be new, case-insensitively."""
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidValueError("An organization name must have 1 to 200 characters.")
    org = Organization(name=clean, name_norm=clean.lower())
    session.add(org)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise UniquenessError(f"An organization named {clean!r} already exists.") from None
    return org


def get(session: Session, ref: str) -> Organization:
    """Find an organization by id or by name (case-insensitive)."""
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
    """Switch SCIM on or off for an organization."""
    org.scim_enabled = enabled


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
