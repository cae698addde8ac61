"""The database handle: engine, sessions and schema migrations.

SQLite is the embedded default and PostgreSQL the production backend; both run the
same models and the same Alembic migrations.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from scimgate.errors import ServiceUnavailableError

MIGRATIONS = Path(__file__).parent / "migrations"

# Set on a session's connection to ask SQLite for the write lock up front.
_WRITE_OPTION = "scimgate_write"


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

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30000) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False}
            # Connections are cheap to keep and costly to open (each runs the pragmas
            # below); requests, the request log writer and worker threads share them.
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 30
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms)
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
        """Open a session whose work is committed when the block ends without error."""
        with self._write_turn(write), self._sessions() as session, session.begin():
            if write:
                session.connection(execution_options={_WRITE_OPTION: True})
            yield session

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


def _alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
