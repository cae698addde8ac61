"""The database handle: engine, sessions and schema migrations.

SQLite is the embedded default and PostgreSQL the production backend; both run the
same models and the same Alembic migrations.
"""

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from scimgate.errors import ServiceUnavailableError

MIGRATIONS = Path(__file__).parent / "migrations"

# Set on a session's connection to ask SQLite for the write lock up front.
_WRITE_OPTION = "scimgate_write"
_CONNECT_TIMEOUT_S = 10
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_BUSY = "The database is busy; retry shortly."
_UNREACHABLE = "The database cannot be reached right now; retry shortly."
# How many SQLite virtual machine steps run between two looks at the clock (tens of
# microseconds of work): often enough to stop on time, rarely enough to cost nothing.
_PROGRESS_STEPS = 1000
_SQLITE_INTERRUPT = 9
_QUERY_CANCELED = "57014"


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Give every SQLite connection WAL, foreign keys and explicit transactions.

    pysqlite's own transaction handling opens transactions lazily and never for
    SELECT; we take it over so that a writer says ``BEGIN IMMEDIATE`` and waits for
    the lock (busy_timeout) instead of failing on a lock upgrade halfway through.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # LIKE must be case-sensitive as on PostgreSQL; case-insensitive filters
        # compare lower-cased values explicitly (RFC 7643 §2.2 caseExact).
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()
        # SQLite's own lower() folds ASCII letters only, so "ÉMILE" stayed "Émile" while
        # the filter value, lower-cased in Python, was "émile": a case-insensitive filter
        # missed its own value. Python's lower() is Unicode's, like PostgreSQL's.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@dataclass
class _Deadline:
    """When the current transaction of one SQLite connection must stop."""

    at: float = math.inf


def _bound_sqlite(engine: Engine, seconds: float) -> None:
    """Stop SQLite statements once their transaction has run ``seconds``.

    SQLite has no statement timeout. A progress handler returning true aborts the
    running statement (``interrupted``); it is armed when a transaction has begun, after
    any wait for the write lock. Reads run on the event loop (``scim.tenancy``), where
    nothing else could interrupt them.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info["scimgate_deadline"] = _Deadline()
        dbapi_connection.set_progress_handler(
            lambda: time.monotonic() > deadline.at, _PROGRESS_STEPS
        )

    # Registered after _configure_sqlite's listener, so it runs once BEGIN has returned.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.info["scimgate_deadline"].at = time.monotonic() + seconds


def _bound_postgresql(engine: Engine, seconds: float) -> None:
    """Have PostgreSQL cancel any statement running longer than ``seconds``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {max(1, round(seconds * 1000))}")
        # The driver opened a transaction for the SET; committed, it lasts the session.
        dbapi_connection.commit()


