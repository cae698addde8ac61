"""Turning a recorded exchange into a sealed log entry, and opening one again."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from scimgate.errors import InvalidSyntaxError, ScimError
from scimgate.scim import providers
from scimgate.scim.requests import decode_json
from scimgate.storage.models import RequestLogEntry

from . import cipher, redaction
from .events import Event, classify
from .exchange import Body, Exchange
from .keys import KeyRing
from .summaries import summarize


def _below_base(path: str, prefixes: tuple[str, ...]) -> str:
    """The part of ``path`` below the SCIM base URL it was sent to."""
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def _parsed(body: Body) -> Any:
    """The body as JSON when it is whole JSON, else None.

    Read as the SCIM layer reads it: a body it refuses (too deep for the recursive
    redaction walk, or holding text UTF-8 cannot carry) is kept as text instead.
    """
    if body.truncated or not body.data.strip():
        return None
    try:
        return decode_json(body.data)
    except InvalidSyntaxError:
        return None


def _kept(body: Body, parsed: Any, headers: dict[str, str]) -> dict[str, Any]:
    """What the payload keeps of a body: passwords redacted, JSON when it was JSON."""
    if parsed is not None:
        # A body that never spells "password" has nothing to redact: the walk costs
        # more than the rest of the entry for a large list response (RFC 7643 §7
        # never returns passwords, and IdPs send them only in user writes).
        content: Any = redaction.redact(parsed) if _mentions_password(body.data) else parsed
    elif body.data:
        content = redaction.redact_text(body.data.decode("utf-8", errors="replace"))
    else:
        content = None
    return {"headers": headers, "body": content, "bytes": body.size, "truncated": body.truncated}


def _mentions_password(data: bytes | bytearray) -> bool:
    # JSON may escape letters ("\u0070assword"), so an escaped body is always walked.
    return b"\\u" in data or b"password" in data.lower()


def build(
    exchange: Exchange, org_id: str, ring: KeyRing, prefixes: tuple[str, ...]
) -> RequestLogEntry:
    """A sealed entry for ``exchange`` in the organization ``org_id``."""
    below = _below_base(exchange.path, prefixes)
    kind = classify(exchange.method, below)
    request, response = _parsed(exchange.request), _parsed(exchange.response)
    status = exchange.status or 500
    target = kind.target_id
    if target is None and kind.event is Event.CREATE and status == 201:
        created = response.get("id") if isinstance(response, dict) else None
        target = created if isinstance(created, str) and len(created) <= 64 else None
    query = dict(parse_qsl(exchange.query, keep_blank_values=True))
    payload = {
        "summary": summarize(
            kind, exchange.method, below, query, request, response, exchange.target_name
        ),
        "query": exchange.query,
        "warnings": exchange.warnings,
        "request": _kept(exchange.request, request, exchange.request_headers),
        "response": _kept(exchange.response, response, exchange.response_headers),
    }
    sealed = cipher.seal(ring, org_id, payload)
    return RequestLogEntry(
        org_id=org_id,
        created_at=exchange.started_at,
        method=exchange.method[:10],
        # PostgreSQL text cannot hold NUL, which a path can carry (%00): kept as sent.
        path=exchange.path.replace("\x00", "%00")[:2000],
        status=status,
        duration_ms=exchange.duration_ms,
        # Plain strings: psycopg would store an Enum member by its name.
        resource_type=kind.resource_type.value if kind.resource_type else None,
        event=kind.event.value,
        target_id=target,
        user_agent=exchange.user_agent.replace("\x00", "")[:300] if exchange.user_agent else None,
        idp=providers.detect(exchange.user_agent, exchange.query)[0],
        key_id=sealed.key_id,
        nonce=sealed.nonce,
        payload=sealed.ciphertext,
    )


@dataclass(frozen=True)
class Opened:
    """An entry's decrypted payload, or why it could not be decrypted."""

    payload: dict[str, Any] | None
    problem: str | None = None


def open_entry(ring: KeyRing, entry: RequestLogEntry) -> Opened:
    """Decrypt an entry's payload; a missing or wrong key is reported, not raised."""
    sealed = cipher.Sealed(key_id=entry.key_id, nonce=entry.nonce, ciphertext=entry.payload)
    try:
        return Opened(cipher.unseal(ring, entry.org_id, sealed))
    except ScimError as exc:
        return Opened(None, exc.detail)
