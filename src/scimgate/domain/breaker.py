"""The mass-deprovisioning breaker: a mis-scoped IdP assignment must not offboard a company.

A *deprovisioning* is any change that turns an active member inactive or deletes an
active member, whichever SCIM request (or Bulk operation) asks for it. ``users`` calls
:func:`admit` for each one inside the request's transaction, before anything is
written. Within a sliding window of ``window_seconds`` an organization may deprovision

    allowed = max(min_people, floor(share * base))

members, where ``base`` is the organization's size before the deprovisioning began:
its members active now plus the members deprovisioned within the window who are not
active now. The deprovisioning that would make the count (distinct members
deprovisioned within the window, this one included) exceed ``allowed`` is held: it
raises :class:`DeprovisioningHeldError` (503 with ``Retry-After``) and the request
writes nothing. So is every further one, until the window has moved past enough of
the counted ones or an administrator approves (:func:`approve`): deprovisioning then
passes freely until the approval ends, and counting starts again from zero after it.

Two workers deprovisioning at once are counted one after the other: :func:`admit`
locks the organization's breaker row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
serializes writers) before counting, and records the event in the same transaction.
"""

import logging
import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, distinct, exists, func, select, update
from sqlalchemy.orm import Session

from scimgate.config import Settings
from scimgate.errors import InvalidValueError, ServiceUnavailableError
from scimgate.storage.models import (
    DeprovisioningBreaker,
    DeprovisioningEvent,
    Organization,
    User,
    utcnow,
)
from scimgate.storage.statements import insert_ignoring_conflicts

from . import persons

logger = logging.getLogger("scimgate.breaker")

# An IdP that honours Retry-After comes back within this, so that an administrator's
# approval takes effect soon, even when the window frees a place only much later.
MAX_RETRY_AFTER_SECONDS = 300
# Longest window or approval: long enough for any offboarding, small enough that
# adding it to a timestamp never overflows.
MAX_SECONDS = 366 * 24 * 3600

_BREAKER = DeprovisioningBreaker
_EVENT = DeprovisioningEvent


def now() -> datetime:
    """The breaker's clock (tests move it to let a window pass)."""
    return utcnow()


@dataclass(frozen=True)
class Limits:
    """How much deprovisioning an organization may see within one window."""

    share: float
    """Share of the base that may be deprovisioned per window; 0 or 1 is off."""
    min_people: int
    """Deprovisionings per window that always pass, whatever the share."""
    window_seconds: int
    """Length of the sliding window."""

    @property
    def enabled(self) -> bool:
        """Whether the breaker holds anything (a share of 1 could never be exceeded)."""
        return 0 < self.share < 1

    @property
    def window(self) -> timedelta:
        """The window's length as a duration."""
        return timedelta(seconds=self.window_seconds)

    def allowed(self, base: int) -> int:
        """The most members that may be deprovisioned within a window, out of ``base``."""
        # Rounded first: 0.29 * 100 is 28.999999999999996 in binary floating point.
        return max(self.min_people, math.floor(round(self.share * base, 6)))

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        """The server-wide defaults, from ``SCIMGATE_BREAKER_*``."""
        return cls(
            share=settings.breaker_share,
            min_people=settings.breaker_min_people,
            window_seconds=settings.breaker_window_seconds,
        )


DEFAULT_LIMITS = Limits(
    share=Settings.model_fields["breaker_share"].default,
    min_people=Settings.model_fields["breaker_min_people"].default,
    window_seconds=Settings.model_fields["breaker_window_seconds"].default,
)
"""The server-wide defaults when no ``SCIMGATE_BREAKER_*`` variable is set."""

_FIELDS = ("share", "min_people", "window_seconds")


def limits_of(row: DeprovisioningBreaker | None, defaults: Limits) -> Limits:
    """The organization's own limits where it has some, the server's elsewhere."""
    if row is None:
        return defaults
    return Limits(
        share=defaults.share if row.share is None else row.share,
        min_people=defaults.min_people if row.min_people is None else row.min_people,
        window_seconds=defaults.window_seconds
        if row.window_seconds is None
        else row.window_seconds,
    )


@dataclass(frozen=True)
class Tally:
    """What the breaker counts for one organization at one moment."""

    deprovisioned: int
    """Distinct members deprovisioned within the counted window."""
    active: int
    """Members active now."""
    base: int
    """Active members plus those deprovisioned within the window and not active now."""
    oldest: datetime | None
    """When the oldest counted deprovisioning happened."""


