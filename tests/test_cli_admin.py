"""The administration commands of ``scimgate``, run in-process against both databases."""

from collections.abc import Callable
from typing import Any

import pytest

from scimgate.cli import main
from scimgate.config import Settings
from tests.conftest import Tenant, group_body, user_body
from tests.test_cli import run_cli

# Runs one command with --json: its exit status and parsed output.
Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    """Run one command with --json against the test database: (status, output)."""
    return lambda *argv: run_cli(monkeypatch, capsys, settings, *argv)


def _ok(result: tuple[int, Any]) -> Any:
    status, output = result
    assert status == 0, output
    return output


def _fails(result: tuple[int, Any], status: int) -> str:
    code, output = result
    assert code == 1 and output["status"] == status, output
    return str(output["error"])


def _provision(tenant: Tenant, user_name: str) -> str:
    response = tenant.post("/Users", json=user_body(user_name))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _group(tenant: Tenant, name: str, members: list[str]) -> str:
    response = tenant.post("/Groups", json=group_body(name, members))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_flags_show_and_set(cli: Cli) -> None:
    """flags prints an organization's flags and sets the ones given as on or off."""
    _ok(cli("org", "create", "Initech"))
    shown = _ok(cli("flags", "Initech"))
    assert (shown["phone_sync"], shown["assign_roles_from_groups"]) == (False, False)
    changed = _ok(cli("flags", "initech", "--phone-sync", "on", "--sync-groups-to-teams", "on"))
    assert (changed["phone_sync"], changed["sync_groups_to_teams"]) == (True, True)
    assert changed["assign_roles_from_groups"] is False
    assert _ok(cli("flags", "Initech", "--phone-sync", "off"))["phone_sync"] is False
    assert "nobody" in _fails(cli("flags", "nobody"), 404)
    with pytest.raises(SystemExit):
        main(["flags", "Initech", "--phone-sync", "maybe"])


def test_directory_google_excludes_scim(cli: Cli, tenant: Tenant) -> None:
    """Google Directory Sync is refused while SCIM is on, and SCIM while it is on."""
    assert "Disable SCIM first" in _fails(cli("directory", "google", "enable", "acme"), 409)
    _ok(cli("scim", "disable", "acme"))
    assert _ok(cli("directory", "google", "enable", "acme"))["google_directory_sync"] is True
    _fails(cli("scim", "enable", "acme"), 409)
    assert _ok(cli("directory", "google", "disable", "acme"))["google_directory_sync"] is False
    _ok(cli("scim", "enable", "acme"))


def test_role_list_and_create(cli: Cli, tenant: Tenant) -> None:
    """role list shows the roles heaviest first; role create adds one, refusing bad ones."""
    names = [role["name"] for role in _ok(cli("role", "list", "acme"))]
    assert names == ["owner", "admin", "member", "observer"]
    created = _ok(cli("role", "create", "acme", "Billing", "30"))
    assert (created["name"], created["weight"], created["default"]) == ("Billing", 30, False)
    _fails(cli("role", "create", "acme", "billing", "5"), 409)
    _fails(cli("role", "create", "acme", "huge", "99999999"), 400)
    _fails(cli("role", "weight", "acme", "nope", "5"), 404)
    _fails(cli("role", "weight", "acme", "admin", "-99999999"), 400)
    _fails(cli("role", "default", "acme", "nope"), 404)


def test_role_map_preview_then_apply(cli: Cli, tenant: Tenant) -> None:
    """role map --dry-run lists who gains the role and writes nothing; without it, applies."""
    _ok(cli("flags", "acme", "--assign-roles-from-groups", "on"))
    ada = _provision(tenant, "ada@example.com")
    admins = _group(tenant, "Admins", [ada])
    gain = [{"user_id": ada, "user_name": "ada@example.com", "before": "member", "after": "admin"}]

    preview = _ok(cli("role", "map", "acme", admins, "admin", "--dry-run"))
    assert preview["changes"] == gain and preview["applied"] is False
    assert _ok(cli("members", "acme"))["members"][0]["role"] == "member"

    applied = _ok(cli("role", "map", "acme", admins, "admin"))
    assert applied["changes"] == gain and applied["applied"] is True
    member = _ok(cli("members", "acme"))["members"][0]
    assert (member["role"], member["role_from_group"]) == ("admin", "Admins")
    _fails(cli("role", "map", "acme", "nope", "admin"), 404)
    _fails(cli("role", "map", "acme", admins, "nope"), 404)


