"""Opaque, tamper-evident pagination cursors (RFC 9865 §2).

A cursor carries the sort position of the last resource of a page, the query it
belongs to and when it was issued, signed with HMAC-SHA256 under a key the server
keeps in its database. It is spelled in base64url and ".", which are all unreserved
URI characters as RFC 9865 §2 requires.
"""

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

from scimgate.errors import ExpiredCursorError, InvalidCursorError

_SIGNATURE_BYTES = 16


def now() -> float:
    """The current time in seconds; the clock cursors are issued and checked against."""
    return time.time()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(*parts: str | None) -> str:
    """A short digest of what a query asks, so a cursor only resumes that query."""
    joined = "\x1f".join(part or "" for part in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def encode(key: bytes, position: tuple[Any, ...], query: str) -> str:
    """Build the cursor that resumes ``query`` after ``position``."""
    values = [_tag(value) for value in position]
    payload = json.dumps({"p": values, "q": query, "t": int(now())}, separators=(",", ":"))
    body = _b64(payload.encode())
    return f"{body}.{_b64(_sign(key, body))}"


def decode(key: bytes, cursor: str, query: str, timeout_seconds: int) -> tuple[Any, ...]:
    """Return the position a cursor names, or refuse it (400 invalidCursor/expiredCursor)."""
    body, _, signature = cursor.partition(".")
    try:
        valid = hmac.compare_digest(_unb64(signature), _sign(key, body))
        payload = json.loads(_unb64(body)) if valid else None
    except (ValueError, TypeError):
        payload = None
    if not isinstance(payload, dict) or payload.get("q") != query:
        raise InvalidCursorError(
            "The cursor was not issued by this server for this query; "
            "start again with an empty cursor."
        )
    if now() - float(payload.get("t", 0)) > timeout_seconds:
        raise ExpiredCursorError(
            f"The cursor is older than {timeout_seconds} seconds; start again with an empty cursor."
        )
    return tuple(_untag(value) for value in payload["p"])


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _tag(value: Any) -> list[Any]:
    # JSON has no timestamp type; tag them so they come back as datetimes.
    if isinstance(value, datetime):
        return ["d", value.isoformat()]
    return ["v", value]


def _untag(tagged: list[Any]) -> Any:
    kind, value = tagged
    return datetime.fromisoformat(value) if kind == "d" else value
