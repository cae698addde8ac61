"""The per-organization rate limit: one token bucket per organization, in this process.

Each SCIM request of an organization takes a token from its bucket once its bearer
token is accepted, so unauthenticated requests never count against anyone. Tokens
come back at ``rate`` per second up to ``burst``; an empty bucket answers 429 with the
seconds until the next token (RFC 6585 §4). Buckets live in the server process: with
``--workers N`` an organization may send up to N times the rate in all.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from scimgate.errors import TooManyRequestsError

# Set on the request once it has been admitted. A /Bulk request's operations are sent
# through the application again with a copy of its state: they are part of a request
# already counted.
_ADMITTED = "scim_rate_admitted"


@dataclass
class _Bucket:
    """One organization's tokens, as of ``updated``."""

    tokens: float
    updated: float
    """The clock's reading when ``tokens`` was last brought up to date."""


class Throttle:
    """Token buckets by key (an organization id, a client address); ``rate`` 0 admits all."""

    MAX_KEYS = 10_000
    """Past this many buckets, full ones are dropped: a full bucket is what a new one
    would be, so forgetting it changes nothing, and many client addresses cannot grow
    the table without bound."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        """Seconds on a monotonic scale; tests replace it to move time on."""
        self._buckets: dict[str, _Bucket] = {}

    def take(self, org_id: str) -> float:
        """Take a token for ``org_id``; return 0, or the seconds until one is available.

        Called on the event loop only, so the read-modify-write needs no lock.
        """
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        if len(self._buckets) >= self.MAX_KEYS:
            self._forget_full(now)
        bucket = self._buckets.get(org_id)
        if bucket is None:
            bucket = self._buckets[org_id] = _Bucket(tokens=float(self.burst), updated=now)
        refilled = bucket.tokens + (now - bucket.updated) * self.rate
        bucket.tokens, bucket.updated = min(float(self.burst), refilled), now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]

    def admit(self, request: Request, org_name: str, org_id: str) -> None:
        """Count ``request`` against its organization, or raise TooManyRequestsError."""
        if getattr(request.state, _ADMITTED, False):
            return
        wait = self.take(org_id)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequestsError(
                f"Organization {org_name!r} is over its rate limit of {self.rate:g} "
                f"requests/s (bursts of up to {self.burst}); retry in {seconds} s.",
                retry_after=seconds,
            )
        setattr(request.state, _ADMITTED, True)
