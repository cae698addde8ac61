"""SCIM Users of an organization: create, read, list, update, delete."""

from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError
from scimgate.storage.models import Organization, User, utcnow

from .paging import Page, PageRequest
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


def _check(user: User) -> None:
    # The seed's rule: userName is the person's email address. Syntax only, no DNS
    # look-up, so provisioning never depends on the network.
    try:
        validate_email(user.user_name, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValueError(
            f"userName {user.user_name!r} is not a valid email address: {exc}"
        ) from None
    user.user_name_norm = user.user_name.lower()


def _taken(user: User) -> str:
    return f"userName {user.user_name!r} is already taken in this organization."


def create(session: Session, org: Organization, user: User) -> User:
    """Add a new user to the organization; its userName must be free (case-insensitive)."""
    _check(user)
    user.org_id = org.id
    user.created_at = user.updated_at = utcnow()
    session.add(user)
    flush_unique(session, _taken(user))
    return user


def get(session: Session, org: Organization, user_id: str) -> User:
    """Return the organization's user with this id; 404 if none (or another org's)."""
    user = session.scalars(select(User).where(User.org_id == org.id, User.id == user_id)).first()
    if user is None:
        raise NotFoundError(f"User {user_id!r} not found.")
    return user


def search(
    session: Session,
    org: Organization,
    where: ColumnElement[bool] | None,
    page: PageRequest,
) -> Page[User]:
    """Return one page of the organization's users matching ``where``, oldest first."""
    condition = User.org_id == org.id
    if where is not None:
        condition = condition & where
    total = session.scalar(select(func.count()).select_from(User).where(condition)) or 0
    items: list[User] = []
    if page.count > 0:
        items = list(
            session.scalars(
                select(User)
                .where(condition)
                .order_by(User.created_at, User.id)
                .offset(page.start_index - 1)
                .limit(page.count)
            )
        )
    return Page(total=total, items=items, start_index=page.start_index)


def update(
    session: Session,
    org: Organization,
    user_id: str,
    revise: Callable[[User], User],
    *,
    if_match: int | None = None,
) -> User:
    """Replace a user's state with ``revise(current)``, as PUT and PATCH do.

    ``revise`` returns the new state as a detached ``User``; the id, creation time
    and password hash stay unless it sets a new password.
    """
    user = get(session, org, user_id)
    check_precondition(user.version, if_match)
    incoming = revise(user)
    _check(incoming)
    for column in _REPLACED:
        setattr(user, column, getattr(incoming, column))
    user.user_name_norm = incoming.user_name_norm
    if incoming.password_hash is not None:
        user.password_hash = incoming.password_hash
    user.emails = list(incoming.emails)
    user.version += 1
    user.updated_at = utcnow()
    flush_unique(session, _taken(user))
    return user


def remove(
    session: Session, org: Organization, user_id: str, *, if_match: int | None = None
) -> None:
    """Delete a user and its group memberships."""
    user = get(session, org, user_id)
    check_precondition(user.version, if_match)
    session.delete(user)
    session.flush()
