"""``scimgate admin``: the accounts of the admin web UI, run in-process on both databases."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimgate.cli import main
from scimgate.config import Settings
from tests.test_cli import run_cli
from tests.test_cli_admin import _fails, _ok

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another long enough secret"

# Runs one command with --json, the text given as standard input: (status, output).
Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    """Run one command with --json against the test database, with ``stdin`` as its input."""

    def run(*argv: str, stdin: str = "") -> tuple[int, Any]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return run_cli(monkeypatch, capsys, settings, *argv)

    return run


@pytest.fixture
def acme(cli: Cli) -> None:
    """The organization acme."""
    assert cli("org", "create", "acme")[0] == 0


def _create(cli: Cli, name: str, *orgs: str, password: str = PASSWORD) -> Any:
    flags = [arg for org in orgs for arg in ("--org", org)]
    return cli("admin", "create", name, *flags, "--password-stdin", stdin=password + "\n")


def _usernames(cli: Cli) -> list[str]:
    return [row["username"] for row in _ok(cli("admin", "list"))]


def _sign_in(client: TestClient, username: str, password: str) -> int:
    """Sign in through the web form; the HTTP status of the answer (303 when signed in)."""
    form = client.get("/admin/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/admin/login",
        data={"csrf_token": token, "username": username, "password": password},
        follow_redirects=False,
    )
    return answer.status_code


def test_create_then_list_shows_the_account_and_never_its_hash(
    cli: Cli, acme: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """admin create reads the password from stdin; admin list shows names and orgs, no hash."""
    created = _ok(_create(cli, "Alice", "acme"))
    assert created["username"] == "Alice" and created["organizations"] == ["acme"]
    assert created["locked_until"] is None and created["last_login_at"] is None

    listed = _ok(cli("admin", "list"))
    assert [row["username"] for row in listed] == ["Alice"]
    assert set(listed[0]) == {
        "id",
        "username",
        "organizations",
        "locked_until",
        "last_login_at",
        "created_at",
    }
    assert "argon2" not in repr(listed) and PASSWORD not in repr(listed)

    assert main(["admin", "list"]) == 0
    shown = capsys.readouterr().out
    assert "username=Alice" in shown and "organizations=acme" in shown
    assert "argon2" not in shown and PASSWORD not in shown


def test_an_account_without_organizations_and_one_with_several(cli: Cli, acme: None) -> None:
    """--org is optional and repeatable; organizations are named or given by id."""
    globex = _ok(cli("org", "create", "Globex"))
    assert _ok(_create(cli, "carol"))["organizations"] == []
    both = _ok(_create(cli, "dave", "ACME", globex["id"]))
    assert both["organizations"] == ["acme", "Globex"]


def test_grant_and_revoke_an_organization(cli: Cli, acme: None) -> None:
    """grant adds an organization, revoke takes one away; both are idempotent."""
    _ok(cli("org", "create", "globex"))
    _ok(_create(cli, "alice", "acme"))
    assert _ok(cli("admin", "grant", "alice", "globex"))["organizations"] == ["acme", "globex"]
    assert _ok(cli("admin", "grant", "ALICE", "globex"))["organizations"] == ["acme", "globex"]
    assert _ok(cli("admin", "revoke", "alice", "acme"))["organizations"] == ["globex"]
    assert _ok(cli("admin", "revoke", "alice", "acme"))["organizations"] == ["globex"]

    assert "nowhere" in _fails(cli("admin", "grant", "alice", "nowhere"), 404)
    assert "No administrator is named 'bob'" in _fails(cli("admin", "grant", "bob", "acme"), 404)
    assert _ok(cli("admin", "list"))[0]["organizations"] == ["globex"]


def test_a_grant_opens_the_organization_and_a_revoke_closes_it(
    cli: Cli, acme: None, client: TestClient
) -> None:
    """What the administrator may open in the web UI follows grant and revoke at once."""
    globex = _ok(cli("org", "create", "globex"))["id"]
    _ok(_create(cli, "alice", "acme"))
    assert _sign_in(client, "alice", PASSWORD) == 303
    assert "globex" not in client.get("/admin").text
    _ok(cli("admin", "grant", "alice", "globex"))
    assert f"/admin/orgs/{globex}" in client.get("/admin").text
    _ok(cli("admin", "revoke", "alice", "globex"))
    assert "globex" not in client.get("/admin").text
    assert client.get(f"/admin/orgs/{globex}").status_code == 404


def test_create_refuses_a_short_password_a_taken_name_and_an_unknown_organization(
    cli: Cli, acme: None
) -> None:
    """Each refusal exits 1 with the reason, and no account is created."""
    short = _fails(_create(cli, "alice", "acme", password="elevenchars"), 400)
    assert "at least 12 characters" in short
    assert "1 to 150 printable" in _fails(_create(cli, "   ", "acme"), 400)
    assert _usernames(cli) == []

    _ok(_create(cli, "alice", "acme"))
    assert "already exists" in _fails(_create(cli, "ALICE", "acme"), 409)
    assert "already exists" in _fails(_create(cli, " alice ", "acme"), 409)

    assert "nowhere" in _fails(_create(cli, "bob", "acme", "nowhere"), 404)
    assert _usernames(cli) == ["alice"]


def test_the_password_is_asked_twice_on_a_terminal(
    cli: Cli, acme: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --password-stdin the password is asked twice; two different ones change nothing."""
    answers = iter([PASSWORD, PASSWORD + "!", PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert "differ" in _fails(cli("admin", "create", "alice", "--org", "acme"), 400)
    assert _usernames(cli) == []
    assert _ok(cli("admin", "create", "alice", "--org", "acme"))["username"] == "alice"


def test_a_new_password_signs_out_every_session_and_replaces_the_old_one(
    cli: Cli, acme: None, client: TestClient
) -> None:
    """admin password: old sessions end, the old password is refused, the new one works."""
    _ok(_create(cli, "alice", "acme"))
    assert _sign_in(client, "alice", PASSWORD) == 303
    assert client.get("/admin", follow_redirects=False).status_code == 200

    too_short = cli("admin", "password", "alice", "--password-stdin", stdin="short\n")
    assert "at least 12 characters" in _fails(too_short, 400)
    assert client.get("/admin", follow_redirects=False).status_code == 200

    changed = cli("admin", "password", "alice", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert _ok(changed)["username"] == "alice"
    signed_out = client.get("/admin", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/admin/login")
    assert _sign_in(client, "alice", PASSWORD) == 401
    assert _sign_in(client, "alice", NEW_PASSWORD) == 303

    assert "nobody" in _fails(
        cli("admin", "password", "nobody", "--password-stdin", stdin=NEW_PASSWORD + "\n"), 404
    )


def test_unlock_lifts_a_lockout(cli: Cli, acme: None, client: TestClient) -> None:
    """After 5 wrong passwords the account shows locked_until; admin unlock clears it."""
    _ok(_create(cli, "alice", "acme"))
    for _ in range(5):
        assert _sign_in(client, "alice", "not the password") == 401
    assert _ok(cli("admin", "list"))[0]["locked_until"] is not None
    assert _sign_in(client, "alice", PASSWORD) == 401

    unlocked = _ok(cli("admin", "unlock", "Alice"))
    assert unlocked["locked_until"] is None
    assert _sign_in(client, "alice", PASSWORD) == 303
    assert _ok(cli("admin", "list"))[0]["last_login_at"] is not None
    assert "nobody" in _fails(cli("admin", "unlock", "nobody"), 404)


def test_errors_go_to_stderr_without_json_and_usage_errors_exit_2(
    acme: None,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --json a refusal prints `error: ...` on stderr; a missing argument exits 2."""
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["admin", "create", "alice", "--password-stdin"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: The password must be at least 12 characters")
    with pytest.raises(SystemExit) as usage:
        main(["admin", "grant", "alice"])
    assert usage.value.code == 2