def test_role_weight_default_and_unmap(cli: Cli, tenant: Tenant) -> None:
    """Weight, default and unmap changes preview with --dry-run and then apply."""
    _ok(cli("flags", "acme", "--assign-roles-from-groups", "on"))
    ada, bob = _provision(tenant, "ada@example.com"), _provision(tenant, "bob@example.com")
    _ok(cli("role", "map", "acme", _group(tenant, "Leads", [ada]), "admin"))
    ops = _group(tenant, "Ops", [ada])
    _ok(cli("role", "map", "acme", ops, "observer"))

    weight = ["role", "weight", "acme", "observer", "90"]
    assert _ok(cli(*weight, "--dry-run"))["changes"][0]["after"] == "observer"
    assert _ok(cli("role", "list", "acme"))[-1]["weight"] == 10
    assert _ok(cli(*weight))["role"]["weight"] == 90

    to_observer = {"user_id": bob, "user_name": "bob@example.com", "after": "observer"}
    preview = _ok(cli("role", "default", "acme", "observer", "--dry-run"))
    assert preview["changes"] == [{**to_observer, "before": "member"}]
    assert _ok(cli("flags", "acme"))["default_role"] == "member"
    assert _ok(cli("role", "default", "acme", "observer"))["role"]["default"] is True

    unmapped = _ok(cli("role", "unmap", "acme", ops, "--dry-run"))
    assert unmapped["changes"] == [
        {"user_id": ada, "user_name": "ada@example.com", "before": "observer", "after": "admin"}
    ]
    assert _ok(cli("role", "unmap", "acme", ops))["applied"] is True
    roles = {m["user_name"]: m["role"] for m in _ok(cli("members", "acme"))["members"]}
    assert roles == {"ada@example.com": "admin", "bob@example.com": "observer"}


def test_team_commands(cli: Cli, tenant: Tenant) -> None:
    """Teams are created, listed and shown; members are added and removed by hand."""
    ada = _provision(tenant, "ada@example.com")
    created = _ok(cli("team", "create", "acme", "Design"))
    _fails(cli("team", "create", "acme", "design"), 409)
    assert _ok(cli("team", "list", "acme")) == [created]
    added = _ok(cli("team", "add", "acme", "design", ada))
    assert added["members"] == [
        {"user_id": ada, "user_name": "ada@example.com", "via_scim": False, "manual": True}
    ]
    assert _ok(cli("team", "show", "acme", created["id"]))["member_count"] == 1
    assert _ok(cli("team", "remove", "acme", "Design", ada))["members"] == []
    _fails(cli("team", "show", "acme", "nope"), 404)
    _fails(cli("team", "add", "acme", "design", "nope"), 404)


def test_members_pages(cli: Cli, tenant: Tenant) -> None:
    """members lists memberships oldest first, a page at a time."""
    ids = [_provision(tenant, f"user{n}@example.com") for n in range(3)]
    everyone = _ok(cli("members", "acme"))
    assert everyone["total"] == 3 and [m["user_id"] for m in everyone["members"]] == ids
    page = _ok(cli("members", "acme", "--limit", "1", "--offset", "2"))
    assert [m["user_id"] for m in page["members"]] == [ids[2]]
    _fails(cli("members", "acme", "--offset", "-1"), 400)
    _fails(cli("members", "acme", "--limit", "0"), 400)
    _fails(cli("members", "nobody"), 404)


def test_text_output_spells_out_changes(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    tenant: Tenant,
) -> None:
    """Without --json a dry run prints who gains which role and that nothing was written."""
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", settings.database_url)
    ada = _provision(tenant, "ada@example.com")
    admins = _group(tenant, "Admins", [ada])
    assert main(["flags", "acme", "--assign-roles-from-groups", "on"]) == 0
    assert "assign_roles_from_groups=True" in capsys.readouterr().out
    assert main(["role", "map", "acme", admins, "admin", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        "  ada@example.com: member -> admin",
        "dry run: 1 role change, nothing written",
    ]
    assert main(["team", "create", "acme", "Design"]) == 0
    assert main(["team", "add", "acme", "Design", ada]) == 0
    out = capsys.readouterr().out
    assert "  members:" in out and "user_name=ada@example.com" in out
