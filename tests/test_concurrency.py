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

        def add(user_id: str) -> tuple[int, str]:
            body = patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
            response = http.patch(f"/Groups/{group_id}", json=body)
            return response.status_code, response.headers["etag"]

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(add, ids))
        assert [status for status, _ in answers] == [204] * 10
        versions = [int(etag.removeprefix('W/"').removesuffix('"')) for _, etag in answers]
        group = http.get(f"/Groups/{group_id}").json()
        # Each change took its own version: none was lost to a concurrent one.
        assert sorted(versions) == list(range(2, 12))
        assert group["meta"]["version"] == 'W/"11"'
        assert sorted(member["value"] for member in group["members"]) == sorted(ids)


def _version(etag: str) -> int:
    return int(etag.removeprefix('W/"').removesuffix('"'))


def test_concurrent_user_patches_each_take_a_version(server_url: str, tenant: Tenant) -> None:
    """Ten simultaneous PATCHes of one user all apply, one after the other."""
    with _client(server_url, tenant) as http:
        user_id = http.post("/Users", json=user_body("busy@example.com")).json()["id"]

        def rename(n: int) -> tuple[int, str]:
            body = patch_body({"op": "replace", "path": "displayName", "value": f"name {n}"})
            response = http.patch(f"/Users/{user_id}", json=body)
            return response.status_code, response.headers.get("etag", "")

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(rename, range(10)))
        assert [status for status, _ in answers] == [200] * 10
        assert sorted(_version(etag) for _, etag in answers) == list(range(2, 12))
        assert http.get(f"/Users/{user_id}").json()["meta"]["version"] == 'W/"11"'


def test_only_one_of_concurrent_if_match_changes_wins(server_url: str, tenant: Tenant) -> None:
    """RFC 7644 §3.14: of ten changes all naming version 1, exactly one applies."""
    with _client(server_url, tenant) as http:
        user_id = http.post("/Users", json=user_body("guarded@example.com")).json()["id"]
        group_id = http.post("/Groups", json=group_body("Guarded")).json()["id"]

        def change(target: tuple[str, int]) -> int:
            path, n = target
            value = {"displayName": f"name {n}"}
            body = patch_body({"op": "replace", "value": value})
            response = http.patch(path, json=body, headers={"If-Match": 'W/"1"'})
            return response.status_code

        for path, ok in ((f"/Users/{user_id}", 200), (f"/Groups/{group_id}", 204)):
            with ThreadPoolExecutor(max_workers=10) as pool:
                statuses = list(pool.map(change, [(path, n) for n in range(10)]))
            assert sorted(statuses) == [ok] + [412] * 9, statuses
            assert http.get(path).json()["meta"]["version"] == 'W/"2"'
