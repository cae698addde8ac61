"""The SCIM logs pages: an organization's request log, filtered, and one entry decrypted.

The filters travel in the query string under the names the JSON API uses (``status``,
``resource``, ``event``, ``since``, ``until``, ``target``), so other pages link here
with a filter set, and the list's filters and page ride along to an entry and back.
A filter the log cannot read answers 400 with the form and what to fix, never a 500.
"""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from scimgate.admin import operations
from scimgate.audit import queries
from scimgate.audit.events import Event, ResourceType
from scimgate.audit.redaction import REDACTED
from scimgate.errors import InvalidValueError
from scimgate.storage.models import Organization

from .pages import Show, Visit, org_url, page

PAGE_SIZE = 50
FILTERS = ("status", "resource", "event", "since", "until", "target")
STATUSES = ("2xx", "4xx", "5xx")
RESOURCES = tuple(kind.value for kind in ResourceType)
EVENTS = tuple(event.value for event in Event)
# A link written ``?since=2026-11-28T16:00:00+00:00`` reaches us with its "+" read
# as a space (HTML form encoding): the space after a time is the offset's sign.
_SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def routes() -> list[BaseRoute]:
    """This module's pages, relative to ``/admin``, each starting ``/orgs/{org}``."""
    return [
        Route("/orgs/{org}/logs", page(log_list), methods=["GET"]),
        Route("/orgs/{org}/logs/{entry}", page(log_entry), methods=["GET"]),
    ]


def log_list(visit: Visit, session: Session) -> Show:
    """One page of the organization's request log, newest first, narrowed by the filters."""
    org = visit.organization
    raw = _filters(visit.query)
    form = _form(raw)
    context: dict[str, Any] = {
        "tab": "logs",
        "form": form,
        "statuses": _choices(STATUSES, form["status"]),
        "resources": _choices(RESOURCES, form["resource"]),
        "events": _choices(EVENTS, form["event"]),
        "list_url": org_url(org, "logs"),
        "filtered": bool(raw),
    }
    try:
        wanted = queries.parse_filter(**raw)
        offset = _offset(visit.query.get("offset"))
        found = operations.list_logs(session, org.id, visit.ring, wanted, PAGE_SIZE, offset)
    except InvalidValueError as exc:
        return Show("logs.html", {**context, "error": exc.detail}, status=400)
    query = urlencode(raw)
    pager_url = org_url(org, "logs") + "?" + (f"{query}&" if query else "")
    kept = urlencode({**raw, **({"offset": str(offset)} if offset else {})})
    entries = [_row(org, entry, kept) for entry in found["entries"]]
    return Show(
        "logs.html",
        {**context, **found, "entries": entries, "pager_url": pager_url},
    )


def log_entry(visit: Visit, session: Session) -> Show:
    """One request log entry of the organization, decrypted; 404 for another's."""
    org = visit.organization
    entry = operations.show_log(session, org.id, visit.path["entry"], visit.ring)
    back = _filters(visit.query)
    offset = visit.query.get("offset", "")
    if offset.isdigit():
        back["offset"] = offset
    query = urlencode(back)
    return Show(
        "log_entry.html",
        {
            "tab": "logs",
            "entry": entry,
            "shown": _clock(entry["time"]),
            "took": _took(entry),
            "status_text": _status_text(entry["status"]),
            "query_lines": _query_lines(entry.get("query")),
            "request": _body(entry.get("request")),
            "response": _body(entry.get("response")),
            "back": org_url(org, "logs") + (f"?{query}" if query else ""),
        },
    )


def _filters(query: Mapping[str, str]) -> dict[str, str]:
    """The filters given (blank fields of a submitted form are no filter)."""
    found = {name: query.get(name, "").strip() for name in FILTERS}
    for name in ("since", "until"):
        found[name] = _SPACED_OFFSET.sub(r"\1+\2", found[name])
    return {name: value for name, value in found.items() if value}


def _form(raw: Mapping[str, str]) -> dict[str, str]:
    """The filters as the form shows them: known names spelled as listed, times in UTC."""
    return {
        "status": raw.get("status", ""),
        "resource": _spelled(
            raw.get("resource", ""), RESOURCES, {"users": "User", "groups": "Group"}
        ),
        "event": _spelled(raw.get("event", ""), EVENTS, {}),
        "since": _local_time(raw.get("since", "")),
        "until": _local_time(raw.get("until", "")),
        "target": raw.get("target", ""),
    }


def _spelled(text: str, known: tuple[str, ...], aliases: Mapping[str, str]) -> str:
    lowered = text.lower()
    return next((value for value in known if value.lower() == lowered), aliases.get(lowered, text))


def _local_time(text: str) -> str:
    """A time as a ``datetime-local`` input holds it, in UTC; unreadable text as given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    shape = (
        "%Y-%m-%dT%H:%M" if moment.second == 0 and not moment.microsecond else "%Y-%m-%dT%H:%M:%S"
    )
    return moment.strftime(shape)


def _choices(known: tuple[str, ...], current: str) -> list[str]:
    """A select's values; one typed in the query string (``404``) is kept as an option."""
    return [*known, current] if current and current not in known else list(known)


def _offset(text: str | None) -> int:
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidValueError(f"offset must be a whole number of entries, not {text!r}.")
    return int(text)


def _row(org: Organization, entry: Mapping[str, Any], kept: str) -> dict[str, Any]:
    """A table row: the entry, its time for reading, and its link keeping the filters."""
    url = org_url(org, "logs", str(entry["id"])) + (f"?{kept}" if kept else "")
    return {**entry, "shown": _clock(entry["time"]), "url": url, "took": _took(entry)}


def _took(entry: Mapping[str, Any]) -> str:
    """How long a request took, to the millisecond (a tenth below 10 ms)."""
    value = entry.get("duration_ms")
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _clock(iso: str) -> str:
    """An entry's time to the second, in UTC (the log stores UTC; SQLite drops the offset)."""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _query_lines(query: str | None) -> list[str]:
    """The URL query decoded, one ``name=value`` a line (filters read better unescaped)."""
    return [f"{name}={value}" for name, value in parse_qsl(query or "", keep_blank_values=True)]


def _body(part: Any) -> dict[str, Any] | None:
    """A request or response as the page shows it: headers, the body pretty-printed, notes."""
    if not isinstance(part, Mapping):
        return None
    content = part.get("body")
    if content is None or isinstance(content, str):
        text = content
    else:
        text = json.dumps(content, indent=2, ensure_ascii=False)
    headers = part.get("headers")
    return {
        "headers": headers if isinstance(headers, Mapping) else {},
        "text": text,
        "bytes": part.get("bytes"),
        "truncated": part.get("truncated") is True,
        "redacted": text is not None and REDACTED in text,
    }
