"""The key ring: how it is written, when the server refuses to start, the demo key file."""

import base64
import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.audit import keys
from scimgate.audit.keys import LogKeyError
from scimgate.cli import main
from scimgate.config import Settings
from scimgate.storage.database import Database
from tests.conftest import TenantFactory, user_body

RANDOM = base64.b64encode(bytes(range(100, 132))).decode()


def test_ring_is_read_oldest_first() -> None:
    """Entries are id:key, comma-separated; the last one seals; url-safe base64 is fine."""
    first, second = keys.new_key_entry("2024-01"), keys.new_key_entry("2024-06")
    url_safe = second.replace("+", "-").replace("/", "_").rstrip("=")
    ring = keys.KeyRing(keys.parse_ring(f" {first} , {url_safe}"))
    assert list(ring.keys) == ["2024-01", "2024-06"] and ring.newest_id == "2024-06"
    assert repr(ring) == "KeyRing()"  # never the keys


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (RANDOM, "id:base64key"),
        (f"bad id:{RANDOM}", "letters, digits"),
        (f"a:{RANDOM},a:{RANDOM}", "twice"),
        ("a:not base64!", "not valid base64"),
        (f"a:{base64.b64encode(bytes(range(16))).decode()}", "32 bytes"),
        (f"a:{base64.b64encode(b'changeme' * 4).decode()}", "placeholder"),
        (f"a:{base64.b64encode(bytes(32)).decode()}", "placeholder"),
    ],
)
def test_malformed_rings_are_refused(text: str, complaint: str) -> None:
    """Each mistake is refused with a message that says what is wrong."""
    with pytest.raises(LogKeyError, match=complaint):
        keys.parse_ring(text)


def test_server_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    """Outside demo mode, building the app without a key ring fails and says what to set."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(LogKeyError, match="SCIMGATE_LOG_KEYS"):
        create_app(settings)
    assert not (tmp_path / "x.db.log.key").exists()


def test_serve_command_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``scimgate serve`` exits with status 1 and an explanation instead of serving."""
    monkeypatch.delenv("SCIMGATE_LOG_KEYS", raising=False)
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["serve", "--json"]) == 1
    assert "SCIMGATE_LOG_KEYS" in json.loads(capsys.readouterr().out)["error"]


def test_key_command_prints_a_usable_entry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``scimgate logs key ID`` prints a fresh ring entry that parses."""
    assert main(["logs", "key", "2025-01", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["key"]
    assert entry.startswith("2025-01:") and len(keys.parse_ring(entry)["2025-01"]) == 32


def test_demo_key_is_made_once_and_reused(tmp_path: Path) -> None:
    """Demo mode writes one owner-only key file beside the SQLite file and reuses it."""
    demo = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", demo=True)
    first = keys.server_ring(demo)
    path = tmp_path / "demo.db.log.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    assert keys.server_ring(demo).keys == first.keys and first.newest_id == keys.DEMO_KEY_ID
    create_app(demo)
    assert path.read_text() == content


def test_cli_reads_what_the_demo_server_wrote(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The CLI, in the same folder with the same database URL and no key, reads the demo log.

    The key is beside an SQLite file; with PostgreSQL it is in the working folder.
    """
    monkeypatch.chdir(tmp_path)
    url = database.engine.url.render_as_string(hide_password=False)
    demo = Settings(database_url=url, demo=True)
    with TestClient(create_app(demo, db=database)) as client:
        tenant = TenantFactory(database, client)("demo")
        assert tenant.post("/Users", json=user_body("ada@example.com")).status_code == 201
    monkeypatch.delenv("SCIMGATE_LOG_KEYS", raising=False)
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", url)
    assert main(["logs", "list", "demo", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["entries"]
    assert main(["logs", "show", str(entry["id"])]) == 0
    shown = capsys.readouterr().out
    assert '"summary": "create user ada@example.com"' in shown
    assert json.loads(shown)["request"]["body"]["userName"] == "ada@example.com"


def test_configured_key_takes_over_from_the_demo_key(tmp_path: Path) -> None:
    """With a demo key file and a configured ring, the configured key seals new entries."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    keys.server_ring(Settings(database_url=url, demo=True))
    configured = Settings(database_url=url, log_keys=SecretStr(keys.new_key_entry("prod")))
    ring = keys.server_ring(configured)
    assert list(ring.keys) == [keys.DEMO_KEY_ID, "prod"]
