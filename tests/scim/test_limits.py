"""Request limits over HTTP, on both databases: body size, filter complexity, members per
request, page size and the request timeout."""

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx2
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import insert
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.storage.database import Database
from scimgate.storage.models import User, utcnow
from tests.conftest import (
    Tenant,
    TenantFactory,
    assert_scim_error,
    group_body,
    patch_body,
    user_body,
)

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ADMIN_KEY = "admin-key-for-limit-tests"

Limited = Callable[..., Tenant]


@pytest.fixture
def limited(
    settings: Settings, database: Database, make_tenant: TenantFactory
) -> Iterator[Limited]:
    """Build an organization on an app whose settings are changed by keyword."""
    with ExitStack() as apps:

        def build(**update: Any) -> Tenant:
            app = create_app(settings.model_copy(update=update), db=database)
            client = apps.enter_context(TestClient(app, raise_server_exceptions=False))
            return dataclasses.replace(make_tenant(), client=client)

        yield build


def _chunks(body: bytes, size: int = 256) -> Iterator[bytes]:
    """A body sent in pieces, so the client sends no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- Request body size -------------------------------------------------------------------


def test_body_over_the_limit_is_413(limited: Limited) -> None:
    """A body over max_body_bytes is 413 naming the limit, and nothing is created."""
    tenant = limited(max_body_bytes=1000)
    big = user_body("ada@example.com", title="t" * 2000)
    body = assert_scim_error(tenant.post("/Users", json=big), 413)
    assert "1000 bytes" in body["detail"]
    assert tenant.get("/Users").json()["totalResults"] == 0
    assert tenant.post("/Users", json=user_body("ada@example.com")).status_code == 201


def test_chunked_body_over_the_limit_is_413(limited: Limited) -> None:
    """A body without Content-Length is refused once it passes the limit."""
    tenant = limited(max_body_bytes=1000)
    raw = httpx2.Request("POST", "/", json=user_body("a@example.com", title="t" * 2000)).content
    response = tenant.post(
        "/Users", content=_chunks(raw), headers={"Content-Type": "application/scim+json"}
    )
    assert "content-length" not in response.request.headers
    assert "1000 bytes" in assert_scim_error(response, 413)["detail"]


def test_patch_and_search_bodies_have_the_limit(limited: Limited) -> None:
    """PUT, PATCH and .search bodies are held to max_body_bytes too."""
    tenant = limited(max_body_bytes=500)
    user_id = tenant.post("/Users", json=user_body("ada@example.com")).json()["id"]
    padding = "x" * 600
    replace = patch_body({"op": "replace", "path": "title", "value": padding})
    assert_scim_error(tenant.patch(f"/Users/{user_id}", json=replace), 413)
    put = user_body("ada@example.com", title=padding)
    assert_scim_error(tenant.put(f"/Users/{user_id}", json=put), 413)
    search = {"schemas": [SEARCH], "filter": f'userName eq "{padding}"'}
    assert_scim_error(tenant.post("/Users/.search", json=search), 413)


def test_bulk_keeps_its_own_limit(limited: Limited) -> None:
    """/Bulk bodies are held to bulk_max_payload_bytes, not max_body_bytes."""
    tenant = limited(max_body_bytes=1000, bulk_max_payload_bytes=20_000)
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user_body(f"u{i}@x.org")}
        for i in range(30)
    ]
    response = tenant.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations})
    assert len(response.request.content) > 1000
    assert response.status_code == 200
    assert {result["status"] for result in response.json()["Operations"]} == {"201"}


def test_server_answers_413_without_reading_the_rest(
    settings: Settings, database: Database, make_tenant: TenantFactory
) -> None:
    """A live server answers 413 while the client is still sending: the body is not read
    to its end, so no body is held whole."""
    strict = settings.model_copy(update={"max_body_bytes": 4096, "log_max_body_bytes": 1024})
    token = make_tenant().token
    with _serve(strict, database) as (host, port), socket.create_connection((host, port)) as sock:
        sock.settimeout(30)
        sock.sendall(
            b"POST /scim/v2/Users HTTP/1.1\r\nHost: test\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 2048
        for _ in range(4):  # 8 KiB of a body that never ends
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, body = _response(sock)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert body["detail"] == "The request body is larger than 4096 bytes."


def test_admin_api_body_has_a_limit(settings: Settings, database: Database) -> None:
    """The admin API refuses a body over 64 KiB, chunked or not, in its own error format."""
    keyed = settings.model_copy(update={"admin_api_key": SecretStr(ADMIN_KEY)})
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
    raw = httpx2.Request("POST", "/", json={"name": "x" * 70_000}).content
    with TestClient(create_app(keyed, db=database), headers=headers) as admin:
        for response in (
            admin.post("/api/orgs", content=raw),
            admin.post("/api/orgs", content=_chunks(raw, 4096)),
        ):
            assert response.status_code == 413
            assert response.json() == {
                "error": "The request body is larger than 65536 bytes.",
                "status": 413,
            }
        assert admin.get("/api/orgs").json() == []


# --- Filters -----------------------------------------------------------------------------


def _nested(depth: int, inner: str = 'userName eq "a@example.com"') -> str:
    return "(" * depth + inner + ")" * depth


def _search(tenant: Tenant, path: str, text: str) -> httpx2.Response:
    return tenant.post(path, json={"schemas": [SEARCH], "filter": text})


def _everywhere(tenant: Tenant, text: str) -> list[httpx2.Response]:
    """The filter sent as a query and in each kind of search request."""
    return [
        tenant.get("/Users", params={"filter": text}),
        tenant.get("/Groups", params={"filter": text}),
        _search(tenant, "/Users/.search", text),
        _search(tenant, "/.search", text),
    ]


def test_filter_too_long_is_invalid_filter(tenant: Tenant) -> None:
    """A filter over max_filter_length (4096) is 400 invalidFilter naming the limit."""
    text = f'userName eq "{"a" * 4090}"'
    for response in _everywhere(tenant, text):
        detail = assert_scim_error(response, 400, "invalidFilter")["detail"]
        assert "4104 characters long; at most 4096" in detail


def test_deeply_nested_filter_is_invalid_filter_not_500(tenant: Tenant) -> None:
    """5000 levels of nesting are refused before parsing, never a 500; so is the deepest
    nesting the length limit lets through, naming the depth limit."""
    for text in (_nested(5000), "not (" * 5000 + "userName pr" + ")" * 5000):
        for response in _everywhere(tenant, text):
            assert_scim_error(response, 400, "invalidFilter")
    for depth, text in ((2000, _nested(2000)), (600, "not (" * 600 + "userName pr" + ")" * 600)):
        for response in _everywhere(tenant, text):
            detail = assert_scim_error(response, 400, "invalidFilter")["detail"]
            assert f"{depth} levels deep; at most 10 are accepted" in detail


def test_filter_depth_limit_counts_parentheses_not_and_value_paths(
    tenant: Tenant, limited: Limited
) -> None:
    """Ten levels pass, eleven do not, however the levels are made."""
    emails = [{"value": "a@example.com", "type": "work"}]
    assert tenant.post("/Users", json=user_body("a@example.com", emails=emails)).status_code == 201
    value_path = 'emails[value eq "a@example.com"]'
    for depth, expected in ((10, 200), (11, 400)):
        for text in (
            _nested(depth),
            "not (" * depth + 'userName ne "b"' + ")" * depth,
            _nested(depth - 1, value_path),
        ):
            response = tenant.get("/Users", params={"filter": text})
            assert response.status_code == expected, (text, response.text)
            if expected == 200:
                assert response.json()["totalResults"] == 1
    shallow = limited(max_filter_depth=2)
    assert shallow.get("/Users", params={"filter": _nested(1, value_path)}).status_code == 200
    refused = shallow.get("/Users", params={"filter": _nested(2, value_path)})
    assert "3 levels deep; at most 2" in assert_scim_error(refused, 400, "invalidFilter")["detail"]


def test_filter_comparison_limit(tenant: Tenant) -> None:
    """100 comparisons pass and 101 are refused, naming the limit."""
    tenant.post("/Users", json=user_body("u7@example.com"))

    def either(count: int) -> str:
        return " or ".join(f'userName eq "u{i}@example.com"' for i in range(count))

    assert tenant.get("/Users", params={"filter": either(100)}).json()["totalResults"] == 1
    for response in _everywhere(tenant, either(101)):
        detail = assert_scim_error(response, 400, "invalidFilter")["detail"]
        assert "101 comparisons; at most 100" in detail


def test_brackets_and_operators_inside_values_do_not_count(tenant: Tenant) -> None:
    """A quoted value may hold parentheses, brackets, quotes and operator names."""
    odd = '((((((((((([[[ eq co sw \\" pr ' * 20
    user = user_body("ada@example.com", title=odd.replace("\\", ""))
    assert tenant.post("/Users", json=user).status_code == 201
    text = f'title eq "{odd}"'
    response = tenant.get("/Users", params={"filter": text})
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 1


def test_patch_path_filters_have_the_limits(tenant: Tenant, limited: Limited) -> None:
    """Value filters in PATCH paths are held to the same limits, on groups and users."""
    user_id = tenant.post("/Users", json=user_body("ada@example.com")).json()["id"]
    group_id = tenant.post("/Groups", json=group_body("staff", [user_id])).json()["id"]
    deep = "members[" + _nested(20, f'value eq "{user_id}"') + "]"
    remove = patch_body({"op": "remove", "path": deep})
    detail = assert_scim_error(
        tenant.patch(f"/Groups/{group_id}", json=remove), 400, "invalidFilter"
    )["detail"]
    assert detail.startswith("The PATCH path nests") and "at most 10" in detail
    long_path = 'emails[value eq "' + "a" * 5000 + '"].type'
    change = patch_body({"op": "replace", "path": long_path, "value": "home"})
    assert_scim_error(tenant.patch(f"/Users/{user_id}", json=change), 400, "invalidFilter")
    assert tenant.get(f"/Groups/{group_id}").json()["members"][0]["value"] == user_id
    # A path within the limits applies as before.
    one = patch_body({"op": "remove", "path": f'members[value eq "{user_id}"]'})
    assert tenant.patch(f"/Groups/{group_id}", json=one).status_code == 204
    few = limited(max_filter_comparisons=1)
    two = patch_body({"op": "remove", "path": 'members[value eq "a" or value eq "b"]'})
    group = few.post("/Groups", json=group_body("few")).json()["id"]
    assert_scim_error(few.patch(f"/Groups/{group}", json=two), 400, "invalidFilter")


def test_bulk_patch_path_filters_have_the_limits(tenant: Tenant) -> None:
    """A bulk PATCH operation with a too deep path fails alone, with invalidFilter."""
    group_id = tenant.post("/Groups", json=group_body("staff")).json()["id"]
    deep = "members[" + _nested(20, 'value eq "x"') + "]"
    operations = [
        {
            "method": "PATCH",
            "path": f"/Groups/{group_id}",
            "data": patch_body({"op": "remove", "path": deep}),
        },
        {"method": "POST", "path": "/Users", "bulkId": "ada", "data": user_body("ada@example.com")},
    ]
    response = tenant.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations})
    results = response.json()["Operations"]
    assert [result["status"] for result in results] == ["400", "201"]
    assert results[0]["response"]["scimType"] == "invalidFilter"


# --- Members per request -----------------------------------------------------------------


def test_members_per_request_is_too_many(limited: Limited) -> None:
    """POST, PUT and PATCH naming more members than max_members_per_request are 400
    tooMany (RFC 7644 §3.12), and change nothing."""
    tenant = limited(max_members_per_request=2)
    ids = [tenant.post("/Users", json=user_body(f"m{i}@x.org")).json()["id"] for i in range(3)]
    detail = assert_scim_error(tenant.post("/Groups", json=group_body("all", ids)), 400, "tooMany")[
        "detail"
    ]
    assert "at most 2 members" in detail
    group_id = tenant.post("/Groups", json=group_body("two", ids[:2])).json()["id"]
    assert_scim_error(
        tenant.put(f"/Groups/{group_id}", json=group_body("two", ids)), 400, "tooMany"
    )
    add = patch_body({"op": "add", "path": "members", "value": [{"value": i} for i in ids]})
    assert_scim_error(tenant.patch(f"/Groups/{group_id}", json=add), 400, "tooMany")
    members = tenant.get(f"/Groups/{group_id}").json()["members"]
    assert sorted(member["value"] for member in members) == sorted(ids[:2])
    assert tenant.get("/Groups").json()["totalResults"] == 1


def test_bulk_limits_are_advertised_and_enforced(limited: Limited) -> None:
    """maxOperations and maxPayloadSize follow the settings; one operation over is 413."""
    tenant = limited(bulk_max_operations=2, bulk_max_payload_bytes=5000)
    bulk = tenant.get("/ServiceProviderConfig").json()["bulk"]
    assert bulk == {"supported": True, "maxOperations": 2, "maxPayloadSize": 5000}
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user_body(f"u{i}@x.org")}
        for i in range(3)
    ]
    response = tenant.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations})
    assert "at most 2 operations" in assert_scim_error(response, 413)["detail"]
    assert tenant.get("/Users").json()["totalResults"] == 0


# --- Page size ---------------------------------------------------------------------------


def test_count_is_capped_at_max_page_size_and_advertised(limited: Limited) -> None:
    """count=100000 gives at most max_page_size results; filter.maxResults says so."""
    tenant = limited(max_page_size=3)
    for i in range(5):
        tenant.post("/Users", json=user_body(f"u{i}@x.org"))
    config = tenant.get("/ServiceProviderConfig").json()
    assert config["filter"] == {"supported": True, "maxResults": 3}
    assert config["pagination"]["maxPageSize"] == 3
    for response in (
        tenant.get("/Users", params={"count": "100000"}),
        tenant.post("/Users/.search", json={"schemas": [SEARCH], "count": 100000}),
        tenant.post("/.search", json={"schemas": [SEARCH], "count": 100000}),
    ):
        body = response.json()
        assert (body["totalResults"], body["itemsPerPage"], len(body["Resources"])) == (5, 3, 3)


def test_negative_count_gives_no_results(tenant: Tenant) -> None:
    """RFC 7644 §3.4.2.4: a negative count is read as 0: the total and no resources."""
    tenant.post("/Users", json=user_body("ada@example.com"))
    for response in (
        tenant.get("/Users", params={"count": "-5"}),
        tenant.post("/.search", json={"schemas": [SEARCH], "count": -1}),
    ):
        body = response.json()
        assert response.status_code == 200
        assert (body["totalResults"], body["itemsPerPage"]) == (1, 0)
        assert body.get("Resources", []) == []


# --- Request timeout ---------------------------------------------------------------------


@contextmanager
def _serve(settings: Settings, database: Database) -> Iterator[tuple[str, int]]:
    """Serve an app built from ``settings`` with uvicorn on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(settings, db=database)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _response(sock: socket.socket) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Read one HTTP response with a Content-Length: status line, headers, JSON body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"\r\n\r\n"
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    while len(rest) < int(headers["content-length"]):
        rest += sock.recv(65536)
    return status, headers, json.loads(rest)


