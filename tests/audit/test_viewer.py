"""The viewer: ``scimgate logs list/show`` and the admin API's logs endpoints."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.cli import main
from scimgate.config import Settings
from scimgate.storage.database import Database
from scimgate.storage.models import RequestLogEntry, utcnow
from tests.conftest import TEST_LOG_KEYS, Tenant, TenantFactory, patch_body, user_body
from tests.test_cli import run_cli

ADMIN_KEY = "admin-key-for-log-tests"


@pytest.fixture
def admin(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app with an admin API key, sending that key."""
    keyed = settings.model_copy(update={"admin_api_key": SecretStr(ADMIN_KEY)})
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(keyed, db=database), headers=headers) as client:
        yield client


@pytest.fixture
def history(database: Database, admin: TestClient) -> dict[str, Any]:
    """Organization "acme" with six requests of several kinds; "other" with one."""
    acme = TenantFactory(database, admin)("acme")
    user_id = acme.post("/Users", json=user_body("ada@example.com")).json()["id"]
    acme.post("/Users", json=user_body("ada@example.com"))  # 409
    body = patch_body({"op": "replace", "path": "active", "value": False})
    acme.patch(f"/Users/{user_id}", json=body)
    acme.get("/Users/nope")  # 404
    acme.get("/Users")
    acme.get("/Schemas")
    other = TenantFactory(database, admin)("other")
    other.get("/Users")
    return {"acme": acme, "other": other, "user_id": user_id}


def _cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    *argv: str,
) -> Any:
    monkeypatch.setenv("SCIMGATE_LOG_KEYS", TEST_LOG_KEYS)
    status, result = run_cli(monkeypatch, capsys, settings, "logs", *argv)
    assert status == 0, result
    return result


def _events(result: dict[str, Any]) -> list[tuple[str, int]]:
    return [(entry["event"], entry["status"]) for entry in result["entries"]]


def test_list_filters(
    history: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Entries come newest first and filter by status, resource, event and target."""

    def cli(*argv: str) -> Any:
        return _cli(monkeypatch, capsys, settings, "list", "acme", *argv)

    everything = cli()
    assert everything["total"] == 6
    assert _events(everything) == [
        ("list", 200), ("list", 200), ("read", 404), ("patch", 200), ("create", 409),
        ("create", 201),
    ]  # fmt: skip
    assert _events(cli("--status", "4xx")) == [("read", 404), ("create", 409)]
    assert _events(cli("--status", "404")) == [("read", 404)]
    assert _events(cli("--resource", "discovery")) == [("list", 200)]
    assert _events(cli("--resource", "users", "--event", "create")) == [
        ("create", 409),
        ("create", 201),
    ]
    by_target = cli("--target", history["user_id"])
    assert [e["summary"] for e in by_target["entries"]] == [
        "deactivate user ada@example.com",
        "create user ada@example.com",
    ]
    page = cli("--limit", "2", "--offset", "1")
    assert (page["total"], page["limit"], page["offset"]) == (6, 2, 1)
    assert _events(page) == [("list", 200), ("read", 404)]


def test_list_time_range(
    history: dict[str, Any],
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--since and --until select by time; times without an offset are UTC."""
    day_ago = utcnow() - timedelta(days=1)
    with database.transaction() as session:
        session.execute(
            update(RequestLogEntry)
            .where(RequestLogEntry.event == "patch")
            .values(created_at=day_ago)
        )
    since = (day_ago + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert _cli(monkeypatch, capsys, settings, "list", "acme", "--since", since)["total"] == 5
    until = _cli(monkeypatch, capsys, settings, "list", "acme", "--until", since)
    assert _events(until) == [("patch", 200)]


@pytest.mark.parametrize(
    "argv",
    [
        ["--status", "4x"],
        ["--status", "600"],
        ["--resource", "Widget"],
        ["--event", "explode"],
        ["--since", "yesterday"],
        ["--limit", "0"],
    ],
)
def test_bad_filters_are_refused(
    history: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    """A filter the viewer cannot read is an error that says what it accepts."""
    monkeypatch.setenv("SCIMGATE_LOG_KEYS", TEST_LOG_KEYS)
    status, error = run_cli(monkeypatch, capsys, settings, "logs", "list", "acme", *argv)
    assert status == 1 and error["status"] == 400


def test_show_pretty_prints_the_decrypted_entry(
    history: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``logs show ID`` prints the whole entry, bodies included, as indented JSON."""
    listed = _cli(monkeypatch, capsys, settings, "list", "acme", "--event", "patch")
    entry_id = str(listed["entries"][0]["id"])
    shown = _cli(monkeypatch, capsys, settings, "show", entry_id)
    assert shown["summary"] == "deactivate user ada@example.com"
    assert shown["request"]["body"]["Operations"][0]["value"] is False
    assert shown["response"]["body"]["active"] is False
    assert main(["logs", "show", entry_id]) == 0
    text = capsys.readouterr().out
    assert text.startswith("{\n  ") and '"event": "patch"' in text
    status, error = run_cli(monkeypatch, capsys, settings, "logs", "show", "999999")
    assert status == 1 and error["status"] == 404


def test_text_listing(
    history: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --json, the listing is one line per entry."""
    monkeypatch.setenv("SCIMGATE_LOG_KEYS", TEST_LOG_KEYS)
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", settings.database_url)
    assert main(["logs", "list", "acme", "--status", "409"]) == 0
    out = capsys.readouterr().out
    assert "total=1" in out and "status=409" in out and "create user ada@example.com" in out


def test_admin_api_lists_and_shows(history: dict[str, Any], admin: TestClient) -> None:
    """The admin API offers the same filters, paginated, and the decrypted entry."""
    response = admin.get("/api/orgs/acme/logs", params={"status": "2xx", "limit": 2})
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["total"], page["limit"], page["offset"], len(page["entries"])) == (4, 2, 0, 2)
    entry_id = page["entries"][0]["id"]
    shown = admin.get(f"/api/orgs/acme/logs/{entry_id}").json()
    assert shown["summary"] == "list Schemas" and shown["response"]["body"]["totalResults"]
    other = admin.get("/api/orgs/other/logs").json()["entries"][0]["id"]
    assert admin.get(f"/api/orgs/acme/logs/{other}").status_code == 404
    assert admin.get("/api/orgs/acme/logs", params={"status": "9xx"}).status_code == 400
    assert admin.get("/api/orgs/acme/logs", headers={"Authorization": "x"}).status_code == 401


def test_admin_api_retention_and_counters(history: dict[str, Any], admin: TestClient) -> None:
    """Retention is read and set through the API; the counters say what was logged."""
    assert admin.get("/api/orgs/acme/log-retention").json()["log_retention_days"] == 30
    changed = admin.put("/api/orgs/acme/log-retention", json={"days": 90})
    assert changed.json() == {"org": "acme", "log_retention_days": 90}
    assert admin.put("/api/orgs/acme/log-retention", json={"days": 0}).status_code == 400
    counters = admin.get("/api/request-log").json()
    assert counters == {"written": 7, "unattributed": 0, "failed": 0}


def test_tenant_of_other_org_sees_nothing(history: dict[str, Any]) -> None:
    """A SCIM token gives no access to the logs (the admin API needs the admin key)."""
    other: Tenant = history["other"]
    response = other.client.get("/api/orgs/other/logs", headers=other.headers())
    assert response.status_code == 401
