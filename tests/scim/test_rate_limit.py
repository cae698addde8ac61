"""The per-organization rate limit, over HTTP, on both databases.

The app's throttle reads a clock the tests move on by hand, so nothing sleeps.
"""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.config import Settings
from scimgate.scim.throttle import Throttle
from tests.conftest import Tenant, TenantFactory, assert_scim_error, user_body

ADMIN_KEY = "admin-key-for-rate-limit-tests"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One request per second, in bursts of three; the admin API on to read the log."""
    return settings.model_copy(
        update={
            "rate_limit_per_second": 1.0,
            "rate_limit_burst": 3,
            "admin_api_key": SecretStr(ADMIN_KEY),
        }
    )


@pytest.fixture
def clock(client: TestClient) -> Iterator[Clock]:
    """The clock of the app's throttle."""
    throttle: Throttle = client.app.state.throttle  # type: ignore[attr-defined]
    fake = Clock()
    throttle.clock = fake
    yield fake


def _burst(tenant: Tenant, count: int) -> list[int]:
    return [tenant.get("/Users").status_code for _ in range(count)]


def test_request_beyond_the_burst_gets_429(tenant: Tenant, clock: Clock) -> None:
    """With 1/s and bursts of 3, the 4th immediate request is 429 with Retry-After."""
    assert _burst(tenant, 3) == [200, 200, 200]
    response = tenant.get("/Users")
    body = assert_scim_error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert body["detail"] == (
        "Organization 'acme' is over its rate limit of 1 requests/s (bursts of up to 3); "
        f"retry in {response.headers['Retry-After']} s."
    )


def test_retry_after_is_the_wait_for_one_token_rounded_up(
    tenant: Tenant, clock: Clock, client: TestClient
) -> None:
    """Retry-After is the seconds until a token is back, rounded up and never below 1."""
    # One token every 4 seconds; the steps below are exact in binary floating point.
    client.app.state.throttle = Throttle(0.25, 1, clock)  # type: ignore[attr-defined]
    assert tenant.get("/Users").status_code == 200
    assert tenant.get("/Users").headers["Retry-After"] == "4"
    clock.now += 2.5
    assert tenant.get("/Users").headers["Retry-After"] == "2"
    clock.now += 1.25
    assert tenant.get("/Users").headers["Retry-After"] == "1"
    clock.now += 0.25
    assert tenant.get("/Users").status_code == 200


def test_other_organization_is_unaffected(
    tenant: Tenant, make_tenant: TenantFactory, clock: Clock
) -> None:
    """One organization's empty bucket does not hold back another's requests."""
    _burst(tenant, 3)
    assert tenant.get("/Users").status_code == 429
    other = make_tenant("other")
    assert _burst(other, 3) == [200, 200, 200]
    assert other.get("/Users").status_code == 429


def test_requests_pass_again_once_tokens_come_back(tenant: Tenant, clock: Clock) -> None:
    """Tokens come back at the rate: one second gives one request, three give three."""
    _burst(tenant, 3)
    assert tenant.get("/Users").status_code == 429
    clock.now += 1
    assert _burst(tenant, 2) == [200, 429]
    clock.now += 60
    # The bucket holds no more than the burst, however long the pause.
    assert _burst(tenant, 4) == [200, 200, 200, 429]


def test_unauthenticated_requests_count_for_no_organization(
    tenant: Tenant, clock: Clock, client: TestClient
) -> None:
    """Requests with a wrong token are refused 401 and leave the organization's bucket full."""
    for _ in range(5):
        response = client.get("/scim/v2/Users", headers={"Authorization": "Bearer wrong"})
        assert_scim_error(response, 401)
    assert _burst(tenant, 3) == [200, 200, 200]


def test_every_endpoint_counts(tenant: Tenant, clock: Clock) -> None:
    """Writes and discovery requests take tokens like reads; a refused write changes nothing."""
    assert tenant.post("/Users", json=user_body("ada@example.com")).status_code == 201
    assert tenant.get("/ServiceProviderConfig").status_code == 200
    assert tenant.get("/Users").status_code == 200
    refused = tenant.post("/Users", json=user_body("bob@example.com"))
    assert_scim_error(refused, 429)
    clock.now += 1
    found = tenant.get("/Users", params={"filter": 'userName eq "bob@example.com"'})
    assert found.json()["totalResults"] == 0


def test_bulk_request_counts_once(tenant: Tenant, clock: Clock) -> None:
    """A /Bulk request takes one token, however many operations it carries."""
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user_body(f"u{i}@x.org")}
        for i in range(5)
    ]
    response = tenant.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations})
    assert response.status_code == 200
    assert [result["status"] for result in response.json()["Operations"]] == ["201"] * 5
    assert _burst(tenant, 3) == [200, 200, 429]


def test_refused_requests_are_in_the_request_log(tenant: Tenant, clock: Clock) -> None:
    """Each 429 is logged for the organization, like any SCIM request."""
    _burst(tenant, 3)
    for _ in range(2):
        assert tenant.get("/Users").status_code == 429
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    logged = tenant.client.get("/api/orgs/acme/logs", params={"status": "429"}, headers=admin)
    assert logged.status_code == 200
    entries = logged.json()["entries"]
    assert [(entry["status"], entry["method"]) for entry in entries] == [(429, "GET")] * 2
    assert all(entry["path"] == "/scim/v2/Users" for entry in entries)


def test_rate_zero_admits_everything() -> None:
    """The default rate, 0, turns the limit off."""
    throttle = Throttle(0, 1, clock=lambda: 0.0)
    assert all(throttle.take("org") == 0 for _ in range(1000))
    assert Settings.model_fields["rate_limit_per_second"].default == 0
