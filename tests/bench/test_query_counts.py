"""SQL statements per request stay the same as users and group members grow (issue 7).

Each case sends one request shape against small and large data and compares the
statements it issued. The first request of a shape is a warm-up: it may record the
token's last use, the detected IdP or the cursor key, which later requests skip.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest
from sqlalchemy import event, insert

from scimgate.storage.database import Database
from scimgate.storage.models import GroupMember, User, new_id, utcnow
from tests.conftest import Tenant, group_body, patch_body

SMALL = 10
LARGE = 1000

Send = Callable[[], httpx2.Response]


@contextmanager
def _captured(database: Database) -> Iterator[list[str]]:
    """Collect the SQL text of every statement the engine sends while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _statements(database: Database, send: Send) -> list[str]:
    """Return the statements of the second of two requests of one shape."""
    assert send().status_code < 300
    with _captured(database) as statements:
        response = send()
    assert response.status_code < 300, response.text
    assert statements, "no statement was captured"
    return statements


def _add_users(database: Database, tenant: Tenant, count: int, prefix: str) -> list[str]:
    """Insert ``count`` users in one statement, bypassing HTTP; return their ids."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "org_id": tenant.org_id,
            "user_name": f"{prefix}{i}@example.com",
            "user_name_norm": f"{prefix}{i}@example.com",
            "attributes": {},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with database.transaction() as session:
        session.execute(insert(User), rows)
    return [str(row["id"]) for row in rows]


def _group(database: Database, tenant: Tenant, name: str, size: int) -> str:
    """Create a group over HTTP and give it ``size`` fresh members in bulk."""
    group_id = str(tenant.post("/Groups", json=group_body(name)).json()["id"])
    members = _add_users(database, tenant, size, f"{name}-")
    with database.transaction() as session:
        session.execute(
            insert(GroupMember),
            [{"group_id": group_id, "user_id": user_id} for user_id in members],
        )
    return group_id


def _assert_same(small: list[str], large: list[str]) -> None:
    """Fail with both statement lists when their lengths differ."""
    assert len(small) == len(large), "\n".join(
        ["small:", *small, f"large ({len(large)} vs {len(small)}):", *large]
    )


def _adder(tenant: Tenant, group_id: str, spares: Iterator[str]) -> Send:
    """A PATCH adding the next spare user to the group, as Entra sends one per member."""

    def send() -> httpx2.Response:
        operation = {"op": "add", "path": "members", "value": [{"value": next(spares)}]}
        return tenant.patch(f"/Groups/{group_id}", json=patch_body(operation))

    return send


@pytest.mark.parametrize("minimal", [False, True], ids=["full-response", "no-content"])
def test_add_one_member(database: Database, tenant: Tenant, minimal: bool) -> None:
    """Adding one member issues as many statements to a 1,000-member group as to a 10."""
    small = _group(database, tenant, "small", SMALL)
    large = _group(database, tenant, "large", LARGE)
    spares = iter(_add_users(database, tenant, 4, "spare-"))
    query = "?attributes=" if minimal else ""
    counts = [
        _statements(database, _adder(tenant, group_id + query, spares))
        for group_id in (small, large)
    ]
    _assert_same(*counts)


def test_remove_one_member_by_filter(database: Database, tenant: Tenant) -> None:
    """A remove with path members[value eq "id"] costs the same in either group size."""
    found = []
    for name, size in (("small", SMALL), ("large", LARGE)):
        group_id = _group(database, tenant, name, size)
        leaving = _add_users(database, tenant, 2, f"{name}-gone-")
        adder = _adder(tenant, group_id, iter(leaving))
        adder()
        adder()
        found.append(_statements(database, _remover(tenant, group_id, iter(leaving))))
    _assert_same(*found)


def _remover(tenant: Tenant, group_id: str, leaving: Iterator[str]) -> Send:
    """A PATCH removing the next leaving member, named by a value filter in its path."""

    def send() -> httpx2.Response:
        path = f'members[value eq "{next(leaving)}"]'
        return tenant.patch(f"/Groups/{group_id}", json=patch_body({"op": "remove", "path": path}))

    return send


def test_get_group_without_members(database: Database, tenant: Tenant) -> None:
    """GET /Groups/{id}?excludedAttributes=members costs the same in either group size."""
    found = []
    for name, size in (("small", SMALL), ("large", LARGE)):
        group_id = _group(database, tenant, name, size)
        found.append(_statements(database, _reader(tenant, group_id)))
    _assert_same(*found)


def _reader(tenant: Tenant, group_id: str) -> Send:
    """A GET of the group without its members, as Entra reads a group before a PATCH."""
    return lambda: tenant.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"})


def test_filter_user_by_user_name(database: Database, tenant: Tenant) -> None:
    """GET /Users?filter=userName eq "x" costs the same with 10 users as with 1,000."""
    params = {"filter": 'userName eq "u-0@example.com"'}
    _add_users(database, tenant, SMALL, "u-")
    small = _statements(database, lambda: tenant.get("/Users", params=params))
    _add_users(database, tenant, LARGE - SMALL, "more-")
    large = _statements(database, lambda: tenant.get("/Users", params=params))
    _assert_same(small, large)
    assert tenant.get("/Users", params=params).json()["totalResults"] == 1


def test_deep_index_page(database: Database, tenant: Tenant) -> None:
    """A page at startIndex 901 issues as many statements as the first page."""
    _add_users(database, tenant, LARGE, "u-")
    first = _statements(database, lambda: tenant.get("/Users", params={"count": 50}))
    deep = _statements(
        database, lambda: tenant.get("/Users", params={"count": 50, "startIndex": 901})
    )
    _assert_same(first, deep)


def test_cursor_page(database: Database, tenant: Tenant) -> None:
    """A later cursor page issues as many statements as the first cursor page."""
    _add_users(database, tenant, LARGE, "u-")
    first = _statements(database, lambda: tenant.get("/Users", params={"count": 50, "cursor": ""}))
    cursor = ""
    for _ in range(18):
        cursor = tenant.get("/Users", params={"count": 50, "cursor": cursor}).json()["nextCursor"]
    later = _statements(
        database, lambda: tenant.get("/Users", params={"count": 50, "cursor": cursor})
    )
    _assert_same(first, later)
