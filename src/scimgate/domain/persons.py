"""People: one record per email address, shared by their memberships in organizations.

A person carries only the app's own fields (names, work email, verified phone
numbers), written from whichever membership was provisioned or updated last.
"""

import logging

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scimgate.storage.models import (
    Organization,
    Person,
    PersonPhoneNumber,
    User,
    new_id,
    utcnow,
)
from scimgate.storage.statements import insert_ignoring_conflicts

from .phones import normalize_phone_numbers

logger = logging.getLogger("scimgate.provisioning")

WARNINGS = "scimgate.warnings"
"""Key of ``Session.info`` under which provisioning warnings of a transaction collect."""


def for_email(session: Session, email: str) -> Person:
    """The person with this email address (case-insensitive), created if none exists.

    ON CONFLICT makes two organizations provisioning the same address at once end
    up with one person.
    """
    norm = email.lower()
    session.execute(
        insert_ignoring_conflicts(session, Person).values(
            id=new_id(), email=email, email_norm=norm, created_at=utcnow(), updated_at=utcnow()
        )
    )
    return session.scalars(select(Person).where(Person.email_norm == norm)).one()


def apply_profile(
    session: Session, org: Organization, membership: User, phones: list[str | None]
) -> list[str]:
    """Write a membership's SCIM attributes to its person; return import warnings.

    The seed's mapping: userName is the email, givenName/familyName the first and
    last name, displayName the preferred name, the primary (else work) email the work
    email, and phone numbers, E.164 with US as the default country, only when the
    organization's phone sync is on.
    """
    person = session.get(Person, membership.person_id)
    if person is None:
        return []
    person.first_name = membership.given_name
    person.last_name = membership.family_name
    person.preferred_name = membership.display_name
    person.work_email = _work_email(membership)
    person.updated_at = utcnow()
    imported = normalize_phone_numbers(phones)
    for warning in imported.warnings:
        logger.warning("org %s user %s: %s", org.id, membership.id, warning)
    # The request owns the session; what it collects here reaches the request's entry
    # in the SCIM request log.
    session.info.setdefault(WARNINGS, []).extend(imported.warnings)
    if org.phone_sync:
        _store_phones(session, person, imported.numbers)
    return imported.warnings


def _work_email(membership: User) -> str:
    emails = list(membership.emails)
    chosen = next((e for e in emails if e.primary), None) or next(
        (e for e in emails if (e.type or "").lower() == "work"), None
    )
    return chosen.value if chosen else membership.user_name


def _store_phones(session: Session, person: Person, numbers: list[str]) -> None:
    # The IdP is the source of truth for numbers it sends: what it no longer sends goes.
    session.execute(
        delete(PersonPhoneNumber).where(
            PersonPhoneNumber.person_id == person.id, PersonPhoneNumber.number.not_in(numbers)
        )
    )
    if numbers:
        session.execute(
            insert_ignoring_conflicts(session, PersonPhoneNumber),
            [{"person_id": person.id, "number": n, "verified": True} for n in numbers],
        )


def phone_numbers(session: Session, person_id: str) -> list[str]:
    """A person's verified phone numbers."""
    return list(
        session.scalars(
            select(PersonPhoneNumber.number)
            .where(PersonPhoneNumber.person_id == person_id)
            .order_by(PersonPhoneNumber.id)
        )
    )


def forget_if_orphaned(session: Session, person_id: str | None) -> None:
    """Delete a person who no longer belongs to any organization."""
    if person_id is None:
        return
    remaining = session.scalar(
        select(func.count()).select_from(User).where(User.person_id == person_id)
    )
    if not remaining:
        session.execute(delete(Person).where(Person.id == person_id))
