"""Reading SCIM requests: bodies and preconditions."""

import json
from typing import Any

from starlette.requests import Request

from scimgate.errors import (
    InvalidSyntaxError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

MAX_BODY_BYTES = 10 * 1024 * 1024

# RFC 7644 §3.1 names application/scim+json; every IdP we know also sends (or only
# sends) application/json, sometimes with a charset parameter.
_JSON_TYPES = ("application/scim+json", "application/json")


async def read_json(request: Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Read the request body as a JSON object, or raise the matching SCIM error."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type not in _JSON_TYPES:
        raise UnsupportedMediaTypeError(
            f"Content-Type {media_type!r} is not accepted; send application/scim+json."
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"The request body is larger than {max_bytes} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > max_bytes:
            raise PayloadTooLargeError(f"The request body is larger than {max_bytes} bytes.")
    if not raw.strip():
        raise InvalidSyntaxError("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidSyntaxError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The request body must be a JSON object.")
    return body


def without_foreign_keys(
    body: dict[str, Any], known_schemas: tuple[str, ...], read_only: tuple[str, ...]
) -> dict[str, Any]:
    """Drop read-only attributes and extensions this server does not define.

    RFC 7643 §3: the server ignores readOnly values a client sends (``id``, ``meta``).
    IdPs add their own extension schemas (a key and a ``schemas`` entry that is a
    URN); their attributes are ignored, not refused.
    """
    known = {urn.lower() for urn in known_schemas}
    ignored = {name.lower() for name in read_only}
    cleaned: dict[str, Any] = {}
    for key, value in body.items():
        lowered = key.lower()
        if lowered in ignored or (":" in key and lowered not in known):
            continue
        cleaned[key] = value
    schemas = body.get("schemas")
    if isinstance(schemas, list):
        cleaned["schemas"] = [
            urn for urn in schemas if isinstance(urn, str) and urn.lower() in known
        ]
    return cleaned


def if_match(request: Request) -> int | None:
    """Return the version an ``If-Match`` header requires, or None for none or ``*``.

    An ETag this server could not have issued requires a version no resource has, so
    the change is refused with 412 (RFC 7644 §3.14).
    """
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    return parse_etag(raw)


def parse_etag(raw: str) -> int:
    """Read a resource version from an ETag such as ``W/"3"``; -1 when it is not ours."""
    tag = raw.strip()
    tag = tag.removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() else -1


def none_match(request: Request, version: int) -> bool:
    """Tell whether ``If-None-Match`` names ``version``, or is ``*``: a GET answers 304.

    RFC 7232 §3.2: the header lists entity tags, compared weakly, so ``"3"`` and
    ``W/"3"`` both name version 3.
    """
    raw = request.headers.get("if-none-match")
    if raw is None:
        return False
    tags = [tag.strip() for tag in raw.split(",") if tag.strip()]
    return "*" in tags or any(parse_etag(tag) == version for tag in tags)
