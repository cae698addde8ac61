"""Turning the database's unique indexes into SCIM 409 errors."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scimgate.errors import UniquenessError


def flush_unique(session: Session, detail: str) -> None:
    """Flush pending changes; a unique-index violation becomes a 409 ``uniqueness``.

    The index decides, not a prior SELECT: a check-then-insert races between two
    concurrent requests, the index does not. The savepoint keeps the session usable.
    """
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if _is_unique_violation(exc):
            raise UniquenessError(detail) from None
        raise


def _is_unique_violation(exc: IntegrityError) -> bool:
    # psycopg reports SQLSTATE 23505; sqlite3 says "UNIQUE constraint failed".
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(exc.orig)
