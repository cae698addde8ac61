"""Key rotation: entries stay readable while keys are added, and after a rekey."""

import dataclasses

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.audit import cipher, keys
from scimgate.audit.entries import open_entry
from scimgate.audit.keys import KeyRing
from scimgate.config import Settings
from scimgate.storage.database import Database
from tests.audit.conftest import log_entries, payload
from tests.conftest import Tenant, TenantFactory, user_body
from tests.test_cli import run_cli

K1 = keys.new_key_entry("k1")
K2 = keys.new_key_entry("k2")


def _ring(text: str) -> KeyRing:
    return KeyRing(keys.parse_ring(text))


def _provision(settings: Settings, database: Database, tenant: Tenant, ring: str, n: int) -> None:
    """Send ``n`` user creations through an app whose key ring is ``ring``."""
    configured = settings.model_copy(update={"log_keys": SecretStr(ring)})
    with TestClient(create_app(configured, db=database)) as client:
        sender = dataclasses.replace(tenant, client=client)
        for _ in range(n):
            assert sender.post("/Users", json=user_body(f"{n}-{_}@example.com")).status_code == 201


def test_rotation_then_rekey(
    settings: Settings,
    database: Database,
    make_tenant: TenantFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Entries under key 1 and key 2 all open; after rekey all are under key 2 alone."""
    tenant = make_tenant("acme")
    _provision(settings, database, tenant, K1, 2)
    _provision(settings, database, tenant, f"{K1},{K2}", 3)
    both = _ring(f"{K1},{K2}")
    assert [e.key_id for e in log_entries(database)] == ["k1", "k1", "k2", "k2", "k2"]
    assert all(payload(both, entry)["summary"] for entry in log_entries(database))

    monkeypatch.setenv("SCIMGATE_LOG_KEYS", f"{K1},{K2}")
    status, result = run_cli(monkeypatch, capsys, settings, "logs", "rekey")
    assert (status, result) == (0, {"key_id": "k2", "rekeyed": 2, "unreadable": 0})

    only_new, only_old = _ring(K2), _ring(K1)
    entries = log_entries(database)
    assert {e.key_id for e in entries} == {"k2"}
    summaries = [payload(only_new, e)["summary"] for e in entries]
    assert summaries[:2] == ["create user 2-0@example.com", "create user 2-1@example.com"]
    assert all(open_entry(only_old, e).problem for e in entries)


def test_entry_without_its_key_is_reported_not_raised(
    settings: Settings,
    database: Database,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An entry whose key left the ring shows why it is unreadable; rekey leaves it alone."""
    _provision(settings, database, tenant, K1, 1)
    monkeypatch.setenv("SCIMGATE_LOG_KEYS", K2)
    status, listed = run_cli(monkeypatch, capsys, settings, "logs", "list", "acme")
    assert status == 0
    (entry,) = listed["entries"]
    assert entry["summary"] is None and "'k1'" in entry["unreadable"]
    status, result = run_cli(monkeypatch, capsys, settings, "logs", "rekey")
    assert result == {"key_id": "k2", "rekeyed": 0, "unreadable": 1}


def test_payload_is_bound_to_its_organization_and_key() -> None:
    """A sealed payload moved to another organization, or relabelled, does not open."""
    ring = _ring(K1)
    sealed = cipher.seal(ring, "org-a", {"summary": "x"})
    assert cipher.unseal(ring, "org-a", sealed) == {"summary": "x"}
    with pytest.raises(cipher.UnreadableEntryError):
        cipher.unseal(ring, "org-b", sealed)
    relabelled = KeyRing({**ring.keys, "other": ring.key("k1")})
    with pytest.raises(cipher.UnreadableEntryError):
        cipher.unseal(relabelled, "org-a", dataclasses.replace(sealed, key_id="other"))
