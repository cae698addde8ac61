"""Secrets and access: nothing secret at rest or in server logs, and no crossed credentials."""

import base64
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from sqlalchemy import MetaData, select
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.audit import keys
from scimgate.config import Settings
from scimgate.domain import organizations, sso, tokens
from scimgate.storage.database import Database
from tests.conftest import (
    SCIM_JSON,
    TEST_LOG_KEYS,
    TenantFactory,
    assert_scim_error,
    patch_body,
    user_body,
)

ADMIN_KEY = "admin-SECRET-key-4f9c2e7a1b"
PASSWORD = "PASSWORD-MARKER-123"


@pytest.fixture
def admin(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app with an admin API key; it sends no credential by itself."""
    keyed = settings.model_copy(update={"admin_api_key": SecretStr(ADMIN_KEY)})
    with TestClient(create_app(keyed, db=database), raise_server_exceptions=False) as client:
        yield client


def _dump(database: Database) -> list[tuple[str, str, Any]]:
    """Every value of every column of every table, found by reflection."""
    metadata = MetaData()
    metadata.reflect(bind=database.engine)
    values = []
    with database.engine.connect() as connection:
        for table in metadata.tables.values():
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    values.append((table.name, column, value))
    return values


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value).encode()
    return str(value).encode()


def test_database_holds_no_secret_in_clear(admin: TestClient, database: Database) -> None:
    """After tokens, passwords and admin calls, no row holds a token, key or password."""
    acme = TenantFactory(database, admin)("acme")
    created = acme.post("/Users", json=user_body("ada@example.com", password=PASSWORD))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    replaced = acme.put(
        f"/Users/{user_id}", json=user_body("ada@example.com", password=PASSWORD + "-put")
    )
    assert replaced.status_code == 200, replaced.text
    operation = {"op": "replace", "path": "password", "value": PASSWORD + "-patch"}
    assert acme.patch(f"/Users/{user_id}", json=patch_body(operation)).status_code in (200, 204)
    with database.transaction() as session:
        # With a grace period, so the old token stays usable and in the table.
        rotated = tokens.rotate(session, organizations.get(session, "acme"), timedelta(hours=1))
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert admin.get("/api/orgs/acme/logs", headers=auth).status_code == 200
    assert admin.get("/api/orgs/acme/members", headers=auth).status_code == 200

    log_key = keys.parse_ring(TEST_LOG_KEYS)["test"]
    secrets = {
        "SCIM token": acme.token.encode(),
        # The stored prefix shows a token's first characters; the rest is never kept.
        "SCIM token tail": acme.token[len(rotated.token.prefix) :].encode(),
        "rotated token": rotated.secret.encode(),
        "admin key": ADMIN_KEY.encode(),
        "password": PASSWORD.encode(),
        "request log key": log_key,
        "request log key (base64)": base64.b64encode(log_key),
    }
    rows = _dump(database)
    assert {table for table, _, _ in rows} >= {"scim_tokens", "users", "request_log_entries"}
    # The scan sees what is stored: the token's digest is there, where it belongs.
    digest = hashlib.sha256(acme.token.encode()).hexdigest()
    assert ("scim_tokens", "token_hash", digest) in rows
    for table, column, value in rows:
        stored = _as_bytes(value)
        for name, secret in secrets.items():
            assert secret not in stored, f"{name} stored in clear in {table}.{column}"


def test_admin_api_refuses_a_scim_token(admin: TestClient, database: Database) -> None:
    """A valid SCIM bearer token opens no admin endpoint: 401 in the admin format."""
    acme = TenantFactory(database, admin)("acme")
    assert acme.get("/Users").status_code == 200  # the token works where it belongs
    response = admin.get("/api/orgs", headers={"Authorization": f"Bearer {acme.token}"})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == 401  # not a SCIM body
    assert admin.get("/api/orgs", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).is_success


def test_scim_refuses_the_admin_key(admin: TestClient, database: Database) -> None:
    """The admin key is no SCIM token: /scim/v2/Users answers a SCIM 401 error."""
    TenantFactory(database, admin)("acme")
    response = admin.get("/scim/v2/Users", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_settings_never_show_the_admin_key() -> None:
    """The admin key is held masked: no repr, str or dump of the settings spells it."""
    keyed = Settings(admin_api_key=SecretStr(ADMIN_KEY))
    for shown in (repr(keyed), str(keyed), keyed.model_dump_json()):
        assert ADMIN_KEY not in shown


# --- the server's own output ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _prepare(path: Path) -> str:
    """A migrated SQLite file with organization "acme" (SSO, SCIM on); its token."""
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.transaction() as session:
        org = organizations.create(session, "acme")
        organizations.configure_sso(session, org, sso.demo_settings("acme"))
        organizations.set_scim_enabled(org, True)
        secret = tokens.issue(session, org).secret
        organizations.create(session, "broken")
    db.dispose()
    return secret


def _corrupt(path: Path, user_id: str) -> None:
    """Damage two rows so that reading them fails inside the server (a 500 and its log)."""
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE users SET attributes = '{broken' WHERE id = ?", (user_id,))
        connection.execute("UPDATE organizations SET created_at = 'garbage' WHERE name = 'broken'")


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError("scimgate serve did not start")


def _exercise(base: str, token: str, path: Path) -> list[int]:
    """Real requests carrying every secret, some refused and some failing; their statuses."""
    scim = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    wrong = {"Authorization": f"Bearer {token[:-4]}xxxx"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    statuses = []
    # A fresh connection each time: the server closes one after an unhandled error.
    with httpx2.Client(base_url=base, timeout=30, headers={"Connection": "close"}) as http:

        def send(method: str, url: str, **kwargs: Any) -> httpx2.Response:
            response = http.request(method, url, **kwargs)
            statuses.append(response.status_code)
            return response

        body = user_body("ada@example.com", password=PASSWORD)
        user_id = send("POST", "/scim/v2/Users", headers=scim, json=body).json()["id"]
        send("GET", "/scim/v2/Users", headers=scim, params={"filter": 'userName eq "ada"'})
        send("GET", "/scim/v2/Users", headers=wrong)
        # A client that puts its token in the URL (RFC 6750 §2.3) is refused, not logged.
        send("GET", "/scim/v2/Users", params={"access_token": token})
        send("GET", "/api/orgs", headers=admin)
        send("GET", "/api/orgs/acme/logs", headers=admin, params={"limit": "5"})
        send("GET", "/api/orgs", headers=scim)
        _corrupt(path, user_id)
        put = user_body("ada@example.com", password=PASSWORD + "-again")
        send("PUT", f"/scim/v2/Users/{user_id}", headers=scim, json=put)
        send("GET", "/api/orgs/broken", headers=admin)
    return statuses


def test_server_logs_hold_no_secret(tmp_path: Path) -> None:
    """`scimgate serve` prints no token, admin key, password or log key, even on errors.

    Its stdout and stderr hold uvicorn's access log and the tracebacks of failed
    requests; the requests send each secret where a careless server could echo it.
    """
    path = tmp_path / "scimgate.db"
    token = _prepare(path)
    log_keys = keys.new_key_entry("k1")
    env = {
        **os.environ,
        "SCIMGATE_DATABASE_URL": f"sqlite:///{path}",
        "SCIMGATE_LOG_KEYS": log_keys,
        "SCIMGATE_ADMIN_API_KEY": ADMIN_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    port = _free_port()
    command = [sys.executable, "-m", "scimgate", "serve", "--port", str(port)]
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            statuses = _exercise(base, token, path)
        finally:
            process.terminate()
            process.wait(timeout=30)
    output = out_path.read_text() + err_path.read_text()

    assert statuses == [201, 200, 401, 401, 200, 200, 401, 500, 500], statuses
    secrets = {
        "SCIM token": token,
        "SCIM token tail": token[14:],
        "admin key": ADMIN_KEY,
        "password": PASSWORD,
        "request log key": log_keys.partition(":")[2],
    }
    for name, secret in secrets.items():
        assert secret not in output, f"{name} appears in the server output"
    # The output was captured: access lines (queries reduced to their parameter names)
    # and the error logs of both failures are there.
    assert '"POST /scim/v2/Users HTTP/1.1" 201' in output
    assert '"GET /scim/v2/Users?access_token HTTP/1.1" 401' in output
    assert output.count("Unhandled error") == 2, output