class DeprovisioningHeldError(ServiceUnavailableError):
    """A deprovisioning was held: it would take the organization past its breaker limit."""

    def __init__(self, org_id: str, summary: str, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.org_id = org_id
        self.summary = summary
        """One sentence of what was counted, for the request log."""


def admit(session: Session, org: Organization, user_id: str, defaults: Limits) -> None:
    """Count the deprovisioning of active member ``user_id``, or hold it.

    Raises :class:`DeprovisioningHeldError` when it would take the organization past its
    limit and no approval is in force; otherwise records it in the caller's transaction.
    """
    row = _locked(session, org)
    limits = limits_of(row, defaults)
    if not limits.enabled:
        return
    at = now()
    approved = row.approved_until is not None and row.approved_until > at
    if not approved:
        _check(session, org, row, limits, at, user_id)
        if row.tripped_at is not None:
            # Closed again: the window has moved on since a request was held.
            row.tripped_at, row.held_requests = None, 0
    session.add(_EVENT(org_id=org.id, user_id=user_id, occurred_at=at))
    # Only the current window is ever counted.
    session.execute(
        delete(_EVENT).where(_EVENT.org_id == org.id, _EVENT.occurred_at < at - limits.window)
    )


def _check(
    session: Session,
    org: Organization,
    row: DeprovisioningBreaker,
    limits: Limits,
    at: datetime,
    user_id: str,
) -> None:
    start = _window_start(row, limits, at)
    counted = _in_window(org, start)
    deprovisioned = session.scalar(select(func.count(distinct(_EVENT.user_id))).where(counted))
    again = session.scalar(select(exists().where(counted, _EVENT.user_id == user_id)))
    after = (deprovisioned or 0) + (0 if again else 1)
    if after <= limits.min_people:
        return  # the minimum always passes, whatever the organization's size
    tally = _tally(session, org, start)
    if after > limits.allowed(tally.base):
        raise _held(org, limits, tally, after, at)


def _held(
    org: Organization, limits: Limits, tally: Tally, after: int, at: datetime
) -> DeprovisioningHeldError:
    summary = (
        f"this request would make {after} of {tally.base} active members "
        f"({after / tally.base:.0%}) deactivated or deleted {window_phrase(limits)}, above this "
        f"organization's limit of {limits.share * 100:g}% ({limits.allowed(tally.base)} people)"
    )
    detail = (
        f"Deprovisioning paused by the mass-deprovisioning breaker: {summary}. Nothing was "
        f"changed. An administrator can approve with `scimgate breaker approve "
        f"{shlex.quote(org.name)}`; otherwise deprovisioning resumes as the window moves on."
    )
    frees = (tally.oldest or at) + limits.window - at
    retry_after = min(MAX_RETRY_AFTER_SECONDS, math.ceil(frees.total_seconds()))
    return DeprovisioningHeldError(org.id, summary, detail, retry_after=retry_after)


def window_phrase(limits: Limits) -> str:
    """The phrase "within the last hour", or however long the window is."""
    seconds = limits.window_seconds
    if seconds == 3600:
        return "within the last hour"
    if seconds % 3600 == 0:
        return f"within the last {seconds // 3600} hours"
    if seconds % 60 == 0:
        return f"within the last {seconds // 60} minutes"
    return f"within the last {seconds} seconds"


def _window_start(row: DeprovisioningBreaker | None, limits: Limits, at: datetime) -> datetime:
    start = at - limits.window
    if row is not None and row.counted_since is not None and row.counted_since > start:
        return row.counted_since
    return start


def _in_window(org: Organization, start: datetime) -> ColumnElement[bool]:
    return and_(_EVENT.org_id == org.id, _EVENT.occurred_at >= start)


def _tally(session: Session, org: Organization, start: datetime) -> Tally:
    counted = _in_window(org, start)
    is_active = User.active.is_not(False)
    active = session.scalar(
        select(func.count()).select_from(User).where(User.org_id == org.id, is_active)
    )
    deprovisioned, oldest = session.execute(
        select(func.count(distinct(_EVENT.user_id)), func.min(_EVENT.occurred_at)).where(counted)
    ).one()
    # Deprovisioned and re-activated members are active now, and counted once.
    gone = session.scalar(
        select(func.count(distinct(_EVENT.user_id))).where(
            counted, ~exists().where(User.id == _EVENT.user_id, is_active)
        )
    )
    return Tally(
        deprovisioned=deprovisioned or 0,
        active=active or 0,
        base=(active or 0) + (gone or 0),
        oldest=oldest,
    )


def _locked(session: Session, org: Organization) -> DeprovisioningBreaker:
    """The organization's breaker row, created if missing, locked until the transaction ends."""
    statement = select(_BREAKER).where(_BREAKER.org_id == org.id).with_for_update()
    row = session.scalars(statement).first()
    if row is None:
        # ON CONFLICT: two workers may create it at once; both then lock the same row.
        session.execute(
            insert_ignoring_conflicts(session, _BREAKER).values(org_id=org.id, held_requests=0)
        )
        row = session.scalars(statement).one()
    return row


def record_trip(session: Session, held: DeprovisioningHeldError) -> None:
    """Note a held request, in its own transaction since the held one rolled back.

    The first one held since the breaker last let a deprovisioning through trips it:
    that is a warning on the request's log entry and in the server log.
    """
    # The row may have been created by the held request itself, and rolled back with it.
    session.execute(
        insert_ignoring_conflicts(session, _BREAKER).values(org_id=held.org_id, held_requests=0)
    )
    tripped = session.execute(
        update(_BREAKER)
        .where(_BREAKER.org_id == held.org_id, _BREAKER.tripped_at.is_(None))
        .values(tripped_at=now(), held_requests=1)
    )
    if tripped.rowcount:  # type: ignore[attr-defined]
        warning = f"Mass-deprovisioning breaker tripped: {held.summary}."
        logger.warning("org %s: %s", held.org_id, warning)
        session.info.setdefault(persons.WARNINGS, []).append(warning)
        return
    session.execute(
        update(_BREAKER)
        .where(_BREAKER.org_id == held.org_id)
        .values(held_requests=_BREAKER.held_requests + 1)
    )


@dataclass(frozen=True)
class Status:
    """An organization's breaker as an administrator sees it."""

    state: str
    """off, closed, tripped or approved."""
    limits: Limits
    overrides: Mapping[str, float | int | None]
    """The organization's own limits; None where it follows the server's."""
    tally: Tally
    allowed: int
    """The most members that may be deprovisioned within the window now."""
    tripped_at: datetime | None
    held_requests: int
    approved_until: datetime | None
    frees_at: datetime | None
    """When the oldest counted deprovisioning leaves the window."""


def status(session: Session, org: Organization, defaults: Limits) -> Status:
    """The organization's breaker: limits, counts and state, as of now."""
    row = session.get(_BREAKER, org.id)
    limits = limits_of(row, defaults)
    at = now()
    tally = _tally(session, org, _window_start(row, limits, at))
    allowed = limits.allowed(tally.base)
    approved_until = row.approved_until if row is not None else None
    tripped_at = row.tripped_at if row is not None else None
    if not limits.enabled:
        state = "off"
    elif approved_until is not None and approved_until > at:
        state = "approved"
    elif tripped_at is not None and tally.deprovisioned + 1 > allowed:
        # Still tripped while the next deprovisioning would be held too.
        state = "tripped"
    else:
        state = "closed"
    return Status(
        state=state,
        limits=limits,
        overrides={name: getattr(row, name, None) for name in _FIELDS},
        tally=tally,
        allowed=allowed,
        tripped_at=tripped_at if state == "tripped" else None,
        held_requests=row.held_requests if row is not None and state == "tripped" else 0,
        approved_until=approved_until if state == "approved" else None,
        frees_at=tally.oldest + limits.window if tally.oldest is not None else None,
    )


def approve(
    session: Session, org: Organization, defaults: Limits, seconds: int | None = None
) -> Status:
    """Let every deprovisioning through for ``seconds`` (one window by default).

    The count starts again from zero when the approval ends, so what was approved never
    counts against the organization later.
    """
    row = _locked(session, org)
    limits = limits_of(row, defaults)
    length = limits.window_seconds if seconds is None else seconds
    if not 1 <= length <= MAX_SECONDS:
        raise InvalidValueError(f"An approval lasts 1 to {MAX_SECONDS} seconds, not {length}.")
    until = now() + timedelta(seconds=length)
    row.approved_until = row.counted_since = until
    row.tripped_at, row.held_requests = None, 0
    session.flush()
    logger.warning("org %s: mass deprovisioning approved until %s", org.id, until.isoformat())
    return status(session, org, defaults)


def configure(
    session: Session,
    org: Organization,
    defaults: Limits,
    changes: Mapping[str, float | int | None],
) -> Status:
    """Set the organization's own limits; None puts one back to the server's default."""
    unknown = sorted(set(changes) - set(_FIELDS))
    if unknown:
        raise InvalidValueError(f"Unknown breaker settings {unknown}; known: {list(_FIELDS)}.")
    for name, value in changes.items():
        _check_setting(name, value)
    row = _locked(session, org)
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    return status(session, org, defaults)


def _check_setting(name: str, value: float | int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError(f"{name} must be a number.")
    if name == "share" and not 0 <= value <= 1:
        raise InvalidValueError("share must be from 0 to 1 (0 or 1 turns the breaker off).")
    if name != "share" and not isinstance(value, int):
        raise InvalidValueError(f"{name} must be a whole number.")
    if name == "min_people" and not 0 <= value <= 1_000_000_000:
        raise InvalidValueError("min_people must be from 0 to 1000000000.")
    if name == "window_seconds" and not 1 <= value <= MAX_SECONDS:
        raise InvalidValueError(f"window_seconds must be from 1 to {MAX_SECONDS}.")
