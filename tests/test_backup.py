"""`scimgate db backup` and `db restore`: a copy taken while the server writes, restored."""

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.cli import main
from scimgate.config import Settings
from scimgate.domain import organizations, sso, tokens
from scimgate.storage.database import Database
from tests.conftest import SCIM_JSON, TEST_LOG_KEYS, group_body, user_body

ADMIN_KEY = "admin-key-for-backup-tests"
# At most this many users from the background writer: it stops by itself.
WRITER_LIMIT = 300


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *argv: str
) -> tuple[int, Any]:
    """Run one command on the database ``url`` with --json; its exit status and output."""
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", url)
    status = main([*argv, "--json"])
    out = capsys.readouterr().out.strip()
    return status, json.loads(out) if out else None


def _issue_token(database: Database) -> str:
    with database.transaction() as session:
        org = organizations.create(session, "acme")
        organizations.configure_sso(session, org, sso.demo_settings("acme"))
        organizations.set_scim_enabled(org, True)
        return tokens.issue(session, org).secret


class Writer:
    """Creates users over HTTP in a thread until stopped, remembering each one created."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx2.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON},
            timeout=30,
        )
        self.created: list[str] = []
        self.started = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for number in range(WRITER_LIMIT):
            if self.stop.is_set():
                break
            name = f"writer{number}@example.com"
            response = self.http.post("/Users", json=user_body(name))
            assert response.status_code == 201, response.text
            self.created.append(name)
            if len(self.created) >= 3:
                self.started.set()
        self.started.set()

    def __enter__(self) -> "Writer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.http.close()


def _seed(base: str, token: str) -> dict[str, Any]:
    """Users (one with a password), a group of three and a PATCH, over HTTP."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    with httpx2.Client(base_url=base, headers=headers, timeout=30) as http:
        ids = []
        for name in ("ada", "grace", "edsger", "barbara"):
            extra = {"password": "s3cret-Passw0rd"} if name == "ada" else {}
            created = http.post("/Users", json=user_body(f"{name}@example.com", **extra))
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        group = http.post("/Groups", json=group_body("Engineering", ids[:3]))
        assert group.status_code == 201, group.text
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        assert http.patch(f"/Users/{ids[3]}", json=patch).status_code in (200, 204)
    return {"users": ids, "group": group.json()["id"]}


