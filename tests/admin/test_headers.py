"""Security headers on admin API and SCIM responses, as a client receives them."""

from collections.abc import Iterator

import httpx2
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from scimgate.admin.headers import ADMIN_HEADERS, SCIM_HEADERS, SecurityHeaders
from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.storage.database import Database
from tests.conftest import Tenant, TenantFactory, user_body

KEY = "admin-key-for-header-tests"
ADMIN_EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.fixture
def admin(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app with an admin API key, sending that key."""
    keyed = settings.model_copy(update={"admin_api_key": SecretStr(KEY)})
    headers = {"Authorization": f"Bearer {KEY}"}
    with TestClient(create_app(keyed, db=database), raise_server_exceptions=False) as client:
        client.headers.update(headers)
        yield client


def _assert_admin_headers(response: httpx2.Response) -> None:
    for name, value in ADMIN_EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url, name)


def test_admin_responses_forbid_framing_sniffing_caching_and_referrers(
    admin: TestClient, database: Database
) -> None:
    """Every /api answer, success or error, carries the admin security headers."""
    TenantFactory(database, admin)("acme")
    responses = [
        admin.get("/api/orgs"),
        admin.get("/api/orgs/acme"),
        admin.post("/api/orgs", json={"name": "initech"}),
        admin.get("/api/orgs/nobody"),  # 404 from the operation
        admin.get("/api/no-such-path"),  # 404 from routing
        admin.delete("/api/orgs"),  # 405 from routing
        admin.get("/api/orgs", headers={"Authorization": "Bearer wrong"}),  # 401
    ]
    assert [r.status_code for r in responses] == [200, 200, 201, 404, 404, 405, 401]
    for response in responses:
        _assert_admin_headers(response)


def test_admin_headers_also_while_the_api_is_off(client: TestClient) -> None:
    """Without an admin key the API answers 404, with the same headers."""
    response = client.get("/api/orgs")
    assert response.status_code == 404
    _assert_admin_headers(response)


def test_scim_responses_are_not_cached_or_sniffed(client: TestClient, tenant: Tenant) -> None:
    """SCIM answers carry personal data: no-store and nosniff on each, errors included."""
    created = tenant.post("/Users", json=user_body("ada@example.com"))
    responses = [
        created,
        tenant.get(f"/Users/{created.json()['id']}"),
        tenant.get("/Users", params={"filter": 'userName eq "ada@example.com"'}),
        tenant.get("/ServiceProviderConfig"),
        tenant.get("/Users/missing"),  # 404 SCIM error
        client.get("/scim/v2/Users"),  # 401 SCIM error
        client.get("/scim/Users", headers=tenant.headers()),  # the short prefix
    ]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 404, 401, 200]
    for response in responses:
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert response.headers.get("cache-control") == "no-store"
        # Framing rules belong to the admin API; SCIM clients are not browsers.
        assert "x-frame-options" not in response.headers


def test_conditional_get_still_answers_304(tenant: Tenant) -> None:
    """no-store does not break If-None-Match (RFC 7644 §3.14): the client keeps the ETag."""
    created = tenant.post("/Users", json=user_body("grace@example.com"))
    etag = created.headers["etag"]
    response = tenant.get(f"/Users/{created.json()['id']}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers.get("cache-control") == "no-store"


def test_a_header_the_handler_set_is_kept() -> None:
    """An admin page that sends its own policy keeps it; the rest are added."""

    async def page(request: Request) -> Response:
        return Response("<p>hi</p>", media_type="text/html", headers={"X-Frame-Options": "x"})

    async def other(request: Request) -> Response:
        return JSONResponse({})

    app = Starlette(routes=[Route("/api/page", page), Route("/other", other)])
    wrapped = SecurityHeaders(app, [(("/api",), ADMIN_HEADERS), (("/scim",), SCIM_HEADERS)])
    with TestClient(wrapped) as test:
        kept = test.get("/api/page")
        assert kept.headers["x-frame-options"] == "x"
        assert kept.headers["content-security-policy"] == ADMIN_EXPECTED["content-security-policy"]
        assert "cache-control" not in test.get("/other").headers
