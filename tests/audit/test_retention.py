"""Retention: entries past their organization's retention are purged, and only those."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.audit import retention
from scimgate.config import Settings
from scimgate.storage.database import Database
from scimgate.storage.models import RequestLogEntry, utcnow
from tests.audit.conftest import log_entries
from tests.conftest import Tenant, TenantFactory
from tests.test_cli import run_cli


def _age(database: Database, entry_id: int, days: float) -> None:
    """Make an entry ``days`` days old."""
    with database.transaction() as session:
        session.execute(
            update(RequestLogEntry)
            .where(RequestLogEntry.id == entry_id)
            .values(created_at=utcnow() - timedelta(days=days))
        )


def _aged_entries(database: Database, tenant: Tenant, ages: list[float]) -> list[int]:
    """One entry per age, for ``tenant``; their ids in the order of ``ages``."""
    ids = []
    for age in ages:
        assert tenant.get("/ServiceProviderConfig").status_code == 200
        entry_id = log_entries(database)[-1].id
        _age(database, entry_id, age)
        ids.append(entry_id)
    return ids


def test_purge_removes_only_entries_past_retention(
    settings: Settings,
    database: Database,
    make_tenant: TenantFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each organization keeps entries for its own retention (30 days unless set)."""
    default, short = make_tenant("default"), make_tenant("short")
    status, shown = run_cli(monkeypatch, capsys, settings, "logs", "retention", "short", "7")
    assert (status, shown) == (0, {"org": "short", "log_retention_days": 7})
    kept_default = _aged_entries(database, default, [0, 10, 29.9])
    gone_default = _aged_entries(database, default, [30.1, 400])
    kept_short = _aged_entries(database, short, [0, 6.9])
    gone_short = _aged_entries(database, short, [7.1, 10])

    status, result = run_cli(monkeypatch, capsys, settings, "logs", "purge")
    assert (status, result) == (0, {"purged": len(gone_default) + len(gone_short)})
    assert sorted(e.id for e in log_entries(database)) == sorted(kept_default + kept_short)


def test_purge_works_in_batches(database: Database, tenant: Tenant) -> None:
    """A purge larger than one batch removes everything due, batch after batch."""
    _aged_entries(database, tenant, [40] * 5)
    assert retention.purge(database, batch=2) == 5
    assert log_entries(database) == []


def test_retention_must_be_sensible(
    settings: Settings,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A retention of zero days (or over ten years) is refused; without days it is shown."""
    for days in ("0", "3651"):
        status, error = run_cli(monkeypatch, capsys, settings, "logs", "retention", "acme", days)
        assert status == 1 and error["status"] == 400
    status, shown = run_cli(monkeypatch, capsys, settings, "logs", "retention", "acme")
    assert shown == {"org": "acme", "log_retention_days": 30}


def test_server_purges_periodically(settings: Settings, database: Database, tenant: Tenant) -> None:
    """A server started with a purge interval purges old entries on its own."""
    old = _aged_entries(database, tenant, [31])
    periodic = settings.model_copy(update={"log_purge_interval_seconds": 1})
    with TestClient(create_app(periodic, db=database)):
        deadline = time.monotonic() + 10
        while old[0] in {e.id for e in log_entries(database)} and time.monotonic() < deadline:
            time.sleep(0.1)
    assert log_entries(database) == []
