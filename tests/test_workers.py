"""Concurrent clients against ``scimgate serve --workers 2``, on both databases.

Two worker processes share one database: on SQLite one file, whose write lock the
workers take in turn (each process queues its own writers; across processes SQLite's
busy handler does); on PostgreSQL row locks. After each run, the organization's
roles and teams are recomputed from scratch and must equal what is stored.
"""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import POSTGRES_URL, group_body, patch_body, user_body
from tests.serve import ServerProcess, cli, drift, environment, scim_client, set_up_organization

CLIENTS = 20


@dataclass
class Deployment:
    """A two-worker server, its database and an organization with groups → teams → roles."""

    server: ServerProcess
    env: dict[str, str]
    org_id: str
    token: str

    def client(self) -> httpx2.Client:
        """A SCIM client of the organization (thread-safe; one connection per thread)."""
        return scim_client(self.server.url, self.token)

    def assert_consistent(self) -> None:
        """Stored roles and teams equal a recomputation from the groups, from scratch."""
        assert drift(self.env["SCIMGATE_DATABASE_URL"], self.org_id) == {}

    def members(self) -> dict[str, dict[str, Any]]:
        """The organization's memberships as the admin CLI shows them, by user id."""
        page = cli(self.env, "members", self.org_id, "--limit", "1000")
        return {member["user_id"]: member for member in page["members"]}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """``scimgate serve --workers 2`` with an organization syncing groups to teams and roles."""
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('workers')) / 'scimgate.db'}"
    else:
        request.getfixturevalue("postgres_database")  # migrated, or the run is skipped
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
    # Deactivations are what the test races; the mass-deprovisioning breaker must not
    # hold them.
    env = {**environment(url), "SCIMGATE_BREAKER_SHARE": "0"}
    org = set_up_organization(env, f"workers-{uuid.uuid4().hex[:8]}")
    cli(env, "flags", org.id, "--sync-groups-to-teams", "on", "--assign-roles-from-groups", "on")
    server = ServerProcess(env, workers=2)
    try:
        server.start()
        yield Deployment(server, env, org.id, org.token)
    finally:
        server.close()


def _create_users(http: httpx2.Client, prefix: str, count: int) -> list[str]:
    def create(n: int) -> str:
        response = http.post("/Users", json=user_body(f"{prefix}{n}@example.com"))
        assert response.status_code == 201, response.text
        user_id: str = response.json()["id"]
        return user_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(create, range(count)))


def test_clients_adding_distinct_members_to_one_group(deployment: Deployment) -> None:
    """20 clients adding one member each to one group at once all succeed, and all land."""
    with deployment.client() as http:
        ids = _create_users(http, "adder", CLIENTS)
        group_id = http.post("/Groups", json=group_body("Adders")).json()["id"]
        cli(deployment.env, "role", "map", deployment.org_id, group_id, "admin")

        def add(user_id: str) -> int:
            body = patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
            return http.patch(f"/Groups/{group_id}", json=body).status_code

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            statuses = list(pool.map(add, ids))
        assert statuses == [204] * CLIENTS
        group = http.get(f"/Groups/{group_id}").json()
        assert sorted(member["value"] for member in group["members"]) == sorted(ids)
        assert group["meta"]["version"] == f'W/"{CLIENTS + 1}"'
    members = deployment.members()
    assert {(members[i]["role"], members[i]["role_from_group_id"]) for i in ids} == {
        ("admin", group_id)
    }
    teams = cli(deployment.env, "team", "list", deployment.org_id)
    assert [t["member_count"] for t in teams if t["scim_group_id"] == group_id] == [CLIENTS]
    deployment.assert_consistent()


def test_concurrent_creates_of_one_user_name(deployment: Deployment) -> None:
    """Of 12 simultaneous creates of one userName exactly one gets 201, the others 409."""
    name = f"twin-{uuid.uuid4().hex[:6]}@example.com"
    names = [name.upper() if i % 2 else name for i in range(12)]
    with deployment.client() as http, ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda n: http.post("/Users", json=user_body(n)), names))
        assert sorted(a.status_code for a in answers) == [201] + [409] * 11
        for answer in answers:
            if answer.status_code == 409:
                assert answer.json()["scimType"] == "uniqueness"
        found = http.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
        assert found["totalResults"] == 1
    deployment.assert_consistent()


