"""The load generator: run one operation from many tasks for a while, measure each call.

An operation is an async callable sending one request or one IdP flow; it raises
``OperationError`` (or an httpx error, or ValueError for a body that is not JSON) when
the server did not answer as expected. Those count as errors of the run.
"""

import asyncio
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

Operation = Callable[[int], Awaitable[None]]
"""One operation; its argument is the sequence number of the call, unique in a run."""


class OperationError(Exception):
    """The server's answer was not the one the operation expects."""


def expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    """Return the response when its status is one of ``statuses``; raise otherwise."""
    if response.status_code not in statuses:
        raise OperationError(f"{response.status_code}: {response.text[:200]}")
    return response


@dataclass
class Measurement:
    """The latencies and errors of one run, and the CPU both sides spent on it."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    server_cpu: float | None = None
    client_cpu: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    """The HTTP status of every response of the run, counted."""
    key: str = ""
    """What pairs this run with the same workload on another server; the name if empty."""

    @property
    def workload(self) -> str:
        """The pairing key: ``key``, or the name."""
        return self.key or self.name

    @property
    def ops(self) -> int:
        """Operations that succeeded."""
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Successful operations per second of wall time."""
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency in seconds below which ``fraction`` of the successful calls fell."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def cpu_per_op(self, seconds: float | None) -> float | None:
        """CPU seconds per operation (successful or not)."""
        calls = self.ops + self.errors
        return None if seconds is None or not calls else seconds / calls


class Tally:
    """Counts the status of every response a client receives (an httpx response hook).

    A run reports them, so that an answer the workload accepts in more than one form
    (a PATCH answered 200 or 204) shows which one the server gave.
    """

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()

    async def __call__(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1


def answers(statuses: Counter[int]) -> str:
    """E.g. ``200: 593, 204: 12``."""
    return ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    name: str,
    operation: Operation,
    *,
    concurrency: int,
    duration: float,
    limit: int | None = None,
    server_cpu: Callable[[], float] | None = None,
    tally: Tally | None = None,
) -> Measurement:
    """Call ``operation`` from ``concurrency`` tasks for ``duration`` s or ``limit`` calls."""
    result = Measurement(name)
    counter = iter(range(limit if limit is not None else 1 << 62))
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < deadline:
            number = next(counter, None)
            if number is None:
                return
            start = time.perf_counter()
            try:
                await operation(number)
            # ValueError: a body that is not JSON; an error of the server under test too.
            except (OperationError, httpx.HTTPError, ValueError) as exc:
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                continue
            result.latencies.append(time.perf_counter() - start)

    if tally is not None:
        tally.statuses.clear()
    cpu_before = server_cpu() if server_cpu else None
    client_before = _client_cpu()
    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - began
    result.client_cpu = _client_cpu() - client_before
    if server_cpu is not None and cpu_before is not None:
        result.server_cpu = server_cpu() - cpu_before
    if tally is not None:
        result.statuses = Counter(tally.statuses)
    return result
