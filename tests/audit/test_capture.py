"""Each kind of SCIM request leaves exactly one request log entry, with the right fields."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from scimgate.audit.keys import KeyRing
from scimgate.audit.recorder import Recorder
from scimgate.domain import organizations, tokens
from scimgate.storage.database import Database
from scimgate.storage.models import RequestLogEntry
from tests.audit.conftest import log_entries, only_entry, payload
from tests.conftest import Tenant, TenantFactory, group_body, patch_body, user_body


def _create(tenant: Tenant, user_name: str) -> str:
    created = tenant.post("/Users", json=user_body(user_name))
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    return user_id


def _fields(entry: RequestLogEntry) -> tuple[Any, ...]:
    return (entry.method, entry.path, entry.status, entry.resource_type, entry.event)


def test_create_user(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """A user creation is logged with its organization, target, summary and both bodies."""
    response, entry = only_entry(
        database, lambda: tenant.post("/Users", json=user_body("ada@example.com"))
    )
    assert response.status_code == 201
    assert _fields(entry) == ("POST", "/scim/v2/Users", 201, "User", "create")
    assert entry.org_id == tenant.org_id
    assert entry.target_id == response.json()["id"]
    assert entry.user_agent == "testclient"
    assert entry.duration_ms > 0 and entry.key_id == "test"
    opened = payload(ring, entry)
    assert opened["summary"] == "create user ada@example.com"
    assert opened["request"]["body"]["userName"] == "ada@example.com"
    assert opened["request"]["headers"]["content-type"] == "application/scim+json"
    assert opened["response"]["body"]["id"] == entry.target_id
    assert opened["response"]["headers"]["location"].endswith(f"/Users/{entry.target_id}")
    assert opened["warnings"] == [] and opened["query"] == ""


def test_read_list_and_search_users(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """Reads, filtered lists and searches are logged; the query goes into the payload."""
    user_id = _create(tenant, "ada@example.com")
    _, read = only_entry(database, lambda: tenant.get(f"/Users/{user_id}"))
    assert _fields(read) == ("GET", f"/scim/v2/Users/{user_id}", 200, "User", "read")
    assert read.target_id == user_id
    assert payload(ring, read)["summary"] == "read user ada@example.com"

    query = {"filter": 'userName eq "ada@example.com"'}
    _, listed = only_entry(database, lambda: tenant.get("/Users", params=query))
    assert _fields(listed) == ("GET", "/scim/v2/Users", 200, "User", "list")
    opened = payload(ring, listed)
    assert opened["summary"] == 'list users where userName eq "ada@example.com": 1 found'
    assert "filter=userName" in opened["query"]

    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 5}
    _, searched = only_entry(database, lambda: tenant.post("/Users/.search", json=body))
    assert _fields(searched) == ("POST", "/scim/v2/Users/.search", 200, "User", "search")
    assert payload(ring, searched)["summary"] == "search users: 1 found"


def test_patch_replace_and_delete_user(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """PATCH, PUT and DELETE of a user are logged with the user as target."""
    user_id = _create(tenant, "ada@example.com")
    deactivate = patch_body({"op": "replace", "path": "active", "value": False})
    _, patched = only_entry(database, lambda: tenant.patch(f"/Users/{user_id}", json=deactivate))
    assert _fields(patched) == ("PATCH", f"/scim/v2/Users/{user_id}", 200, "User", "patch")
    assert payload(ring, patched)["summary"] == "deactivate user ada@example.com"

    body = user_body("ada@example.com", displayName="Ada")
    _, replaced = only_entry(database, lambda: tenant.put(f"/Users/{user_id}", json=body))
    assert (replaced.event, replaced.status, replaced.target_id) == ("replace", 200, user_id)
    assert payload(ring, replaced)["summary"] == "replace user ada@example.com"

    _, deleted = only_entry(database, lambda: tenant.delete(f"/Users/{user_id}"))
    assert _fields(deleted) == ("DELETE", f"/scim/v2/Users/{user_id}", 204, "User", "delete")
    assert deleted.target_id == user_id
    assert payload(ring, deleted)["response"]["body"] is None


def test_group_membership(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """Group creation and member changes are summarized with counts and the group's name."""
    ids = [_create(tenant, f"u{i}@example.com") for i in range(4)]
    response, created = only_entry(
        database, lambda: tenant.post("/Groups", json=group_body("Engineering", ids[:1]))
    )
    group_id = response.json()["id"]
    assert (created.resource_type, created.event, created.target_id) == (
        "Group",
        "create",
        group_id,
    )
    assert payload(ring, created)["summary"] == "create group Engineering with 1 member"

    add = patch_body({"op": "add", "path": "members", "value": [{"value": i} for i in ids[1:]]})
    _, patched = only_entry(database, lambda: tenant.patch(f"/Groups/{group_id}", json=add))
    assert (patched.event, patched.target_id) == ("patch", group_id)
    assert payload(ring, patched)["summary"] == "add 3 members to Engineering"


