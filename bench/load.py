"""The data loader: many users, groups and one large group, in bulk, not over HTTP.

Rows are written with multi-row Core inserts in batches, as the domain layer would
leave them: each user linked to its person and holding one work email row.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from scimgate.storage.database import Database
from scimgate.storage.models import (
    Group,
    GroupMember,
    Person,
    User,
    UserEmail,
    new_id,
    utcnow,
)

BATCH = 5000


@dataclass
class Loaded:
    """What the loader created: ids the workloads pick from."""

    user_ids: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    big_group_id: str | None = None
    """A group holding the first ``group_members`` users, for ``get-group``."""


def _batches(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _user_rows(org_id: str, tag: str, start: int, stop: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of users ``start`` to ``stop - 1``: persons, users and their emails."""
    now = utcnow()
    rows: dict[str, list[dict[str, Any]]] = {"persons": [], "users": [], "emails": []}
    for i in range(start, stop):
        email = f"{tag}.user{i}@example.com"
        person_id, user_id = new_id(), new_id()
        rows["persons"].append(
            {"id": person_id, "email": email, "email_norm": email, "created_at": now,
             "updated_at": now}
        )  # fmt: skip
        rows["users"].append(
            {"id": user_id, "org_id": org_id, "person_id": person_id, "user_name": email,
             "user_name_norm": email, "given_name": "User", "family_name": str(i),
             "display_name": f"User {i}", "active": True, "attributes": {}, "version": 1,
             "created_at": now, "updated_at": now}
        )  # fmt: skip
        rows["emails"].append(
            {"user_id": user_id, "position": 0, "value": email, "value_norm": email,
             "type": "work", "primary": True}
        )  # fmt: skip
    return rows


def load_users(database: Database, org_id: str, count: int, tag: str) -> list[str]:
    """Create ``count`` users of the organization; return their ids, oldest first."""
    ids: list[str] = []
    for start in range(0, count, BATCH):
        rows = _user_rows(org_id, tag, start, min(start + BATCH, count))
        with database.engine.begin() as connection:
            connection.execute(insert(Person), rows["persons"])
            connection.execute(insert(User), rows["users"])
            connection.execute(insert(UserEmail), rows["emails"])
        ids.extend(row["id"] for row in rows["users"])
    return ids


def load_groups(database: Database, org_id: str, count: int, tag: str) -> list[str]:
    """Create ``count`` empty groups of the organization; return their ids."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"id": new_id(), "org_id": org_id, "display_name": f"{tag} group {i}",
         "display_name_norm": f"{tag} group {i}", "version": 1, "created_at": now,
         "updated_at": now}
        for i in range(count)
    ]  # fmt: skip
    for batch in _batches(rows):
        with database.engine.begin() as connection:
            connection.execute(insert(Group), batch)
    return [row["id"] for row in rows]


def add_members(database: Database, group_id: str, user_ids: Sequence[str]) -> None:
    """Make the users members of the group, in batches."""
    now = utcnow()
    rows = [{"group_id": group_id, "user_id": user_id, "created_at": now} for user_id in user_ids]
    for batch in _batches(rows):
        with database.engine.begin() as connection:
            connection.execute(insert(GroupMember), batch)


def load(
    database_url: str, org_id: str, *, users: int, groups: int, group_members: int, tag: str
) -> Loaded:
    """Create the users, the groups and one group of ``group_members`` of those users."""
    database = Database(database_url)
    try:
        loaded = Loaded(user_ids=load_users(database, org_id, users, tag))
        loaded.group_ids = load_groups(database, org_id, max(groups, 1), tag)
        loaded.big_group_id = loaded.group_ids[0]
        add_members(database, loaded.big_group_id, loaded.user_ids[:group_members])
        return loaded
    finally:
        database.dispose()
