"""Concurrent requests against a real HTTP server, on both databases."""

from concurrent.futures import ThreadPoolExecutor

import httpx2

from tests.conftest import SCIM_JSON, Tenant, group_body, patch_body, user_body


def _client(server_url: str, tenant: Tenant) -> httpx2.Client:
    headers = {"Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM_JSON}
    return httpx2.Client(base_url=server_url, headers=headers, timeout=60)


def test_concurrent_creates_of_one_user_name(server_url: str, tenant: Tenant) -> None:
    """Of 12 simultaneous creates of one userName exactly one gets 201, the rest 409, none 500."""
    names = ["Ada@Example.com" if i % 2 else "ada@example.com" for i in range(12)]
    with _client(server_url, tenant) as http, ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(
            pool.map(lambda n: http.post("/Users", json=user_body(n)).status_code, names)
        )
        assert sorted(statuses) == [201] + [409] * 11, statuses
        assert http.get("/Users").json()["totalResults"] == 1


def test_concurrent_member_adds_to_one_group(server_url: str, tenant: Tenant) -> None:
    """Ten clients adding distinct members to one group at once all succeed, and all land."""
    with _client(server_url, tenant) as http:
        ids = [
            http.post("/Users", json=user_body(f"u{i}@example.com")).json()["id"] for i in range(10)
        ]
        group_id = http.post("/Groups", json=group_body("Busy")).json()["id"]

        def add(user_id: str) -> int:
            body = patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
            return http.patch(f"/Groups/{group_id}", json=body).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(add, ids))
        assert statuses == [200] * 10
        members = http.get(f"/Groups/{group_id}").json()["members"]
        assert sorted(member["value"] for member in members) == sorted(ids)
