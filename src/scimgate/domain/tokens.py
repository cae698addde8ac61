"""SCIM bearer tokens: issued once, stored as a hash, rotated and revoked."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from scimgate.errors import (
    NotFoundError,
    ScimUnavailableError,
    UnauthorizedError,
)
from scimgate.storage.models import Organization, ScimToken, utcnow

TOKEN_PREFIX = "scimgate_"  # noqa: S105 (a public prefix, not a secret)
# Writing last_used_at on every request would turn each read into a write; once a
# minute is precise enough for an administrator.
_LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: the secret is shown once and never stored."""

    token: ScimToken
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, org: Organization) -> IssuedToken:
    """Create a new token for the organization; 32 random bytes."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(org_id=org.id, token_hash=_digest(secret), prefix=secret[:14])
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def list_for(session: Session, org: Organization) -> list[ScimToken]:
    """List an organization's tokens, newest first."""
    return list(
        session.scalars(
            select(ScimToken)
            .where(ScimToken.org_id == org.id)
            .order_by(ScimToken.created_at.desc())
        )
    )


def _get(session: Session, org: Organization, token_id: str) -> ScimToken:
    token = session.scalars(
        select(ScimToken).where(ScimToken.org_id == org.id, ScimToken.id == token_id)
    ).first()
    if token is None:
        raise NotFoundError(f"Organization {org.name!r} has no token {token_id!r}.")
    return token


def is_usable(token: ScimToken, now: datetime) -> bool:
    """Tell whether a token authenticates at ``now`` (not revoked, not past its grace)."""
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or token.expires_at > now


def revoke(session: Session, org: Organization, token_id: str) -> ScimToken:
    """Revoke a token at once."""
    token = _get(session, org, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token


def rotate(
    session: Session, org: Organization, grace: timedelta, token_id: str | None = None
) -> IssuedToken:
    """Issue a new token; the old ones (or just ``token_id``) stop working after ``grace``."""
    now = utcnow()
    old = [_get(session, org, token_id)] if token_id else list_for(session, org)
    for token in old:
        if is_usable(token, now):
            if grace > timedelta(0):
                token.expires_at = now + grace
            else:
                token.revoked_at = now
    return issue(session, org)


@dataclass(frozen=True)
class Credential:
    """The outcome of a successful authentication."""

    org: Organization
    token_id: str
    stale: bool
    """The token's ``last_used_at`` is due for an update (see :func:`record_use`)."""


# Built once (every SCIM request runs it): the token, its organization and the SSO
# connection the SCIM gate needs, in one statement.
_TOKEN_BY_HASH = (
    select(ScimToken)
    .where(ScimToken.token_hash == bindparam("digest"))
    .options(joinedload(ScimToken.organization).joinedload(Organization.sso))
)


def authenticate(session: Session, authorization: str | None) -> Credential:
    """Resolve the organization from an ``Authorization: Bearer`` header, reading only.

    Raises 401 for a missing, malformed, unknown or revoked token, and 404 when the
    organization cannot use SCIM (no SSO, or SCIM switched off).
    """
    secret = _bearer_secret(authorization)
    digest = _digest(secret)
    token = session.scalars(_TOKEN_BY_HASH, {"digest": digest}).first()
    # The lookup is by hash, so timing reveals nothing of the secret; the explicit
    # constant-time comparison guards against a collation that folds case.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise UnauthorizedError("The bearer token is not valid for any organization.")
    now = utcnow()
    if not is_usable(token, now):
        raise UnauthorizedError("The bearer token has been revoked or has expired.")
    stale = token.last_used_at is None or now - token.last_used_at > _LAST_USED_PRECISION
    org = token.organization
    _check_scim_available(org)
    return Credential(org=org, token_id=token.id, stale=stale)


def owner_of(session: Session, authorization: str | None) -> str | None:
    """The id of the organization that issued the bearer token, usable or not.

    For the SCIM request log, which keeps refused requests too; None when the header
    is missing or malformed or the token is unknown. Never a credential.
    """
    try:
        digest = _digest(_bearer_secret(authorization))
    except UnauthorizedError:
        return None
    org_id: str | None = session.scalars(
        select(ScimToken.org_id).where(ScimToken.token_hash == digest)
    ).first()
    return org_id


def record_use(session: Session, token_id: str) -> None:
    """Note that a token was just used.

    Kept apart from :func:`authenticate` so that a read request stays a read
    transaction, and done at most once a minute per token.
    """
    token = session.get(ScimToken, token_id)
    if token is not None:
        token.last_used_at = utcnow()


def _bearer_secret(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise UnauthorizedError("The Authorization header is missing; send 'Bearer <token>'.")
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or " " in secret:
        raise UnauthorizedError("The Authorization header is malformed; send 'Bearer <token>'.")
    return secret


def _check_scim_available(org: Organization) -> None:
    # The seed's rule: the SCIM endpoint does not resolve until SSO is configured.
    if org.sso is None:
        raise ScimUnavailableError(
            "SCIM is not available until SSO is configured for this organization."
        )
    if org.google_directory_sync:
        raise ScimUnavailableError(
            "SCIM is not available: Google Directory Sync is this organization's user source."
        )
    if not org.scim_enabled:
        raise ScimUnavailableError("SCIM is disabled for this organization.")
