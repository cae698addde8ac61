"""SCIM Users of an organization: create, read, list, update, delete."""

from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, UniquenessError
from scimgate.storage.models import Organization, User, utcnow

from . import breaker, persons, provisioning, rows
from .paging import Page, PageRequest
from .rows import check_fits
from .uniqueness import flush_unique
from .versions import check_precondition

# Columns a replacement copies from the incoming state; everything else (id, org,
# created, version) is the server's.
_REPLACED = (
    "user_name",
    "external_id",
    "display_name",
    "given_name",
    "family_name",
    "active",
    "attributes",
)


# The SCIM name of every string column a user's attributes are lifted into.
_USER_COLUMNS = {
    "user_name": "userName",
    "external_id": "externalId",
    "display_name": "displayName",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
}
_EMAIL_COLUMNS = {"value": "emails.value", "type": "emails.type", "display": "emails.display"}


def _check(user: User) -> None:
    # The seed's rule: userName is the person's email address. Syntax only, no DNS
    # look-up, so provisioning never depends on the network.
    try:
        validate_email(user.user_name, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValueError(
            f"userName {user.user_name!r} is not a valid email address: {exc}"
        ) from None
    check_fits(user, _USER_COLUMNS)
    for email in user.emails:
        check_fits(email, _EMAIL_COLUMNS)
    _check_document(user.attributes)
    user.user_name_norm = user.user_name.lower()


def _check_document(document: dict[str, Any]) -> None:
    """Refuse NUL in any text of a user's stored document, as ``check_fits`` does in columns.

    PostgreSQL stores "\\u0000" in a JSON column but its JSON operators cannot read it
    back as text, so one such value would fail every filter on that attribute, for the
    whole organization.
    """
    pending: list[tuple[str, Any]] = list(document.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            raise InvalidValueError(f"{name} must not contain a NUL character.")
        if isinstance(value, dict):
            pending.extend((f"{name}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((name, item) for item in value)


def _taken(user: User) -> str:
    return f"userName {user.user_name!r} is already taken in this organization."


def create(session: Session, org: Organization, user: User) -> User:
    """Provision a membership, resolving who the user is first.

    In this order (the provisioning rules of docs/concepts.md): a membership of this
    organization with the same externalId, else with the same userName; an active one
    is a 409, a deactivated one is re-activated and updated in place, so an IdP can
    re-provision a user it deactivated. Otherwise the person with that email address
    is linked (or created), never a membership of another organization.
    """
    _check(user)
    existing = _existing(session, org, user)
    if existing is not None:
        if existing.active is not False:
            raise UniquenessError(_taken(existing))
        if user.active is None:
            user.active = True
        return _replace(session, org, existing, user)
    if user.active is None:
        # RFC 7643 §4.1.1 gives active no default; a user provisioned without it is
        # active, as every IdP expects.
        user.active = True
    user.org_id = org.id
    user.person_id = persons.for_email(session, user.user_name).id
    user.created_at = user.updated_at = utcnow()
    session.add(user)
    flush_unique(session, _taken(user))
    _provision(session, org, user)
    return user


def _existing(session: Session, org: Organization, user: User) -> User | None:
    if user.external_id:
        # externalId is kept per SSO connection, and an organization has one.
        match = session.scalars(
            select(User).where(User.org_id == org.id, User.external_id == user.external_id)
        ).first()
        if match is not None:
            return match
    return session.scalars(
        select(User).where(User.org_id == org.id, User.user_name_norm == user.user_name_norm)
    ).first()


def _provision(session: Session, org: Organization, user: User) -> None:
    """Carry a membership's state over to its person, teams and role."""
    phones = [
        value.get("value") if isinstance(value, dict) else None
        for value in user.attributes.get("phoneNumbers") or []
    ]
    persons.apply_profile(session, org, user, phones)
    provisioning.resync(session, org, [user.id])


def get(session: Session, org: Organization, user_id: str, *, for_update: bool = False) -> User:
    """Return the organization's user with this id; 404 if none (or another org's).

    ``for_update`` locks it until the transaction ends (see ``rows.get``).
    """
    return rows.get(session, org, User, user_id, for_update=for_update)


def search(
    session: Session,
    org: Organization,
    where: ColumnElement[bool] | None,
    page: PageRequest,
) -> Page[User]:
    """Return one page of the organization's users matching ``where``, oldest first."""
    return rows.search(session, org, User, where, page)


def update(
    session: Session,
    org: Organization,
    user_id: str,
    revise: Callable[[User], User],
    *,
    if_match: int | None = None,
    limits: breaker.Limits = breaker.DEFAULT_LIMITS,
) -> User:
    """Replace a user's state with ``revise(current)``, as PUT and PATCH do.

    ``revise`` returns the new state as a detached ``User``; the id, creation time
    and password hash stay unless it sets a new password. Deactivating an active
    user is held (503) past the organization's mass-deprovisioning ``limits``.
    """
    user = get(session, org, user_id, for_update=True)
    check_precondition(user.version, if_match)
    incoming = revise(user)
    _check(incoming)
    if user.active is not False and incoming.active is False:
        breaker.admit(session, org, user.id, limits)
    return _replace(session, org, user, incoming)


def _replace(session: Session, org: Organization, user: User, incoming: User) -> User:
    previous_person = user.person_id
    for column in _REPLACED:
        setattr(user, column, getattr(incoming, column))
    user.user_name_norm = incoming.user_name_norm
    if incoming.password_hash is not None:
        user.password_hash = incoming.password_hash
    user.emails = list(incoming.emails)
    user.version += 1
    user.updated_at = utcnow()
    flush_unique(session, _taken(user))
    # A new userName is a new email address, so possibly another person.
    user.person_id = persons.for_email(session, user.user_name).id
    _provision(session, org, user)
    if previous_person != user.person_id:
        persons.forget_if_orphaned(session, previous_person)
    return user


def remove(
    session: Session,
    org: Organization,
    user_id: str,
    *,
    if_match: int | None = None,
    limits: breaker.Limits = breaker.DEFAULT_LIMITS,
) -> None:
    """Delete a membership with its group and team memberships; 404 afterwards.

    Deleting an active user is held (503) past the mass-deprovisioning ``limits``.
    """
    user = get(session, org, user_id, for_update=True)
    check_precondition(user.version, if_match)
    if user.active is not False:
        breaker.admit(session, org, user.id, limits)
    person_id = user.person_id
    session.delete(user)
    session.flush()
    # The person stays while they belong to another organization.
    persons.forget_if_orphaned(session, person_id)