class Database:
    """An engine and its session factory."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_busy_timeout_ms: int = 30000,
        statement_timeout_s: float | None = None,
    ) -> None:
        """Open ``url``; ``statement_timeout_s`` bounds every statement (None: unbounded,
        as migrations and administration commands need)."""
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # Statement parameters hold personal data (and password hashes): keep them out
        # of exception messages and so out of the server's error log.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False}
            # Connections are cheap to keep and costly to open (each runs the pragmas
            # below); requests, the request log writer and worker threads share them.
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 30
        else:
            kwargs["pool_pre_ping"] = True
            if "connect_timeout" not in parsed.query:
                # An unreachable host would otherwise hold each request for the
                # operating system's TCP timeout (minutes) before it can answer 503.
                kwargs["connect_args"] = {"connect_timeout": _CONNECT_TIMEOUT_S}
        self.engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms)
        self.statement_timeout_s = statement_timeout_s
        if statement_timeout_s is not None:
            bound = _bound_sqlite if self.dialect == "sqlite" else _bound_postgresql
            bound(self.engine, statement_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._busy_timeout_s = sqlite_busy_timeout_ms / 1000
        # SQLite has one writer at a time. Left to SQLite, threads of this process that
        # wait for the write lock poll it with growing sleeps (up to 100 ms each), so
        # under concurrent writes the lock sits idle while writers sleep: p99 write
        # latency was 0.5 to 1.6 s at 4 concurrent clients. Queued on a lock of ours,
        # a waiting writer wakes the moment the previous one commits. (Other processes
        # sharing the file still meet SQLite's own busy handler.)
        self._writer = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Open a session whose work is committed when the block ends without error.

        A database that is busy or out of reach raises :class:`ServiceUnavailableError`
        (503 with Retry-After) instead of the driver's error, so callers never see
        driver exceptions for conditions a client should simply retry.
        """
        try:
            with (
                self._write_turn(write),
                self._stopped_as_unavailable(),
                self._sessions() as session,
                session.begin(),
            ):
                if write:
                    session.connection(execution_options={_WRITE_OPTION: True})
                yield session
        except (DBAPIError, DisconnectionError) as exc:
            unavailable = _unavailable(exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    @contextmanager
    def _stopped_as_unavailable(self) -> Iterator[None]:
        """Turn a statement stopped by ``statement_timeout_s`` into a 503."""
        try:
            yield
        except OperationalError as exc:
            code = getattr(exc.orig, "sqlite_errorcode", None)
            state = getattr(exc.orig, "sqlstate", None)
            if self.statement_timeout_s is None or (
                code != _SQLITE_INTERRUPT and state != _QUERY_CANCELED
            ):
                raise
            raise ServiceUnavailableError(
                f"A database statement ran longer than {self.statement_timeout_s:g} seconds "
                "and was stopped; retry later, or ask for less (a narrower filter, a "
                "smaller count)."
            ) from exc

    @contextmanager
    def _write_turn(self, write: bool) -> Iterator[None]:
        """Hold this process's SQLite write turn for a writing transaction."""
        if not write or self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=self._busy_timeout_s):
            raise ServiceUnavailableError(
                "The database is busy with other writes; retry shortly.", retry_after=2
            )
        try:
            yield
        finally:
            self._writer.release()

    @property
    def reads_in_process(self) -> bool:
        """Reads are in-process work that never waits for a lock (SQLite in WAL mode)."""
        return self.dialect == "sqlite"

    def ping(self) -> bool:
        """Tell whether the database answers a trivial query."""
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to ``revision``."""
        self._migrate(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Revert the Alembic migrations down to ``revision``."""
        self._migrate(command.downgrade, revision)

    def _migrate(self, step: Any, revision: str) -> None:
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                # SQLite alters a table by copying it and dropping the original; with
                # foreign keys on, that drop would cascade into every child table.
                # The pragma only takes effect outside a transaction.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                with connection.begin():
                    step(_alembic_config(connection), revision)
                    if self.dialect == "sqlite":
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"Migration left broken references: {broken[:5]}")
            finally:
                if self.dialect == "sqlite":
                    connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _unavailable(exc: DBAPIError | DisconnectionError) -> ServiceUnavailableError | None:
    """The 503 for a driver error a retry can cure, or None for any other error.

    Nothing was committed in either case: the transaction is rolled back, or its
    connection is gone before COMMIT was acknowledged (then the write may or may not
    have been applied, exactly as with a client's own timeout).
    """
    if isinstance(exc, DisconnectionError) or exc.connection_invalidated:
        return ServiceUnavailableError(_UNREACHABLE, retry_after=5)
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        # SQLITE_BUSY / SQLITE_LOCKED (and their extended codes): another process
        # held the write lock for longer than busy_timeout.
        if sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return ServiceUnavailableError(_BUSY, retry_after=2)
        return None
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(exc, InterfaceError) or sqlstate is None or sqlstate.startswith(("08", "57P")):
        # No SQLSTATE means the client library lost or never got a connection; class 08
        # is a connection exception and 57P a server shutting down or starting up.
        return ServiceUnavailableError(_UNREACHABLE, retry_after=5)
    # PostgreSQL's other operational errors are transient too: deadlocks and
    # serialization failures (40), exhausted resources (53), lock or statement
    # timeouts (55P03, 57014).
    return ServiceUnavailableError(_BUSY, retry_after=2)


def _alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