def test_request_still_running_after_the_timeout_gets_503(
    settings: Settings, database: Database, make_tenant: TenantFactory
) -> None:
    """A request whose body has not all arrived when the timeout passes is answered 503
    with Retry-After, and logged with that status."""
    quick = settings.model_copy(
        update={
            "request_timeout_seconds": 0.5,
            # The request log reads the first bytes before the handler runs; the rest is
            # read by the handler, under the timeout.
            "log_max_body_bytes": 16,
            "admin_api_key": SecretStr(ADMIN_KEY),
        }
    )
    tenant = make_tenant()
    with _serve(quick, database) as (host, port), socket.create_connection((host, port)) as sock:
        sock.settimeout(30)
        sock.sendall(
            b"POST /scim/v2/Users HTTP/1.1\r\nHost: test\r\n"
            b"Authorization: Bearer " + tenant.token.encode() + b"\r\n"
            b"Content-Type: application/scim+json\r\nContent-Length: 200\r\n\r\n"
            b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], '
        )
        status, headers, body = _response(sock)
        assert status == "HTTP/1.1 503 Service Unavailable"
        assert int(headers["retry-after"]) >= 1
        assert headers["content-type"].startswith("application/scim+json")
        assert body["status"] == "503"
        assert body["detail"].startswith("The request did not finish within 0.5 seconds")
        assert _logged_statuses(f"http://{host}:{port}", tenant.name) == [503]


