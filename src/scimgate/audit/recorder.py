"""Writing log entries after the response, in their own transactions, never failing.

One writer thread per process builds (redacts, encrypts) and commits the entries: while
it writes, the entries of requests that finish meanwhile queue up, and it commits them
all in the next transaction. A busy server thus takes the database's write lock once
per group instead of once per request (on SQLite that lock is the whole database), and
saves a worker-thread hop per request; each request still waits until its own entry is
committed, so a graceful shutdown, which waits for requests in flight, loses none.

The organization is found from the token's hash, whether or not the token still
works, so a request refused with 401 (revoked or expired token) or 404 (the SSO gate)
is logged for the organization that issued the token. A request whose token matches
no organization has no log to go to: it is only counted.
"""

import asyncio
import contextlib
import logging
import queue
import threading
from dataclasses import dataclass

import anyio
from starlette.concurrency import run_in_threadpool

from scimgate.domain import tokens
from scimgate.storage.database import Database
from scimgate.storage.models import RequestLogEntry

from . import entries
from .exchange import Exchange
from .keys import KeyRing

logger = logging.getLogger("scimgate.audit")


@dataclass
class Counters:
    """What this process's request log did since it started."""

    written: int = 0
    """Entries written."""
    unattributed: int = 0
    """SCIM requests whose token (or lack of one) names no organization: not logged."""
    failed: int = 0
    """Entries lost because writing them failed (each failure is logged with its cause)."""


@dataclass
class _Job:
    """One exchange waiting for the writer, and how to tell its request it is done."""

    exchange: Exchange
    org_id: str
    loop: asyncio.AbstractEventLoop
    done: "asyncio.Future[None]"
    entry: RequestLogEntry | None = None


class Recorder:
    """Writes the entry of each captured exchange, counting what happened."""

    def __init__(
        self, db: Database, ring: KeyRing, prefixes: tuple[str, ...], max_body_bytes: int
    ) -> None:
        self.db = db
        self.ring = ring
        self.prefixes = prefixes
        self.max_body_bytes = max_body_bytes
        self.counters = Counters()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_started = threading.Lock()

    async def record(self, exchange: Exchange) -> None:
        """Write the exchange's entry; whatever goes wrong is logged and counted, not raised."""
        try:
            # Shielded: a client hanging up must not cost the entry of its request.
            with anyio.CancelScope(shield=True):
                written = await self._record(exchange)
        except Exception:
            self.counters.failed += 1
            logger.exception(
                "Could not write the request log entry of %s %s", exchange.method, exchange.path
            )
            return
        if written:
            self.counters.written += 1
        else:
            self.counters.unattributed += 1

    async def _record(self, exchange: Exchange) -> bool:
        org_id = exchange.org_id
        if org_id is None and exchange.authorization:
            # A refused request: find who issued the token, usable or not.
            org_id = await run_in_threadpool(self._owner, exchange.authorization)
        # The secret is not needed any more; the entry never holds it.
        exchange.authorization = None
        if org_id is None:
            return False
        loop = asyncio.get_running_loop()
        job = _Job(exchange, org_id, loop, loop.create_future())
        self._start_writer()
        self._jobs.put(job)
        await job.done
        return True

    def _owner(self, authorization: str) -> str | None:
        with self.db.transaction(write=False) as session:
            return tokens.owner_of(session, authorization)

    def _start_writer(self) -> None:
        # Started on first use, in the process that serves (uvicorn workers included).
        if self._writer is not None:
            return
        with self._writer_started:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_forever, name="scimgate-request-log", daemon=True
                )
                self._writer.start()

    def _write_forever(self) -> None:
        while True:
            group = [self._jobs.get()]
            while not self._jobs.empty():
                group.append(self._jobs.get_nowait())
            self._write_group(group)

    def _write_group(self, group: list[_Job]) -> None:
        """Commit the group's entries together; if that fails, each alone."""
        errors: dict[int, BaseException] = {}
        for index, job in enumerate(group):
            try:
                job.entry = entries.build(job.exchange, job.org_id, self.ring, self.prefixes)
            except Exception as error:
                errors[index] = error
        built = [(index, job) for index, job in enumerate(group) if index not in errors]
        try:
            with self.db.transaction(write=True) as session:
                session.add_all(job.entry for _, job in built if job.entry is not None)
        except Exception as error:
            if len(built) == 1:
                errors[built[0][0]] = error
            else:
                # One bad entry must not cost the others theirs.
                for index, job in built:
                    try:
                        with self.db.transaction(write=True) as session:
                            session.add(job.entry)
                    except Exception as alone:
                        errors[index] = alone
        for index, job in enumerate(group):
            _settle(job, errors.get(index))


def _settle(job: _Job, error: BaseException | None) -> None:
    """Wake the request waiting for ``job``, on its own event loop."""

    def settle() -> None:
        if job.done.done():
            return
        if error is None:
            job.done.set_result(None)
        else:
            job.done.set_exception(error)

    # A closed loop (a test client's portal) has nobody waiting any more.
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(settle)