def test_concurrent_rename_and_delete_of_one_group(deployment: Deployment) -> None:
    """A rename racing a delete never fails with 5xx; the group ends deleted either way.

    When the rename was acknowledged it happened first, so the team the group was
    linked to carries the new name; when it answered 404 the team kept the old one.
    """
    with deployment.client() as http:
        member = _create_users(http, "racer", 1)[0]
        groups = [
            http.post("/Groups", json=group_body(f"Race {n}", [member])).json()["id"]
            for n in range(8)
        ]

        def rename(n_group: tuple[int, str]) -> int:
            n, group_id = n_group
            body = patch_body({"op": "replace", "path": "displayName", "value": f"Renamed {n}"})
            return http.patch(f"/Groups/{group_id}", json=body).status_code

        def delete(group_id: str) -> int:
            return http.delete(f"/Groups/{group_id}").status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            renames = pool.map(rename, enumerate(groups))
            deletes = pool.map(delete, groups)
            renamed, deleted = list(renames), list(deletes)
        assert deleted == [204] * len(groups)
        assert set(renamed) <= {200, 204, 404}, renamed
        for group_id in groups:
            assert http.get(f"/Groups/{group_id}").status_code == 404
        assert http.get(f"/Users/{member}").json().get("groups", []) == []
    teams = {t["name"]: t for t in cli(deployment.env, "team", "list", deployment.org_id)}
    for n, status in enumerate(renamed):
        name = f"Renamed {n}" if status != 404 else f"Race {n}"
        assert teams[name]["scim_group_id"] is None  # unlinked by the delete
        assert teams[name]["member_count"] == 0  # SCIM's grant withdrawn
    deployment.assert_consistent()


def _version(response: httpx2.Response) -> str:
    version: str = response.json()["meta"]["version"]
    return version


def test_concurrent_deactivate_and_patch_of_one_user(deployment: Deployment) -> None:
    """A deactivation and another PATCH of one user both apply, whatever their order.

    With If-Match naming the same version, exactly one of them applies and the other
    answers 412 (RFC 7644 §3.14); the user shows the winner's change alone. Either
    way a deactivated member keeps no role, and an active one keeps the group's.
    """
    with deployment.client() as http:
        group_id = http.post("/Groups", json=group_body("Deactivators")).json()["id"]
        cli(deployment.env, "role", "map", deployment.org_id, group_id, "owner")
        users = _create_users(http, "toggler", 8)
        members = [{"value": user_id} for user_id in users]
        add = patch_body({"op": "add", "path": "members", "value": members})
        assert http.patch(f"/Groups/{group_id}", json=add).status_code == 204

        half = len(users) // 2
        jobs: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        for n, user_id in enumerate(users):
            # The second half names the current version: only one change may win.
            guard = {"If-Match": _version(http.get(f"/Users/{user_id}"))} if n >= half else {}
            jobs += [(user_id, {"active": False}, guard), (user_id, {"displayName": "New"}, guard)]

        def change(job: tuple[str, dict[str, Any], dict[str, str]]) -> int:
            user_id, value, headers = job
            body = patch_body({"op": "replace", "value": value})
            return http.patch(f"/Users/{user_id}", json=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            answers = list(pool.map(change, jobs))

        expected: dict[str, tuple[bool, str | None]] = {}
        for n, user_id in enumerate(users):
            deactivated, renamed = answers[2 * n], answers[2 * n + 1]
            if n < half:
                assert (deactivated, renamed) == (200, 200)
            else:
                assert sorted((deactivated, renamed)) == [200, 412]
            expected[user_id] = (deactivated != 200, "New" if renamed == 200 else None)
            user = http.get(f"/Users/{user_id}").json()
            assert (user["active"], user.get("displayName")) == expected[user_id]
    roles = {user_id: m["role"] for user_id, m in deployment.members().items()}
    assert {user_id: roles[user_id] for user_id in users} == {
        user_id: "owner" if active else None for user_id, (active, _) in expected.items()
    }
    deployment.assert_consistent()