def test_discovery(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """Discovery requests are logged as such."""
    _, config = only_entry(database, lambda: tenant.get("/ServiceProviderConfig"))
    assert (config.resource_type, config.event, config.status) == ("Discovery", "read", 200)
    assert payload(ring, config)["summary"] == "read ServiceProviderConfig"
    _, schemas = only_entry(database, lambda: tenant.get("/Schemas"))
    assert (schemas.resource_type, schemas.event) == ("Discovery", "list")


def test_bulk_is_one_entry(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """A bulk request is one entry, however many operations it runs."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("a@x.com")},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("a@x.com")},
        ],
    }
    response, entry = only_entry(database, lambda: tenant.post("/Bulk", json=body))
    assert response.status_code == 200
    assert _fields(entry) == ("POST", "/scim/v2/Bulk", 200, "Bulk", "bulk")
    opened = payload(ring, entry)
    assert opened["summary"] == "bulk: 2 operations (2 POST), 1 failed"
    assert len(opened["response"]["body"]["Operations"]) == 2


def test_warnings_are_kept(tenant: Tenant, database: Database, ring: KeyRing) -> None:
    """Warnings raised while provisioning (a skipped phone number) are in the entry."""
    body = user_body("ada@example.com", phoneNumbers=[{"value": "12", "type": "work"}])
    response, entry = only_entry(database, lambda: tenant.post("/Users", json=body))
    assert response.status_code == 201
    assert payload(ring, entry)["warnings"] == [
        "phoneNumbers[0]: '12' is not a valid phone number; skipped"
    ]


def test_bulk_operation_warnings_join_the_bulk_entry(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """Warnings of a bulk operation are kept with the bulk request's one entry."""
    data = user_body("ada@example.com", phoneNumbers=[{"value": "12"}])
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "a", "data": data}],
    }
    _, entry = only_entry(database, lambda: tenant.post("/Bulk", json=body))
    assert len(payload(ring, entry)["warnings"]) == 1


