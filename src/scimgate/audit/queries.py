"""Finding request log entries: the viewer's filters, newest first.

Every filter is on a column stored in the clear and indexed with the organization,
so finding entries never decrypts anything; only the page shown is decrypted.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scimgate.errors import InvalidValueError, NotFoundError
from scimgate.storage.models import RequestLogEntry

from .events import Event, ResourceType

_STATUS = re.compile(r"([1-5])(xx|[0-9][0-9])", flags=re.IGNORECASE)
_ID = re.compile(r"[0-9]{1,18}")
_RESOURCES = {
    **{kind.value.lower(): kind.value for kind in ResourceType},
    "users": ResourceType.USER.value,
    "groups": ResourceType.GROUP.value,
}
# Ids are at most 64 characters; past this an offset is a mistake.
_MAX_TARGET, _MAX_OFFSET = 64, 1_000_000_000


@dataclass(frozen=True)
class LogFilter:
    """Which entries to show; None means any."""

    status: tuple[int, int] | None = None
    """Lowest and highest status wanted: (400, 499) for ``4xx``, (404, 404) for ``404``."""
    resource_type: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    target_id: str | None = None
    """The user or group affected."""


def _status(text: str) -> tuple[int, int]:
    match = _STATUS.fullmatch(text.strip())
    if match is None:
        raise InvalidValueError(
            f"status must be a class such as 4xx or a code such as 404, not {text!r}."
        )
    if match.group(2).lower() == "xx":
        low = int(match.group(1)) * 100
        return low, low + 99
    code = int(text.strip())
    return code, code


def _moment(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValueError(
            f"{name} must be an ISO 8601 date or time, such as 2024-05-01T12:00:00Z."
        ) from None
    # A time without an offset is UTC, as every time the log shows.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _choice(name: str, text: str, known: dict[str, str]) -> str:
    value = known.get(text.strip().lower())
    if value is None:
        raise InvalidValueError(f"{name} must be one of {', '.join(sorted(set(known.values())))}.")
    return value


def parse_filter(
    *,
    status: str | None = None,
    resource: str | None = None,
    event: str | None = None,
    since: str | None = None,
    until: str | None = None,
    target: str | None = None,
) -> LogFilter:
    """Read the viewer's filters as an operator or an API client types them."""
    if target is not None and (len(target) > _MAX_TARGET or "\x00" in target):
        raise InvalidValueError(
            f"target must be a user or group id of at most {_MAX_TARGET} characters."
        )
    return LogFilter(
        status=_status(status) if status else None,
        resource_type=_choice("resource", resource, _RESOURCES) if resource else None,
        event=_choice("event", event, {e.value: e.value for e in Event}) if event else None,
        since=_moment("since", since) if since else None,
        until=_moment("until", until) if until else None,
        target_id=target or None,
    )


def _conditions(org_id: str, wanted: LogFilter) -> list[ColumnElement[bool]]:
    entry = RequestLogEntry
    found: list[ColumnElement[bool]] = [entry.org_id == org_id]
    if wanted.status:
        found.append(entry.status.between(*wanted.status))
    if wanted.resource_type:
        found.append(entry.resource_type == wanted.resource_type)
    if wanted.event:
        found.append(entry.event == wanted.event)
    if wanted.since:
        found.append(entry.created_at >= wanted.since)
    if wanted.until:
        found.append(entry.created_at < wanted.until)
    if wanted.target_id:
        found.append(entry.target_id == wanted.target_id)
    return found


def search(
    session: Session, org_id: str, wanted: LogFilter, limit: int, offset: int
) -> tuple[int, list[RequestLogEntry]]:
    """The number of matching entries, and one page of them, newest first."""
    if limit < 1 or not 0 <= offset <= _MAX_OFFSET:
        raise InvalidValueError(f"limit must be at least 1 and offset 0 to {_MAX_OFFSET}.")
    conditions = _conditions(org_id, wanted)
    total = session.scalar(select(func.count()).select_from(RequestLogEntry).where(*conditions))
    rows = session.scalars(
        select(RequestLogEntry)
        .where(*conditions)
        .order_by(RequestLogEntry.created_at.desc(), RequestLogEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return total or 0, list(rows)


def get(session: Session, entry_id: str | int, org_id: str | None = None) -> RequestLogEntry:
    """One entry by id, within ``org_id`` when given; NotFoundError otherwise."""
    entry = None
    if _ID.fullmatch(str(entry_id)):
        entry = session.get(RequestLogEntry, int(entry_id))
    if entry is None or (org_id is not None and entry.org_id != org_id):
        raise NotFoundError(
            f"No request log entry {entry_id!r}" + (" in this organization." if org_id else ".")
        )
    return entry


@dataclass(frozen=True)
class Tally:
    """An organization's request counts since a moment, and its latest failed request."""

    total: int
    client_errors: int
    """Requests answered 4xx."""
    server_errors: int
    """Requests answered 5xx."""
    last_error: RequestLogEntry | None
    """The newest entry with a status of 400 or more, however old."""


def tally(session: Session, org_id: str, since: datetime) -> Tally:
    """Count the organization's requests since ``since`` by status class, reading no payload."""
    entry = RequestLogEntry
    # Clear-text columns only, each statement served by an index led by org_id
    # (org_time, org_status): nothing is decrypted to count, and only the one last
    # error is loaded whole.
    total, client, server = session.execute(
        select(
            func.count(),
            func.count().filter(entry.status.between(400, 499)),
            func.count().filter(entry.status >= 500),
        ).where(entry.org_id == org_id, entry.created_at >= since)
    ).one()
    last = session.scalars(
        select(entry)
        .where(entry.org_id == org_id, entry.status >= 400)
        .order_by(entry.created_at.desc(), entry.id.desc())
        .limit(1)
    ).first()
    return Tally(total or 0, client or 0, server or 0, last)
