"""The data loader: many users, groups and one large group, in bulk, not over HTTP.

Rows are written as the domain layer would leave them (each user linked to its person
and holding one work email row), with one driver ``executemany`` per table and batch.
"""

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.sql.schema import ColumnDefault

from scimgate.storage.database import Database
from scimgate.storage.models import (
    Group,
    GroupMember,
    Person,
    User,
    UserEmail,
    utcnow,
)

BATCH = 10_000
"""Rows per executemany."""
COMMIT = 100_000
"""Users per transaction: a page the indexes touch often is written once per commit."""
_NO_ATTRIBUTES: dict[str, Any] = {}
"""One shared empty ``attributes`` value: the bulk insert serializes it once per batch."""


SMALL_GROUP = 100
"""Members of the baseline group ``add-member`` compares the large group with."""


@dataclass
class Loaded:
    """What the loader created: ids the workloads pick from."""

    user_ids: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    big_group_id: str | None = None
    """A group holding the first ``group_members`` users, for ``get-group``."""
    small_group_id: str | None = None
    """A group holding the first ``SMALL_GROUP`` users, the baseline of ``add-member``."""
    big_group_size: int = 0
    """Members the large group was loaded with."""


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def bulk_insert(connection: Connection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into the model's table with one driver ``executemany`` (or COPY).

    Core's own executemany runs the type processing of every parameter of every row,
    which was two thirds of the load time. Here a value shared by the rows (the batch's
    timestamp, the empty attributes) is processed once. Columns the rows leave out get
    their Python default as Core would give it, evaluated once per batch: the rows
    carry every column whose value must differ (ids, names).
    """
    if not rows:
        return
    dialect = connection.dialect
    table = _table(model)
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    defaults: dict[str, Any] = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if isinstance(default, ColumnDefault):
            defaults[column.key] = default.arg(None) if default.is_callable else default.arg
    names = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    # Column by column, then zipped into rows: the per-value work stays in C loops.
    columns = []
    for name in names:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        values = [row[name] for row in rows] if name in rows[0] else [defaults[name]] * len(rows)
        if process is not None:
            first = values[0]
            if all(value is first for value in values):
                values = [process(first)] * len(values)
            else:
                values = [process(value) for value in values]
        columns.append(values)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(connection, table, [table.c[name].name for name in names], columns)
        return
    params: list[Any] = list(zip(*columns, strict=True))
    if not compiled.positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    connection.exec_driver_sql(compiled.string, params)


def _copy(connection: Connection, table: Table, names: list[str], columns: list[list[Any]]) -> None:
    """PostgreSQL: ``COPY ... FROM STDIN`` in the connection's transaction.

    Three times the rows per second of psycopg's pipelined executemany here.
    """
    preparer = connection.dialect.identifier_preparer
    statement = (
        f"COPY {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(name) for name in names)}) FROM STDIN"
    )
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for values in zip(*columns, strict=True):
            copy.write_row(values)


@contextmanager
def _loading(database: Database) -> Iterator[Connection]:
    """One connection for the whole load; on SQLite, without a write-ahead log or fsync.

    Nothing else has the database open while the loader runs, and the benchmark's
    database is thrown away on a crash, so SQLite may write each page once, in place,
    instead of to the WAL and again at each checkpoint (a third of the time at a
    million users), and need not wait for the disk. The larger page cache keeps more
    of the unique indexes in memory while random ids go into them.
    """
    with database.engine.connect() as connection:
        driver: Any = connection.connection.driver_connection
        sqlite = database.dialect == "sqlite"
        if sqlite:
            driver.execute("PRAGMA journal_mode=MEMORY")
            driver.execute("PRAGMA synchronous=OFF")
            driver.execute("PRAGMA cache_size=-262144")
        try:
            yield connection
        finally:
            if sqlite:
                driver.execute("PRAGMA journal_mode=WAL")
                driver.execute("PRAGMA synchronous=NORMAL")
                driver.execute("PRAGMA cache_size=-2000")


def new_ids(count: int) -> list[str]:
    """``count`` random version 4 UUIDs in hex, as ``new_id`` makes them, five times faster.

    A million users need two million ids; ``uuid.uuid4()`` spent seconds building
    objects only to read their hex back.
    """
    raw = os.urandom(16 * count).hex()
    return [
        f"{raw[i : i + 12]}4{raw[i + 13 : i + 16]}{'89ab'[int(raw[i + 16], 16) & 3]}"
        f"{raw[i + 17 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def _user_rows(org_id: str, tag: str, start: int, stop: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of users ``start`` to ``stop - 1``: persons, users and their emails."""
    now = utcnow()
    rows: dict[str, list[dict[str, Any]]] = {"persons": [], "users": [], "emails": []}
    ids = iter(new_ids(2 * (stop - start)))
    for i in range(start, stop):
        email = f"{tag}.user{i}@example.com"
        person_id, user_id = next(ids), next(ids)
        rows["persons"].append(
            {"id": person_id, "email": email, "email_norm": email, "created_at": now,
             "updated_at": now}
        )  # fmt: skip
        rows["users"].append(
            {"id": user_id, "org_id": org_id, "person_id": person_id, "user_name": email,
             "user_name_norm": email, "given_name": "User", "family_name": str(i),
             "display_name": f"User {i}", "active": True, "attributes": _NO_ATTRIBUTES,
             "version": 1, "created_at": now, "updated_at": now}
        )  # fmt: skip
        rows["emails"].append(
            {"user_id": user_id, "position": 0, "value": email, "value_norm": email,
             "type": "work", "primary": True}
        )  # fmt: skip
    return rows


def load_users(database: Database, org_id: str, start: int, stop: int, tag: str) -> list[str]:
    """Create users ``start`` to ``stop - 1`` of the organization; return their ids in order.

    Users are numbered so that user ``i`` is ``<tag>.user<i>@example.com``: loading
    ``0..n`` then ``n..m`` gives the same users as loading ``0..m`` at once.
    """
    ids: list[str] = []
    with _loading(database) as connection:
        for chunk in range(start, stop, COMMIT):
            with connection.begin():
                for first in range(chunk, min(chunk + COMMIT, stop), BATCH):
                    rows = _user_rows(org_id, tag, first, min(first + BATCH, stop))
                    bulk_insert(connection, Person, rows["persons"])
                    bulk_insert(connection, User, rows["users"])
                    bulk_insert(connection, UserEmail, rows["emails"])
                    ids.extend(row["id"] for row in rows["users"])
    return ids


def load_groups(database: Database, org_id: str, count: int, tag: str) -> list[str]:
    """Create ``count`` empty groups of the organization; return their ids."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"id": group_id, "org_id": org_id, "display_name": f"{tag} group {i}",
         "display_name_norm": f"{tag} group {i}", "version": 1, "created_at": now,
         "updated_at": now}
        for i, group_id in enumerate(new_ids(count))
    ]  # fmt: skip
    with _loading(database) as connection:
        for first in range(0, len(rows), BATCH):
            with connection.begin():
                bulk_insert(connection, Group, rows[first : first + BATCH])
    return [row["id"] for row in rows]


def add_members(database: Database, group_id: str, user_ids: Sequence[str]) -> None:
    """Make the users members of the group, in batches."""
    now = utcnow()
    rows = [{"group_id": group_id, "user_id": user_id, "created_at": now} for user_id in user_ids]
    with _loading(database) as connection:
        for first in range(0, len(rows), BATCH):
            with connection.begin():
                bulk_insert(connection, GroupMember, rows[first : first + BATCH])


def load(
    database_url: str, org_id: str, *, users: int, groups: int, group_members: int, tag: str
) -> Loaded:
    """Create the users, the groups and one group of ``group_members`` of those users."""
    database = Database(database_url)
    try:
        loaded = Loaded(user_ids=load_users(database, org_id, 0, users, tag))
        loaded.group_ids = load_groups(database, org_id, max(groups, 1), tag)
        loaded.big_group_id = loaded.group_ids[0]
        add_members(database, loaded.big_group_id, loaded.user_ids[:group_members])
        loaded.big_group_size = len(loaded.user_ids[:group_members])
        loaded.small_group_id = loaded.group_ids[-1]
        add_members(database, loaded.small_group_id, loaded.user_ids[:SMALL_GROUP])
        return loaded
    finally:
        database.dispose()


def grow(database_url: str, org_id: str, loaded: Loaded, size: int, tag: str) -> None:
    """Add users until ``loaded`` holds ``size`` of them (none when it already does)."""
    database = Database(database_url)
    try:
        start = len(loaded.user_ids)
        loaded.user_ids.extend(load_users(database, org_id, start, max(start, size), tag))
    finally:
        database.dispose()
