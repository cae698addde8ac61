"""The mass-deprovisioning breaker in the JSON admin API."""

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.storage.database import Database
from tests.conftest import Tenant, TenantFactory
from tests.scim.test_breaker import assert_held, deactivate, provision

KEY = "admin-key-for-tests"


@pytest.fixture
def admin(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app with an admin API key, sending that key."""
    keyed = settings.model_copy(update={"admin_api_key": SecretStr(KEY)})
    headers = {"Authorization": f"Bearer {KEY}"}
    app = create_app(keyed, db=database)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


def _ok(response: httpx2.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _error(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"])


def test_status_approve_and_limits(admin: TestClient, database: Database) -> None:
    """GET shows the trip, POST approve lets the held request through, PATCH sets limits."""
    acme: Tenant = TenantFactory(database, admin)("acme")
    ids = provision(database, acme, 40)
    for user_id in ids[:10]:
        assert deactivate(acme, user_id).status_code == 200
    assert_held(deactivate(acme, ids[10]))
    path = f"/api/orgs/{acme.org_id}/breaker"
    shown = _ok(admin.get(path))
    assert (shown["state"], shown["deprovisioned_in_window"], shown["held_requests"]) == (
        "tripped",
        10,
        1,
    )
    assert "seconds" in _error(admin.post(f"{path}/approve", json={"seconds": "soon"}), 400)
    assert "until" in _error(admin.post(f"{path}/approve", json={"until": 3}), 400)
    approved = _ok(admin.post(f"{path}/approve", json={"seconds": 600}))
    assert approved["state"] == "approved"
    assert deactivate(acme, ids[10]).status_code == 200

    tuned = _ok(admin.patch(path, json={"share": 0.5, "window_seconds": 600}))
    assert (tuned["share"], tuned["window_seconds"], tuned["min_people"]) == (0.5, 600, 10)
    assert tuned["overrides"] == {"share": 0.5, "min_people": None, "window_seconds": 600}
    reset = _ok(admin.patch(path, json={"share": None, "window_seconds": None}))
    assert (reset["share"], reset["window_seconds"]) == (0.25, 3600)
    assert "share" in _error(admin.patch(path, json={"share": True}), 400)
    assert "min_people" in _error(admin.patch(path, json={"min_people": 2.5}), 400)
    assert "known" in _error(admin.patch(path, json={"limit": 3}), 400)
    assert _error(admin.get("/api/orgs/nobody/breaker"), 404)