def _logged_statuses(base: str, org: str) -> list[int]:
    """The statuses in the organization's request log, once it holds an entry.

    A live server writes the entry just after the response has gone out.
    """
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx2.Client(base_url=base, headers=headers) as admin:
        deadline = time.monotonic() + 10
        while True:
            entries = admin.get(f"/api/orgs/{org}/logs").json()["entries"]
            if entries or time.monotonic() > deadline:
                return [entry["status"] for entry in entries]
            time.sleep(0.05)


def _many_users(database: Database, org_id: str, count: int) -> None:
    """Insert ``count`` users with a stored title, straight into the database."""
    now = utcnow()
    rows = [
        {
            "id": f"{org_id[:8]}{i:024d}",
            "org_id": org_id,
            "user_name": f"user{i}@example.com",
            "user_name_norm": f"user{i}@example.com",
            "attributes": {"title": f"Engineer number {i} of the platform team"},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with database.transaction() as session:
        session.execute(insert(User), rows)


def test_query_running_past_the_timeout_is_stopped_with_503(
    settings: Settings, database: Database, tenant: Tenant, dialect: str
) -> None:
    """A filter scanning thousands of stored documents, with a 1 ms timeout, is stopped
    by the database and answered 503 with Retry-After; with 30 s it answers 200.

    On SQLite the read runs on the event loop, where only the statement bound can stop
    it; the token's use was recorded beforehand, so nothing else awaits.
    """
    _many_users(database, tenant.org_id, 3000)
    heavy = " or ".join(f'title co "absent {i}"' for i in range(40))
    assert tenant.get("/Users", params={"count": "1"}).status_code == 200
    patient = settings.model_copy(update={"request_timeout_seconds": 30})
    with TestClient(create_app(patient), raise_server_exceptions=False) as client:
        found = client.get("/scim/v2/Users", params={"filter": heavy}, headers=tenant.headers())
        assert found.status_code == 200, found.text
        assert found.json()["totalResults"] == 0
    hasty = settings.model_copy(update={"request_timeout_seconds": 0.001})
    with TestClient(create_app(hasty), raise_server_exceptions=False) as client:
        response = client.get("/scim/v2/Users", params={"filter": heavy}, headers=tenant.headers())
    body = assert_scim_error(response, 503)
    assert int(response.headers["Retry-After"]) >= 1
    if dialect == "sqlite":
        assert body["detail"].startswith("A database statement ran longer than 0.001 seconds")
