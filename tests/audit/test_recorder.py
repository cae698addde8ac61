"""The request log is never in the way: a failed write changes no SCIM response."""

from typing import Any

import pytest

from scimgate.audit.recorder import Recorder
from scimgate.storage.database import Database
from tests.audit.conftest import log_entries
from tests.conftest import Tenant, patch_body, user_body


def _recorder(tenant: Tenant) -> Recorder:
    recorder: Recorder = tenant.client.app.state.request_log  # type: ignore[attr-defined]
    return recorder


def _exchanges(tenant: Tenant) -> list[tuple[int, Any]]:
    """A create, a patch and a failing create, with what the client sees of each."""
    created = tenant.post("/Users", json=user_body("ada@example.com"))
    user_id = created.json()["id"]
    body = patch_body({"op": "replace", "path": "displayName", "value": "Ada"})
    patched = tenant.patch(f"/Users/{user_id}", json=body)
    duplicate = tenant.post("/Users", json=user_body("ada@example.com"))
    return [
        (created.status_code, sorted(created.json())),
        (patched.status_code, patched.json()["displayName"]),
        (duplicate.status_code, duplicate.json()["scimType"]),
    ]


@pytest.mark.parametrize("broken", ["scimgate.audit.entries.build", "scimgate.audit.cipher.seal"])
def test_failed_write_changes_no_response(
    tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """With the log writer failing, every answer is as usual and each failure is counted."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the request log is broken")

    monkeypatch.setattr(broken, fail)
    seen = _exchanges(tenant)
    assert [status for status, _ in seen] == [201, 200, 409]
    assert seen[1:] == [(200, "Ada"), (409, "uniqueness")]
    assert "id" in seen[0][1] and "userName" in seen[0][1]
    assert log_entries(database) == []
    counters = _recorder(tenant).counters
    assert (counters.failed, counters.written) == (3, 0)


def test_successful_writes_are_counted(tenant: Tenant, database: Database) -> None:
    """Each entry written is counted."""
    _exchanges(tenant)
    assert len(log_entries(database)) == 3
    counters = _recorder(tenant).counters
    assert (counters.written, counters.failed, counters.unattributed) == (3, 0, 0)
