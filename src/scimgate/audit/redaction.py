"""Removing passwords from request bodies before they are sealed into the log.

A SCIM client sends a password as an attribute (``"password": ...``, in any case, maybe
fully qualified), or as a PATCH operation whose path names it and whose ``value``
holds it (RFC 7644 §3.5.2). Bulk wraps both in ``data``; the walk is recursive.
"""

import re
from typing import Any

REDACTED = "[redacted]"
# For bodies that are not JSON (or cut at the size limit): "password": "..." pairs, and
# the "value" of an operation whose "path" names the password, in either order.
# Possessive quantifiers (``*+``) and no look-ahead keep every pattern linear: a
# backtracking string pattern took minutes over a hostile body of 100 kB, and the
# request log writer, which every request waits for, with it.
_STRING = r'"(?:[^"\\]|\\.)*+"?'
_PASSWORD_NAME = r'"(?:[^"\\:]*+:)*+password"'  # noqa: S105 (a pattern, not a secret)
_PASSWORD_PAIR = re.compile(rf"({_PASSWORD_NAME}\s*:\s*){_STRING}", flags=re.IGNORECASE)
_PASSWORD_PATH = re.compile(rf'"path"\s*:\s*{_PASSWORD_NAME}', flags=re.IGNORECASE)
_VALUE = re.compile(rf'("value"\s*:\s*){_STRING}', flags=re.IGNORECASE)
# An operation's members lie between two braces.
_OBJECT_PART = re.compile(r"[^{}]++")


def _is_password(name: Any) -> bool:
    # "urn:ietf:params:scim:schemas:core:2.0:User:password" is the same attribute.
    return isinstance(name, str) and name.rsplit(":", 1)[-1].strip().lower() == "password"


def redact(value: Any) -> Any:
    """A copy of a JSON value with every password value replaced by a marker."""
    if isinstance(value, list):
        return [redact(item) for item in value]
    if not isinstance(value, dict):
        return value
    path = next((item for key, item in value.items() if key.lower() == "path"), None)
    hides_value = _is_password(path)
    return {
        key: REDACTED
        if _is_password(key) or (hides_value and key.lower() == "value")
        else redact(item)
        for key, item in value.items()
    }


def redact_text(text: str) -> str:
    """Text with each ``"password": "..."`` pair's value replaced by a marker."""
    text = _PASSWORD_PAIR.sub(_marked, text)
    return _OBJECT_PART.sub(_operation_values, text)


def _marked(match: re.Match[str]) -> str:
    return f'{match.group(1)}"{REDACTED}"'


def _operation_values(part: re.Match[str]) -> str:
    """Redact every "value" of an object part whose "path" names the password."""
    text = part.group()
    return _VALUE.sub(_marked, text) if _PASSWORD_PATH.search(text) else text
