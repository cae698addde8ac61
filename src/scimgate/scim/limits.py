"""Bounds on what one request may ask of the server: body size and filter complexity.

Both are checked before any parsing, so a hostile request costs at most one pass over
a bounded number of bytes or characters.
"""

import re
from typing import Any

from starlette.requests import Request

from scimgate.config import Settings
from scimgate.errors import InvalidFilterError, PayloadTooLargeError

# RFC 7644 §3.4.2.2: the comparison operators, as whole words outside string values.
_COMPARISON = re.compile(
    r"(?<![\w.:$-])(?:eq|ne|co|sw|ew|gt|ge|lt|le|pr)(?![\w.:$-])", re.IGNORECASE
)
_OPENING, _CLOSING = "([", ")]"


async def read_body(request: Request, max_bytes: int) -> bytes:
    """Read the request body, refusing with 413 once it is over ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before reading; a chunked
    body is read only until it passes the limit, so no body is ever held whole beyond it.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > max_bytes:
            raise _too_large(max_bytes)
    return bytes(raw)


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The request body is larger than {max_bytes} bytes.")


def check_filter(text: str, settings: Settings, what: str = "filter") -> None:
    """Refuse a filter (or PATCH path) too long, too deeply nested or with too many
    comparisons, with 400 ``invalidFilter`` naming the limit.

    The parser checks the grammar afterwards; this pass only counts, so it accepts
    some texts the parser then refuses.
    """
    if len(text) > settings.max_filter_length:
        raise InvalidFilterError(
            f"The {what} is {len(text)} characters long; at most "
            f"{settings.max_filter_length} are accepted."
        )
    bare, depth = _outside_strings(text)
    if depth > settings.max_filter_depth:
        raise InvalidFilterError(
            f"The {what} nests parentheses, not (...) and value paths [...] {depth} levels "
            f"deep; at most {settings.max_filter_depth} are accepted."
        )
    comparisons = len(_COMPARISON.findall(bare))
    if comparisons > settings.max_filter_comparisons:
        raise InvalidFilterError(
            f"The {what} holds {comparisons} comparisons; at most "
            f"{settings.max_filter_comparisons} are accepted."
        )


def _outside_strings(text: str) -> tuple[str, int]:
    """Return ``text`` without its string values, and its deepest nesting.

    One pass: a quoted value may hold brackets, quotes (escaped) and operator names.
    """
    kept: list[str] = []
    depth = deepest = 0
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
                kept.append('""')
            continue
        if char == '"':
            quoted = True
            continue
        if char in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSING:
            depth -= 1
        kept.append(char)
    return "".join(kept), deepest


def check_patch_paths(body: dict[str, Any], settings: Settings) -> None:
    """Apply :func:`check_filter` to the ``path`` of each operation of a PatchOp body.

    A path may carry a value filter (``members[value eq "..."]``, RFC 7644 §3.5.2).
    """
    operations = _member(body, "operations")
    if not isinstance(operations, list):
        return
    for operation in operations:
        path = _member(operation, "path") if isinstance(operation, dict) else None
        if isinstance(path, str):
            check_filter(path, settings, "PATCH path")


def _member(body: dict[str, Any], lowered: str) -> Any:
    # RFC 7643 §2.1: attribute names are case-insensitive.
    return next((value for key, value in body.items() if key.lower() == lowered), None)
