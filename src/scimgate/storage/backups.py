"""Backups: consistent copies of an SQLite database, and the commands for PostgreSQL.

On SQLite a backup goes through SQLite's online backup API in one step: it reads a
single snapshot under a read transaction, which in WAL mode never blocks the server's
writers, so the copy is consistent while the server runs. A restore goes through the
same API in the other direction, so the target's WAL and locks stay coherent.

PostgreSQL has its own tools for a consistent online dump; scimgate does not wrap
them but prints the exact ``pg_dump``/``pg_restore`` command for the configured URL,
without its password.
"""

import os
import shlex
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from scimgate.errors import ConflictError, InvalidValueError, NotFoundError, ScimError


class BackupNotSupportedError(ScimError):
    """The database is not a file scimgate can copy; the detail says what to run instead."""

    status = 501
    default_detail = "scimgate does not back up this kind of database itself."


@dataclass(frozen=True)
class Copy:
    """What a backup or restore wrote."""

    path: str
    """The file written."""
    bytes: int
    """Its size."""
    revision: str | None
    """The schema migration it is at; ``scimgate serve`` upgrades it when older."""
    integrity: str
    """``ok`` from ``PRAGMA integrity_check``: anything else is refused."""


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise InvalidValueError("An in-memory SQLite database has no file to copy.")
    return Path(url.database)


def backup(database_url: str, target: Path, *, force: bool, busy_timeout_ms: int) -> Copy:
    """Write a consistent copy of the SQLite database to ``target``, even while it serves.

    The copy is built beside ``target`` and renamed into place only once it passes
    ``PRAGMA integrity_check``, so ``target`` is never left half written.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupNotSupportedError(
            "scimgate backs up SQLite files only. For PostgreSQL run, as a role that may "
            f"read every table: {pg_dump_command(url, str(target))}"
        )
    source = _sqlite_file(url)
    if not source.is_file():
        raise NotFoundError(f"There is no database file {source}.")
    _check_writable(target, force=force)
    if target.exists() and target.resolve() == source.resolve():
        raise InvalidValueError("The backup must not overwrite the database it copies.")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    # The copy holds personal data and credential hashes: readable by its owner only,
    # from its first byte. SQLite takes an empty file as a new database.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with (
            closing(_connect(source, busy_timeout_ms)) as src,
            closing(_connect(partial, busy_timeout_ms)) as dst,
        ):
            src.backup(dst)  # pages=-1: one step, one snapshot
            # A plain rollback-journal file is one self-contained file; the server
            # turns WAL back on when it opens a restored copy.
            dst.execute("PRAGMA journal_mode=DELETE")
            copy = _inspect(dst, target)
        _fsync(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Copy(copy.path, target.stat().st_size, copy.revision, copy.integrity)


def restore(backup_file: Path, database_url: str, *, force: bool, busy_timeout_ms: int) -> Copy:
    """Copy a backup over the configured SQLite database (only with ``force`` if it exists)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupNotSupportedError(
            "scimgate restores SQLite files only. For PostgreSQL, stop the server and run: "
            f"{pg_restore_command(url, str(backup_file))}"
        )
    target = _sqlite_file(url)
    if not backup_file.is_file():
        raise NotFoundError(f"There is no backup file {backup_file}.")
    # A WAL file without its database would be replayed into the restored copy.
    if not force and any(path.exists() for path in _with_sidecars(target)):
        raise ConflictError(
            f"The database {target} exists: stop the server, then restore with --force "
            "to replace it."
        )
    with closing(_connect(backup_file, busy_timeout_ms)) as src:
        source = _inspect(src, backup_file)
        if source.revision is None:
            raise InvalidValueError(f"{backup_file} is not a scimgate database.")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(_connect(target, busy_timeout_ms)) as dst:
            src.backup(dst)
            copy = _inspect(dst, target)
    return Copy(copy.path, target.stat().st_size, copy.revision, copy.integrity)


def pg_dump_command(url: URL, path: str) -> str:
    """The ``pg_dump`` command that writes a restorable dump of ``url`` to ``path``."""
    return f"pg_dump --format=custom --file={shlex.quote(path)} {shlex.quote(_libpq(url))}"


def pg_restore_command(url: URL, path: str) -> str:
    """The ``pg_restore`` command that loads a ``pg_dump --format=custom`` file into ``url``."""
    target = shlex.quote(_libpq(url))
    return f"pg_restore --clean --if-exists --no-owner --dbname={target} {shlex.quote(path)}"


def _libpq(url: URL) -> str:
    # libpq knows no "+psycopg" driver suffix; the password comes from PGPASSWORD or
    # ~/.pgpass, never from a command line other users can read in the process list.
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False)


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return connection


def _inspect(connection: sqlite3.Connection, path: Path) -> Copy:
    """Check a copy's integrity and read its schema revision; refuse a damaged one."""
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise InvalidValueError(f"{path} is not an SQLite database: {exc}.") from None
    if problems != ["ok"]:
        raise ScimError(f"{path} failed its integrity check: {'; '.join(problems[:5])}")
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: not a scimgate database
        row = None
    return Copy(str(path), 0, row[0] if row else None, "ok")


def _check_writable(target: Path, *, force: bool) -> None:
    if target.is_dir():
        raise InvalidValueError(f"{target} is a directory; name the backup file.")
    if target.exists() and not force:
        raise ConflictError(f"{target} exists; pass --force to overwrite it.")
    if not target.parent.is_dir():
        raise NotFoundError(f"There is no directory {target.parent}.")


def _with_sidecars(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal")]


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