@pytest.fixture
def restored_app(tmp_path: Path) -> Iterator[Any]:
    """Open a restored file as a server would, with the same request log key."""
    clients: list[TestClient] = []

    def open_app(path: Path) -> TestClient:
        settings = Settings(
            database_url=f"sqlite:///{path}",
            log_keys=SecretStr(TEST_LOG_KEYS),
            admin_api_key=SecretStr(ADMIN_KEY),
        )
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield open_app
    for client in clients:
        client.__exit__(None, None, None)


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_backup_taken_while_writing_restores_everything(
    server_url: str,
    database: Database,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restored_app: Any,
) -> None:
    """A backup taken during writes restores users, groups, members and readable log entries."""
    token = _issue_token(database)
    seeded = _seed(server_url, token)
    backup = tmp_path / "backups" / "scimgate-backup.db"
    backup.parent.mkdir()

    with Writer(server_url, token) as writer:
        assert writer.started.wait(timeout=60), "the writer created no user"
        before = set(writer.created)
        status, report = run_cli(
            monkeypatch, capsys, settings.database_url, "db", "backup", str(backup)
        )
        assert status == 0, report
    written = set(writer.created)
    assert report["integrity"] == "ok" and report["bytes"] == backup.stat().st_size
    assert backup.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only

    target = tmp_path / "restored" / "scimgate.db"
    status, restored = run_cli(
        monkeypatch, capsys, f"sqlite:///{target}", "db", "restore", str(backup)
    )
    assert status == 0, restored
    assert restored["integrity"] == "ok" and restored["revision"] == report["revision"]
    with sqlite3.connect(target) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert check.execute("PRAGMA foreign_key_check").fetchall() == []

    client = restored_app(target)
    scim = {"Authorization": f"Bearer {token}"}  # the tokens table came back too
    listed = client.get("/scim/v2/Users", params={"count": "1000"}, headers=scim).json()
    names = {user["userName"] for user in listed["Resources"]}
    seeded_names = {f"{n}@example.com" for n in ("ada", "grace", "edsger", "barbara")}
    writer_names = names - seeded_names
    assert seeded_names <= names
    # Everything committed before the backup began, nothing that was never written.
    assert before <= writer_names <= written
    barbara = client.get(f"/scim/v2/Users/{seeded['users'][3]}", headers=scim).json()
    assert barbara["active"] is False
    group = client.get(f"/scim/v2/Groups/{seeded['group']}", headers=scim).json()
    assert {member["value"] for member in group["members"]} == set(seeded["users"][:3])

    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    logs = client.get("/api/orgs/acme/logs", params={"limit": "1000"}, headers=admin).json()
    assert logs["total"] >= len(seeded_names) + len(before) + 2
    created = [e for e in logs["entries"] if e["resource_type"] == "Group" and e["status"] == 201]
    assert len(created) == 1 and "Engineering" in created[0]["summary"]
    shown = client.get(f"/api/orgs/acme/logs/{created[0]['id']}", headers=admin).json()
    assert "unreadable" not in shown
    assert shown["request"]["body"]["displayName"] == "Engineering"  # decrypted, same key


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_backup_and_restore_refuse_to_overwrite_without_force(
    database: Database,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A copy ignores a write in progress; an existing file is replaced only with --force."""
    url = settings.database_url
    source = Path(database.engine.url.database or "")
    with database.transaction() as session:
        organizations.create(session, "acme")
    backup = tmp_path / "copy.db"
    # A write transaction in progress: the copy does not wait for it, nor contain it.
    with sqlite3.connect(source, isolation_level=None) as pending:
        pending.execute("BEGIN IMMEDIATE")
        pending.execute("UPDATE organizations SET name = 'UNCOMMITTED'")
        assert run_cli(monkeypatch, capsys, url, "db", "backup", str(backup))[0] == 0
        pending.execute("ROLLBACK")
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT name FROM organizations").fetchall() == [("acme",)]
    status, error = run_cli(monkeypatch, capsys, url, "db", "backup", str(backup))
    assert status == 1 and error["status"] == 409 and "--force" in error["error"]
    assert run_cli(monkeypatch, capsys, url, "db", "backup", str(backup), "--force")[0] == 0

    # The live database is a target that exists: refused without --force, untouched.
    before = source.read_bytes()
    status, error = run_cli(monkeypatch, capsys, url, "db", "restore", str(backup))
    assert status == 1 and "--force" in error["error"]
    assert source.read_bytes() == before
    with database.transaction() as session:
        organizations.create(session, "initech")
    assert run_cli(monkeypatch, capsys, url, "db", "restore", str(backup), "--force")[0] == 0
    with database.transaction(write=False) as session:
        assert [org.name for org in organizations.list_all(session)] == ["acme"]

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as other:
        other.execute("CREATE TABLE t (x)")
    status, error = run_cli(
        monkeypatch, capsys, f"sqlite:///{tmp_path / 'new.db'}", "db", "restore", str(foreign)
    )
    assert status == 1 and "not a scimgate database" in error["error"]
    assert not (tmp_path / "new.db").exists()


def test_postgresql_backup_prints_the_pg_dump_command_without_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """On PostgreSQL nothing is written: exit 1 and the exact command, password left out."""
    url = "postgresql+psycopg://scim:hunter2-secret@db.internal:5433/scimgate?sslmode=require"
    target = tmp_path / "scimgate.dump"
    status, error = run_cli(monkeypatch, capsys, url, "db", "backup", str(target))
    assert status == 1 and error["status"] == 501
    assert "hunter2-secret" not in error["error"]
    expected = (
        f"pg_dump --format=custom --file={target} "
        "'postgresql://scim@db.internal:5433/scimgate?sslmode=require'"
    )
    assert expected in error["error"]
    assert not target.exists()

    status, error = run_cli(monkeypatch, capsys, url, "db", "restore", str(target))
    assert status == 1 and "hunter2-secret" not in error["error"]
    assert "pg_restore --clean --if-exists --no-owner --dbname=" in error["error"]
