"""Administrators of the web UI: accounts, the organizations they administer, sessions.

Passwords are hashed with argon2id (RFC 9106) through ``argon2-cffi``'s defaults, which
follow the RFC's recommended parameters and are re-checked on each sign-in: a hash made
with weaker parameters is replaced by a fresh one once the password is known good.

Sign-in failures lock the account for a while after ``MAX_FAILURES`` in a row (OWASP
ASVS 2.2.1 asks for throttling of this kind). While locked, even the right password is
refused, and the answer does not say which of the name or the password was wrong.

A session is a random secret in an HttpOnly cookie; only its SHA-256 is stored, so a
copy of the database cannot be replayed as a browser. Each session carries its own
CSRF token, which every form sends back (OWASP's synchronizer token pattern).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError, UniquenessError
from scimgate.storage.models import (
    AdminAccount,
    AdminGrant,
    AdminSession,
    Organization,
    utcnow,
)

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
"""A session ends this long after sign-in, however active."""
SESSION_IDLE = timedelta(hours=1)
"""A session ends after this long without a request."""
# Writing last_seen_at on every page view would turn each read into a write.
_SEEN_PRECISION = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 12
_MAX_PASSWORD_LENGTH = 1024  # hashing megabytes of "password" is a denial of service
_MAX_USERNAME_LENGTH = 150

_hasher = PasswordHasher()
# Verified against when the name is unknown, so that an unknown name costs as much
# time as a wrong password and timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class OpenedSession:
    """A new session: the cookie secret is handed out once and never stored."""

    secret: str
    session: AdminSession


def _norm(username: str) -> str:
    return username.strip().lower()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password(password: str) -> None:
    """Refuse a password too short to resist guessing, or too long to hash cheaply."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValueError(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
        )
    if len(password) > _MAX_PASSWORD_LENGTH:
        raise InvalidValueError(f"The password must be at most {_MAX_PASSWORD_LENGTH} characters.")


def create(session: Session, username: str, password: str) -> AdminAccount:
    """Create an administrator; the name must be new, case-insensitively."""
    clean = username.strip()
    if not clean or len(clean) > _MAX_USERNAME_LENGTH or not clean.isprintable():
        raise InvalidValueError(
            f"An administrator name must be 1 to {_MAX_USERNAME_LENGTH} printable characters."
        )
    check_password(password)
    account = AdminAccount(
        username=clean, username_norm=_norm(clean), password_hash=_hasher.hash(password)
    )
    session.add(account)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise UniquenessError(f"An administrator named {clean!r} already exists.") from None
    return account


def get(session: Session, username: str) -> AdminAccount:
    """Find an administrator by name (case-insensitive)."""
    account = session.scalars(
        select(AdminAccount).where(AdminAccount.username_norm == _norm(username))
    ).first()
    if account is None:
        raise NotFoundError(f"No administrator is named {username!r}.")
    return account


def list_all(session: Session) -> list[AdminAccount]:
    """Every administrator, by name."""
    return list(session.scalars(select(AdminAccount).order_by(AdminAccount.username_norm)))


def set_password(account: AdminAccount, password: str) -> None:
    """Replace the password and lift any lockout."""
    check_password(password)
    account.password_hash = _hasher.hash(password)
    unlock(account)


def unlock(account: AdminAccount) -> None:
    """Lift a lockout and forget past failures."""
    account.failed_logins = 0
    account.locked_until = None


def grant(session: Session, account: AdminAccount, org: Organization) -> None:
    """Let the administrator see and change the organization (idempotent)."""
    if session.get(AdminGrant, (account.id, org.id)) is None:
        session.add(AdminGrant(admin_id=account.id, org_id=org.id))
        session.flush()


def revoke(session: Session, account: AdminAccount, org: Organization) -> None:
    """Take the organization away from the administrator (idempotent)."""
    found = session.get(AdminGrant, (account.id, org.id))
    if found is not None:
        session.delete(found)
        session.flush()


def organizations_of(session: Session, account: AdminAccount) -> list[Organization]:
    """The organizations the administrator administers, by name."""
    return list(
        session.scalars(
            select(Organization)
            .join(AdminGrant, AdminGrant.org_id == Organization.id)
            .where(AdminGrant.admin_id == account.id)
            .order_by(Organization.name_norm)
        )
    )


def may_administer(session: Session, account: AdminAccount, org: Organization) -> bool:
    """Tell whether the administrator administers the organization."""
    return session.get(AdminGrant, (account.id, org.id)) is not None


def sign_in(session: Session, username: str, password: str) -> OpenedSession | None:
    """Check a name and password and open a session; None (counted, maybe locking) if wrong.

    A refusal returns rather than raises, so the caller's transaction commits the count.
    """
    now = utcnow()
    account = session.scalars(
        select(AdminAccount).where(AdminAccount.username_norm == _norm(username)).with_for_update()
    ).first()
    if account is None or len(password) > _MAX_PASSWORD_LENGTH:
        _verify(_DUMMY_HASH, password[:_MAX_PASSWORD_LENGTH])
        return None
    if account.locked_until is not None and account.locked_until > now:
        # As slow as a wrong password: a quick refusal would tell which names exist.
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.locked_until = now + LOCKOUT
            account.failed_logins = 0
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    unlock(account)
    account.last_login_at = now
    return _open(session, account, now)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _open(session: Session, account: AdminAccount, now: datetime) -> OpenedSession:
    # Sessions past their end are useless; sign-ins are rare enough to sweep them here.
    session.execute(
        delete(AdminSession).where(
            (AdminSession.expires_at <= now) | (AdminSession.last_seen_at <= now - SESSION_IDLE)
        )
    )
    secret = secrets.token_urlsafe(32)
    row = AdminSession(
        id=_digest(secret),
        admin_id=account.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return OpenedSession(secret=secret, session=row)


@dataclass(frozen=True)
class Visitor:
    """A signed-in administrator, as a request sees them."""

    account: AdminAccount
    session_id: str
    csrf_token: str
    stale: bool
    """``last_seen_at`` is due for an update (see :func:`touch`)."""


def resume(session: Session, secret: str | None) -> Visitor | None:
    """The administrator whose session cookie holds ``secret``, if it is still valid."""
    if not secret or len(secret) > 100:
        return None
    row = session.get(AdminSession, _digest(secret))
    now = utcnow()
    if row is None or row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
        return None
    account = session.get(AdminAccount, row.admin_id)
    if account is None:
        return None
    stale = now - row.last_seen_at > _SEEN_PRECISION
    return Visitor(account=account, session_id=row.id, csrf_token=row.csrf_token, stale=stale)


def touch(session: Session, session_id: str) -> None:
    """Note activity on a session (kept apart so page views stay read transactions)."""
    row = session.get(AdminSession, session_id)
    if row is not None:
        row.last_seen_at = utcnow()


def sign_out(session: Session, session_id: str) -> None:
    """End a session at once."""
    session.execute(delete(AdminSession).where(AdminSession.id == session_id))


def sign_out_secret(session: Session, secret: str) -> None:
    """End the session whose cookie holds ``secret``, if any."""
    if len(secret) <= 100:
        sign_out(session, _digest(secret))


def same_token(expected: str, offered: str | None) -> bool:
    """Compare a CSRF token in constant time."""
    return offered is not None and hmac.compare_digest(expected.encode(), offered.encode())


def end_sessions(session: Session, account: AdminAccount) -> None:
    """Sign the administrator out everywhere (after a password change, say)."""
    session.execute(delete(AdminSession).where(AdminSession.admin_id == account.id))