def test_bad_request_is_logged_with_its_body(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """A 400 is logged with the body that caused it and the SCIM error answered."""
    body = user_body("not an email")
    response, entry = only_entry(database, lambda: tenant.post("/Users", json=body))
    assert response.status_code == 400
    assert (entry.status, entry.event, entry.target_id) == (400, "create", None)
    opened = payload(ring, entry)
    assert opened["request"]["body"]["userName"] == "not an email"
    assert opened["response"]["body"]["status"] == "400"


def test_unparseable_body_is_kept_as_text(
    tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """A body that is not JSON is kept as text."""

    def send() -> httpx2.Response:
        return tenant.post("/Users", content=b"{not json")

    response, entry = only_entry(database, send)
    assert response.status_code == 400
    assert payload(ring, entry)["request"]["body"] == "{not json"


def test_sso_gate_refusal_is_logged(
    make_tenant: TenantFactory, database: Database, ring: KeyRing
) -> None:
    """A request refused because SSO is not configured is logged for its organization."""
    gated = make_tenant("gated", sso_on=False)
    body = user_body("ada@example.com")
    response, entry = only_entry(database, lambda: gated.post("/Users", json=body))
    assert response.status_code == 404
    assert (entry.org_id, entry.status, entry.event) == (gated.org_id, 404, "create")
    # Refused before the body was read, and still logged with it.
    assert payload(ring, entry)["request"]["body"]["userName"] == "ada@example.com"


def test_revoked_token_is_logged_for_its_organization(tenant: Tenant, database: Database) -> None:
    """A revoked token still names its organization, so the 401 is in that log."""
    with database.transaction() as session:
        org = organizations.get(session, tenant.org_id)
        for token in tokens.list_for(session, org):
            tokens.revoke(session, org, token.id)
    response, entry = only_entry(database, lambda: tenant.get("/Users"))
    assert response.status_code == 401
    assert (entry.org_id, entry.status) == (tenant.org_id, 401)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer scimgate_unknown"}, {"Authorization": "Basic x"}]
)
def test_unknown_token_is_only_counted(
    client: TestClient, tenant: Tenant, database: Database, headers: dict[str, str]
) -> None:
    """Requests whose token names no organization leave no entry and are counted."""
    recorder: Recorder = client.app.state.request_log  # type: ignore[attr-defined]
    response = client.get("/scim/v2/Users", headers=headers)
    assert response.status_code == 401
    assert log_entries(database) == []
    assert recorder.counters.unattributed == 1


def test_unexpected_error_is_logged_as_500(
    tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that fails with an unexpected exception is logged with status 500."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("scimgate.domain.users.create", broken)
    response, entry = only_entry(
        database, lambda: tenant.post("/Users", json=user_body("ada@example.com"))
    )
    assert response.status_code == 500
    assert (entry.status, entry.event) == (500, "create")


def test_other_paths_are_not_logged(client: TestClient, tenant: Tenant, database: Database) -> None:
    """Only SCIM requests are logged: not /healthz, not the admin API."""
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/orgs", headers=tenant.headers()).status_code == 404
    assert log_entries(database) == []


def test_large_bodies_are_cut(
    tenant: Tenant, database: Database, ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies past the size limit are cut and marked truncated; the request still works."""
    recorder: Recorder = tenant.client.app.state.request_log  # type: ignore[attr-defined]
    monkeypatch.setattr(recorder, "max_body_bytes", 64)
    body = user_body("ada@example.com", displayName="A" * 500, password="p" * 300)
    response, entry = only_entry(database, lambda: tenant.post("/Users", json=body))
    assert response.status_code == 201
    request = payload(ring, entry)["request"]
    assert request["truncated"] is True and request["bytes"] > 64
    assert isinstance(request["body"], str) and len(request["body"].encode()) <= 64


def test_logged_behind_a_real_server(server_url: str, tenant: Tenant, database: Database) -> None:
    """Served by uvicorn, a request and its bulk operations still make exactly one entry."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("a@x.co")}
        ],
    }
    headers = {"Authorization": f"Bearer {tenant.token}", "User-Agent": "Okta SCIM Client 1.0.0"}
    with httpx2.Client(base_url=server_url, headers=headers, timeout=30) as http:
        assert http.post("/Bulk", json=body).status_code == 200
    deadline = time.monotonic() + 10
    while not log_entries(database) and time.monotonic() < deadline:
        time.sleep(0.05)
    (entry,) = log_entries(database)
    assert (entry.event, entry.user_agent, entry.idp) == ("bulk", "Okta SCIM Client 1.0.0", "okta")


def test_concurrent_requests_each_leave_their_entry(
    server_url: str, tenant: Tenant, database: Database, ring: KeyRing
) -> None:
    """Entries committed together (one writer, grouped commits) still number one a request.

    An entry is written just after its response is sent, so the last ones may land a
    moment after the client has its answers.
    """
    headers = {"Authorization": f"Bearer {tenant.token}"}
    paths = [f"/Users?filter=userName+eq+%22nobody{n}%40x.co%22" for n in range(40)]

    def fetch(path: str) -> int:
        with httpx2.Client(base_url=server_url, headers=headers, timeout=30) as http:
            return http.get(path).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(fetch, paths))
    assert statuses == [200] * len(paths)
    deadline = time.monotonic() + 10
    while len(log_entries(database)) < len(paths) and time.monotonic() < deadline:
        time.sleep(0.05)
    entries = log_entries(database)
    assert len(entries) == len(paths)
    logged = sorted(payload(ring, entry)["query"] for entry in entries)
    assert logged == sorted(path.split("?", 1)[1] for path in paths)
