"""``scimgate breaker``: administrators see, approve and tune the mass-deprovisioning breaker."""

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.cli import main
from scimgate.config import Settings
from scimgate.domain import breaker
from scimgate.storage.database import Database
from tests.conftest import TEST_LOG_KEYS, Tenant, TenantFactory, patch_body
from tests.scim.test_breaker import Clock, assert_held, deactivate, provision
from tests.test_cli import run_cli

Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    """Run one command with --json against the test database: (status, output)."""
    return lambda *argv: run_cli(monkeypatch, capsys, settings, *argv)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock the test can move past a window."""
    moved = Clock()
    monkeypatch.setattr(breaker, "now", moved)
    return moved


def _ok(result: tuple[int, Any]) -> Any:
    status, output = result
    assert status == 0, output
    return output


def _tripped(database: Database, tenant: Tenant) -> list[str]:
    """40 members, 10 deactivated, the 11th held; return the ids."""
    ids = provision(database, tenant, 40)
    for user_id in ids[:10]:
        assert deactivate(tenant, user_id).status_code == 200
    assert_held(deactivate(tenant, ids[10]))
    return ids


def test_status_shows_the_trip(cli: Cli, tenant: Tenant, database: Database) -> None:
    """status says tripped, what was counted, the limit and how many requests were held."""
    closed = _ok(cli("breaker", "status", "acme"))
    assert (closed["state"], closed["active_members"], closed["allowed"]) == ("closed", 0, 10)
    ids = _tripped(database, tenant)
    assert_held(tenant.delete(f"/Users/{ids[11]}"))
    shown = _ok(cli("breaker", "status", "Acme"))
    assert shown["state"] == "tripped"
    assert (shown["share"], shown["min_people"], shown["window_seconds"]) == (0.25, 10, 3600)
    counted = ("active_members", "deprovisioned_in_window", "base", "allowed", "held_requests")
    assert [shown[key] for key in counted] == [30, 10, 40, 10, 2]
    assert shown["tripped_at"] and shown["frees_at"]
    assert "scimgate breaker approve acme" in shown["summary"]


def test_approve_lets_the_held_requests_through(
    cli: Cli, tenant: Tenant, database: Database, clock: Clock
) -> None:
    """After approve the IdP's retry succeeds, and so does the rest, for one window."""
    ids = _tripped(database, tenant)
    approved = _ok(cli("breaker", "approve", "acme"))
    assert approved["state"] == "approved" and approved["approved_until"]
    assert deactivate(tenant, ids[10]).status_code == 200
    for user_id in ids[11:25]:
        assert tenant.delete(f"/Users/{user_id}").status_code == 204
    clock.advance(3601)
    # Counting starts again from zero once the approval ends: 15 active, so 10 may go.
    after = _ok(cli("breaker", "status", "acme"))
    assert (after["state"], after["deprovisioned_in_window"], after["base"]) == ("closed", 0, 15)
    for user_id in ids[25:35]:
        assert deactivate(tenant, user_id).status_code == 200
    assert_held(deactivate(tenant, ids[35]))


def test_approve_for_a_given_time(
    cli: Cli, tenant: Tenant, database: Database, clock: Clock
) -> None:
    """approve --seconds sets how long the approval lasts; the breaker holds again after it."""
    ids = _tripped(database, tenant)
    _ok(cli("breaker", "approve", "acme", "--seconds", "60"))
    assert deactivate(tenant, ids[10]).status_code == 200
    clock.advance(61)
    assert _ok(cli("breaker", "status", "acme"))["state"] == "closed"
    status, error = cli("breaker", "approve", "acme", "--seconds", "0")
    assert status == 1 and error["status"] == 400


def test_organization_limits(cli: Cli, tenant: Tenant, database: Database) -> None:
    """set changes one organization's limits; share 0 turns the breaker off; defaults return."""
    ids = provision(database, tenant, 40)
    shown = _ok(cli("breaker", "set", "acme", "--share", "0"))
    assert shown["state"] == "off" and shown["overrides"]["share"] == 0
    for user_id in ids[:20]:
        assert deactivate(tenant, user_id).status_code == 200

    tuned = _ok(cli("breaker", "set", "acme", "--share", "0.1", "--min-people", "2"))
    # 20 active and 0 counted (nothing is counted while off): 2 may go.
    assert (tuned["state"], tuned["allowed"], tuned["overrides"]["min_people"]) == ("closed", 2, 2)
    assert deactivate(tenant, ids[20]).status_code == 200
    assert deactivate(tenant, ids[21]).status_code == 200
    assert "limit of 10% (2 people)" in assert_held(deactivate(tenant, ids[22]))

    back = _ok(cli("breaker", "set", "acme", "--server-defaults"))
    assert back["overrides"] == {"share": None, "min_people": None, "window_seconds": None}
    assert back["state"] == "closed" and back["min_people"] == 10
    assert deactivate(tenant, ids[22]).status_code == 200
    for bad in (["--share", "1.5"], ["--min-people", "-1"], ["--window-seconds", "0"]):
        status, error = cli("breaker", "set", "acme", *bad)
        assert status == 1 and error["status"] == 400, bad
    status, error = cli("breaker", "status", "nobody")
    assert status == 1 and error["status"] == 404


def test_server_defaults_come_from_the_environment(
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    database: Database,
) -> None:
    """SCIMGATE_BREAKER_* set the limits of every organization without its own."""
    tuned = settings.model_copy(update={"breaker_share": 0.2, "breaker_min_people": 3})
    with TestClient(create_app(tuned, db=database), raise_server_exceptions=False) as client:
        tenant = TenantFactory(database, client)("acme")
        ids = provision(database, tenant, 10)
        for user_id in ids[:3]:
            assert deactivate(tenant, user_id).status_code == 200
        assert "limit of 20% (3 people)" in assert_held(deactivate(tenant, ids[3]))
    monkeypatch.setenv("SCIMGATE_BREAKER_MIN_PEOPLE", "3")
    monkeypatch.setenv("SCIMGATE_BREAKER_SHARE", "0.2")
    shown = _ok(cli("breaker", "status", "acme"))
    assert (shown["state"], shown["share"], shown["min_people"]) == ("tripped", 0.2, 3)


def test_first_deprovisioning_ever_can_trip(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, settings: Settings, database: Database
) -> None:
    """With no minimum, a small organization's very first deprovisioning can be held, and trips."""
    tuned = settings.model_copy(update={"breaker_share": 0.2, "breaker_min_people": 0})
    with TestClient(create_app(tuned, db=database), raise_server_exceptions=False) as client:
        tenant = TenantFactory(database, client)("acme")
        [user_id, *_] = provision(database, tenant, 4)
        assert "limit of 20% (0 people)" in assert_held(tenant.delete(f"/Users/{user_id}"))
    monkeypatch.setenv("SCIMGATE_BREAKER_MIN_PEOPLE", "0")
    monkeypatch.setenv("SCIMGATE_BREAKER_SHARE", "0.2")
    shown = _ok(cli("breaker", "status", "acme"))
    assert (shown["state"], shown["held_requests"]) == ("tripped", 1)


def test_logs_list_shows_the_trip(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli: Cli,
    tenant: Tenant,
    database: Database,
) -> None:
    """logs list shows the held request with the breaker's warning; text output too."""
    _tripped(database, tenant)
    monkeypatch.setenv("SCIMGATE_LOG_KEYS", TEST_LOG_KEYS)
    listed = _ok(cli("logs", "list", "acme", "--status", "503"))
    [entry] = listed["entries"]
    assert entry["summary"].startswith("deactivate user")
    [warning] = entry["warnings"]
    assert warning.startswith("Mass-deprovisioning breaker tripped: this request would make 11")

    assert main(["breaker", "status", "acme"]) == 0
    text = capsys.readouterr().out
    assert "state=tripped" in text and "scimgate breaker approve acme" in text


def test_reactivation_while_tripped(cli: Cli, tenant: Tenant, database: Database) -> None:
    """Re-activating members is never held, and leaves the breaker tripped."""
    ids = _tripped(database, tenant)
    reactivate = patch_body({"op": "replace", "path": "active", "value": True})
    for user_id in ids[:3]:
        assert tenant.patch(f"/Users/{user_id}", json=reactivate).status_code == 200
    assert _ok(cli("breaker", "status", "acme"))["state"] == "tripped"
    assert_held(deactivate(tenant, ids[10]))
