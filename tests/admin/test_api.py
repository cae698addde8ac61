"""The JSON admin API under /api, over HTTP, on both databases."""

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.storage.database import Database
from tests.conftest import Tenant, TenantFactory, group_body, user_body

KEY = "admin-key-for-tests"


@pytest.fixture
def admin(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client of an app with an admin API key, sending that key."""
    keyed = settings.model_copy(update={"admin_api_key": SecretStr(KEY)})
    app = create_app(keyed, db=database)
    headers = {"Authorization": f"Bearer {KEY}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


@pytest.fixture
def acme(database: Database, admin: TestClient) -> Tenant:
    """Organization "acme" with SSO, SCIM on and a SCIM token, on the keyed app."""
    return TenantFactory(database, admin)("acme")


def _ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _error(response: httpx2.Response, status: int) -> str:
    """Check an admin error body (not a SCIM one) and return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def _provision(acme: Tenant, user_name: str, **extra: Any) -> str:
    user_id: str = _ok(acme.post("/Users", json=user_body(user_name, **extra)), 201)["id"]
    return user_id


def _group(acme: Tenant, name: str, members: list[str]) -> str:
    group_id: str = _ok(acme.post("/Groups", json=group_body(name, members)), 201)["id"]
    return group_id


def _member(admin: TestClient, user_id: str) -> Any:
    return _ok(admin.get(f"/api/orgs/acme/members/{user_id}"))


# --- authentication ------------------------------------------------------------------------


def test_api_is_absent_while_no_key_is_set(client: TestClient) -> None:
    """Without admin_api_key every admin path answers 404, with or without a header."""
    _error(client.get("/api/orgs"), 404)
    _error(client.get("/api/orgs", headers={"Authorization": "Bearer "}), 404)
    _error(client.post("/api/orgs", json={"name": "x"}), 404)


def test_missing_or_wrong_key_is_401(admin: TestClient) -> None:
    """A request without the right bearer key is refused with 401 and a challenge."""
    for header in ("", "Bearer", "Bearer wrong", f"Basic {KEY}", f"Bearer {KEY}x"):
        response = admin.get("/api/orgs", headers={"Authorization": header})
        _error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert _ok(admin.get("/api/orgs", headers={"Authorization": f"bearer {KEY}"})) == []


def test_unknown_paths_and_methods_answer_in_the_admin_format(admin: TestClient) -> None:
    """Routing errors under /api use the admin error body, not SCIM's nor Starlette's."""
    _error(admin.get("/api/nothing-here"), 404)
    _error(admin.delete("/api/orgs"), 405)


def test_nul_in_names_and_references_is_refused(admin: TestClient, acme: Tenant) -> None:
    """A name holding NUL is a 400 and a reference holding one names nothing (404)."""
    _error(admin.post("/api/orgs", json={"name": "a\x00b"}), 400)
    _error(admin.post("/api/orgs/acme/teams", json={"name": "a\x00b"}), 400)
    _error(admin.post("/api/orgs/acme/roles", json={"name": "a\x00b", "weight": 1}), 400)
    _error(admin.get("/api/orgs/a%00b"), 404)
    _error(admin.get("/api/orgs/acme/teams/a%00b"), 404)
    _error(admin.patch("/api/orgs/acme/roles/a%00b", json={"weight": 1}), 404)


# --- organizations -------------------------------------------------------------------------


def test_create_list_and_show_organizations(admin: TestClient) -> None:
    """Organizations are created by name, listed, and found by name or id."""
    created = _ok(admin.post("/api/orgs", json={"name": "Initech"}), 201)
    assert created["name"] == "Initech" and created["default_role"] == "member"
    flags = ("scim_enabled", "google_directory_sync", "sso_configured", *FLAGS)
    assert all(created[flag] is False for flag in flags)
    assert [org["name"] for org in _ok(admin.get("/api/orgs"))] == ["Initech"]
    assert _ok(admin.get("/api/orgs/initech"))["id"] == created["id"]
    assert _ok(admin.get(f"/api/orgs/{created['id']}"))["name"] == "Initech"
    assert "nobody" in _error(admin.get("/api/orgs/nobody"), 404)


def test_create_organization_bad_input(admin: TestClient) -> None:
    """Duplicate names are 409; a missing or blank name and a non-JSON body are 400."""
    _ok(admin.post("/api/orgs", json={"name": "Initech"}), 201)
    _error(admin.post("/api/orgs", json={"name": "INITECH"}), 409)
    _error(admin.post("/api/orgs", json={"name": "  "}), 400)
    _error(admin.post("/api/orgs", json={}), 400)
    _error(admin.post("/api/orgs", json={"name": 7}), 400)
    _error(admin.post("/api/orgs", content=b"{not json"), 400)
    _error(admin.post("/api/orgs", json=["Initech"]), 400)


FLAGS = ("sync_groups_to_teams", "assign_roles_from_groups", "phone_sync")


def test_patch_flags_and_default_role(admin: TestClient, acme: Tenant) -> None:
    """PATCH sets feature flags and the default role, and returns the organization."""
    org = _ok(admin.patch("/api/orgs/acme", json=dict.fromkeys(FLAGS, True)))
    assert all(org[flag] is True for flag in FLAGS)
    org = _ok(admin.patch("/api/orgs/acme", json={"phone_sync": False, "default_role": "admin"}))
    assert org["phone_sync"] is False and org["default_role"] == "admin"
    assert _ok(admin.get("/api/orgs/acme"))["default_role"] == "admin"


def test_patch_organization_bad_input(admin: TestClient, acme: Tenant) -> None:
    """Non-boolean flags, unknown fields and unknown roles are refused; nothing changes."""
    _error(admin.patch("/api/orgs/acme", json={"phone_sync": "yes"}), 400)
    _error(admin.patch("/api/orgs/acme", json={"phone_sync": 1}), 400)
    _error(admin.patch("/api/orgs/acme", json={"colour": "red"}), 400)
    _error(admin.patch("/api/orgs/acme", json={"default_role": 3}), 400)
    _error(admin.patch("/api/orgs/acme", json={"phone_sync": True, "default_role": "x"}), 404)
    _error(admin.patch("/api/orgs/nobody", json={"phone_sync": True}), 404)
    org = _ok(admin.get("/api/orgs/acme"))
    assert org["phone_sync"] is False and org["default_role"] == "member"


def test_scim_and_google_directory_sync_exclude_each_other(admin: TestClient, acme: Tenant) -> None:
    """Either user source is refused (409) while the other is on; one PATCH can swap them."""
    assert "Disable SCIM first" in _error(
        admin.patch("/api/orgs/acme", json={"google_directory_sync": True}), 409
    )
    swapped = {"scim_enabled": False, "google_directory_sync": True}
    org = _ok(admin.patch("/api/orgs/acme", json=swapped))
    assert org["scim_enabled"] is False and org["google_directory_sync"] is True
    assert "Google Directory Sync" in _error(
        admin.patch("/api/orgs/acme", json={"scim_enabled": True}), 409
    )
    assert _ok(admin.get("/api/orgs/acme"))["scim_enabled"] is False


# --- roles ---------------------------------------------------------------------------------


def test_list_and_create_roles(admin: TestClient, acme: Tenant) -> None:
    """Roles list heaviest first with the default marked; a new one joins the list."""
    listed = _ok(admin.get("/api/orgs/acme/roles"))
    assert [(r["name"], r["weight"], r["default"]) for r in listed] == [
        ("owner", 100, False),
        ("admin", 80, False),
        ("member", 50, True),
        ("observer", 10, False),
    ]
    created = _ok(admin.post("/api/orgs/acme/roles", json={"name": "Billing", "weight": 30}), 201)
    assert created["name"] == "Billing" and created["default"] is False
    names = [r["name"] for r in _ok(admin.get("/api/orgs/acme/roles"))]
    assert names == ["owner", "admin", "member", "Billing", "observer"]


def test_create_role_bad_input(admin: TestClient, acme: Tenant) -> None:
    """Duplicate roles are 409; bad weights and names are 400; unknown orgs 404."""
    _error(admin.post("/api/orgs/acme/roles", json={"name": "ADMIN", "weight": 1}), 409)
    for weight in ("high", True, 1.5, None, 10_000_000):
        _error(admin.post("/api/orgs/acme/roles", json={"name": "x", "weight": weight}), 400)
    _error(admin.post("/api/orgs/acme/roles", json={"weight": 1}), 400)
    _error(admin.post("/api/orgs/acme/roles", json={"name": "", "weight": 1}), 400)
    _error(admin.post("/api/orgs/nobody/roles", json={"name": "x", "weight": 1}), 404)
    _error(admin.get("/api/orgs/nobody/roles"), 404)


def test_change_role_weight_with_preview(admin: TestClient, acme: Tenant) -> None:
    """A weight change previewed with dry_run moves nobody; applied, it moves the member."""
    _ok(admin.patch("/api/orgs/acme", json={"assign_roles_from_groups": True}))
    ada = _provision(acme, "ada@example.com")
    _ok(
        admin.put(
            f"/api/orgs/acme/role-mappings/{_group(acme, 'Ops', [ada])}", json={"role": "observer"}
        )
    )
    _ok(
        admin.put(
            f"/api/orgs/acme/role-mappings/{_group(acme, 'Leads', [ada])}", json={"role": "admin"}
        )
    )
    assert _member(admin, ada)["role"] == "admin"

    path = "/api/orgs/acme/roles/observer"
    preview = _ok(admin.patch(path, params={"dry_run": "true"}, json={"weight": 90}))
    moved = [
        {"user_id": ada, "user_name": "ada@example.com", "before": "admin", "after": "observer"}
    ]
    assert preview["changes"] == moved and preview["applied"] is False
    assert preview["role"]["weight"] == 10
    assert _member(admin, ada)["role"] == "admin"

    applied = _ok(admin.patch(path, json={"weight": 90}))
    assert applied["changes"] == moved and applied["applied"] is True
    assert applied["role"]["weight"] == 90
    assert _member(admin, ada)["role"] == "observer"


def test_change_role_weight_bad_input(admin: TestClient, acme: Tenant) -> None:
    """Unknown roles are 404; weights that are not integers in range, and bad dry_run, 400."""
    _error(admin.patch("/api/orgs/acme/roles/nope", json={"weight": 1}), 404)
    _error(admin.patch("/api/orgs/acme/roles/admin", json={"weight": "1"}), 400)
    _error(admin.patch("/api/orgs/acme/roles/admin", json={"weight": 2_000_000}), 400)
    _error(admin.patch("/api/orgs/acme/roles/admin", json={}), 400)
    response = admin.patch(
        "/api/orgs/acme/roles/admin", params={"dry_run": "maybe"}, json={"weight": 1}
    )
    _error(response, 400)
    weights = {role["name"]: role["weight"] for role in _ok(admin.get("/api/orgs/acme/roles"))}
    assert weights["admin"] == 80


# --- role mappings -------------------------------------------------------------------------


def test_mapping_preview_writes_nothing_then_applies(admin: TestClient, acme: Tenant) -> None:
    """A dry-run mapping lists who gains the role and writes nothing; the real run applies."""
    _ok(admin.patch("/api/orgs/acme", json={"assign_roles_from_groups": True}))
    ada = _provision(acme, "ada@example.com")
    _provision(acme, "bob@example.com")
    admins = _group(acme, "Admins", [ada])
    path = f"/api/orgs/acme/role-mappings/{admins}"
    gain = [{"user_id": ada, "user_name": "ada@example.com", "before": "member", "after": "admin"}]

    preview = _ok(admin.put(path, params={"dry_run": "true"}, json={"role": "admin"}))
    assert preview["changes"] == gain and preview["applied"] is False
    assert _ok(admin.get("/api/orgs/acme/role-mappings")) == []
    assert _member(admin, ada)["role"] == "member"

    applied = _ok(admin.put(path, json={"role": "admin"}))
    assert applied["changes"] == gain and applied["applied"] is True
    assert _ok(admin.get("/api/orgs/acme/role-mappings")) == [
        {"group_id": admins, "group_display_name": "Admins", "role": "admin"}
    ]
    member = _member(admin, ada)
    assert (member["role"], member["role_from_group"]) == ("admin", "Admins")


def test_unmapping_with_preview(admin: TestClient, acme: Tenant) -> None:
    """DELETE previews then removes a mapping; its members fall back to the default role."""
    _ok(admin.patch("/api/orgs/acme", json={"assign_roles_from_groups": True}))
    ada = _provision(acme, "ada@example.com")
    path = f"/api/orgs/acme/role-mappings/{_group(acme, 'Admins', [ada])}"
    _ok(admin.put(path, json={"role": "admin"}))
    lose = [{"user_id": ada, "user_name": "ada@example.com", "before": "admin", "after": "member"}]

    preview = _ok(admin.delete(path, params={"dry_run": "1"}))
    assert preview["changes"] == lose and preview["applied"] is False
    assert len(_ok(admin.get("/api/orgs/acme/role-mappings"))) == 1

    removed = _ok(admin.delete(path))
    assert removed["changes"] == lose and removed["applied"] is True
    assert _ok(admin.get("/api/orgs/acme/role-mappings")) == []
    assert _member(admin, ada)["role_from_group"] is None


def test_mapping_bad_input(admin: TestClient, acme: Tenant) -> None:
    """Unknown groups (or another org's) and unknown roles are 404; a missing role is 400."""
    group = _group(acme, "Admins", [])
    _error(admin.put("/api/orgs/acme/role-mappings/nope", json={"role": "admin"}), 404)
    _error(admin.put(f"/api/orgs/acme/role-mappings/{group}", json={"role": "nope"}), 404)
    _error(admin.put(f"/api/orgs/acme/role-mappings/{group}", json={}), 400)
    _error(admin.delete("/api/orgs/acme/role-mappings/nope"), 404)
    _ok(admin.post("/api/orgs", json={"name": "other"}), 201)
    _error(admin.put(f"/api/orgs/other/role-mappings/{group}", json={"role": "admin"}), 404)


# --- teams ---------------------------------------------------------------------------------


def test_teams_with_scim_and_manual_members(admin: TestClient, acme: Tenant) -> None:
    """A synced group fills its team via SCIM; manual grants add to it and are withdrawn alone."""
    _ok(admin.patch("/api/orgs/acme", json={"sync_groups_to_teams": True}))
    ada, bob = _provision(acme, "ada@example.com"), _provision(acme, "bob@example.com")
    eng = _group(acme, "Eng", [ada])
    listed = _ok(admin.get("/api/orgs/acme/teams"))
    assert [(t["name"], t["scim_group_id"], t["member_count"]) for t in listed] == [("Eng", eng, 1)]

    team = _ok(admin.put(f"/api/orgs/acme/teams/eng/members/{ada}"))
    team = _ok(admin.put(f"/api/orgs/acme/teams/eng/members/{bob}"))
    grants = {m["user_name"]: (m["via_scim"], m["manual"]) for m in team["members"]}
    assert grants == {"ada@example.com": (True, True), "bob@example.com": (False, True)}

    _ok(admin.delete(f"/api/orgs/acme/teams/eng/members/{ada}"))
    team = _ok(admin.delete(f"/api/orgs/acme/teams/{listed[0]['id']}/members/{bob}"))
    assert [(m["user_id"], m["via_scim"], m["manual"]) for m in team["members"]] == [
        (ada, True, False)
    ]
    assert team["member_count"] == 1


def test_create_and_show_team(admin: TestClient, acme: Tenant) -> None:
    """A created team is empty and unlinked, found by name or id; names are unique."""
    created = _ok(admin.post("/api/orgs/acme/teams", json={"name": "Design"}), 201)
    assert (created["scim_group_id"], created["member_count"]) == (None, 0)
    shown = _ok(admin.get(f"/api/orgs/acme/teams/{created['id']}"))
    assert shown == {**created, "members": []}
    assert _ok(admin.get("/api/orgs/acme/teams/DESIGN"))["id"] == created["id"]
    _error(admin.post("/api/orgs/acme/teams", json={"name": "design"}), 409)
    _error(admin.post("/api/orgs/acme/teams", json={"name": " "}), 400)
    _error(admin.post("/api/orgs/acme/teams", json={}), 400)


def test_groups_and_team_members_page_with_search(admin: TestClient, acme: Tenant) -> None:
    """SCIM groups and a team's members list one page at a time, with a search."""
    _ok(admin.patch("/api/orgs/acme", json={"sync_groups_to_teams": True}))
    people = [_provision(acme, f"user{n}@example.com") for n in range(5)]
    for name in ("Design", "Engineering", "Ops"):
        _group(acme, name, people if name == "Engineering" else [])
    first = _ok(admin.get("/api/orgs/acme/groups", params={"limit": "2"}))
    assert (first["total"], [g["display_name"] for g in first["groups"]]) == (
        3,
        ["Design", "Engineering"],
    )
    rest = _ok(admin.get("/api/orgs/acme/groups", params={"limit": "2", "offset": "2"}))
    assert [g["display_name"] for g in rest["groups"]] == ["Ops"]
    found = _ok(admin.get("/api/orgs/acme/groups", params={"search": "ENG"}))
    assert [(g["display_name"], g["member_count"]) for g in found["groups"]] == [("Engineering", 5)]

    whole = _ok(admin.get("/api/orgs/acme/teams/engineering"))
    assert len(whole["members"]) == 5
    paged = _ok(admin.get("/api/orgs/acme/teams/engineering", params={"limit": "2"}))
    assert (paged["total"], len(paged["members"])) == (5, 2)
    one = _ok(admin.get("/api/orgs/acme/teams/engineering", params={"search": "user3"}))
    assert [m["user_name"] for m in one["members"]] == ["user3@example.com"]
    _error(admin.get("/api/orgs/acme/groups", params={"limit": "0"}), 400)
    _error(admin.get("/api/orgs/acme/groups", params={"offset": "-1"}), 400)
    _error(admin.get("/api/orgs/acme/groups", params={"limit": "x"}), 400)


def test_team_bad_references(admin: TestClient, acme: Tenant) -> None:
    """Unknown teams and users, and another organization's users, are 404."""
    ada = _provision(acme, "ada@example.com")
    _ok(admin.post("/api/orgs/acme/teams", json={"name": "Design"}), 201)
    _error(admin.get("/api/orgs/acme/teams/nope"), 404)
    _error(admin.put(f"/api/orgs/acme/teams/nope/members/{ada}"), 404)
    _error(admin.put("/api/orgs/acme/teams/design/members/nope"), 404)
    _error(admin.delete("/api/orgs/acme/teams/design/members/nope"), 404)
    _ok(admin.post("/api/orgs", json={"name": "other"}), 201)
    _ok(admin.post("/api/orgs/other/teams", json={"name": "Design"}), 201)
    _error(admin.put(f"/api/orgs/other/teams/design/members/{ada}"), 404)


# --- members -------------------------------------------------------------------------------


def test_members_page(admin: TestClient, acme: Tenant) -> None:
    """Members list oldest first, one page at a time, with role and active state."""
    ids = [_provision(acme, f"user{n}@example.com") for n in range(3)]
    acme.patch(
        f"/Users/{ids[2]}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    page = _ok(admin.get("/api/orgs/acme/members"))
    assert page["total"] == 3 and [m["user_id"] for m in page["members"]] == ids
    assert [(m["active"], m["role"]) for m in page["members"]] == [
        (True, "member"),
        (True, "member"),
        (False, None),
    ]
    page = _ok(admin.get("/api/orgs/acme/members", params={"limit": 1, "offset": 1}))
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [m["user_id"] for m in page["members"]] == [ids[1]]
    for params in ({"limit": 0}, {"limit": "x"}, {"offset": -1}, {"offset": "9" * 30}):
        _error(admin.get("/api/orgs/acme/members", params=params), 400)


def test_member_detail(admin: TestClient, acme: Tenant) -> None:
    """A member shows their person's names, work email, phone numbers and teams."""
    _ok(admin.patch("/api/orgs/acme", json={"phone_sync": True, "sync_groups_to_teams": True}))
    ada = _provision(
        acme,
        "ada@example.com",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        displayName="Countess",
        emails=[{"value": "ada@work.example.com", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "(650) 253-0000", "type": "work"}],
    )
    _group(acme, "Eng", [ada])
    _ok(admin.post("/api/orgs/acme/teams", json={"name": "Design"}), 201)
    _ok(admin.put(f"/api/orgs/acme/teams/design/members/{ada}"))
    member = _member(admin, ada)
    person = member["person"]
    assert member["person_id"] == person["id"]
    assert (person["first_name"], person["last_name"]) == ("Ada", "Lovelace")
    assert (person["preferred_name"], person["work_email"]) == ("Countess", "ada@work.example.com")
    assert person["phone_numbers"] == ["+16502530000"]
    assert [(t["name"], t["via_scim"], t["manual"]) for t in member["teams"]] == [
        ("Design", False, True),
        ("Eng", True, False),
    ]
    _error(admin.get("/api/orgs/acme/members/nope"), 404)
    _ok(admin.post("/api/orgs", json={"name": "other"}), 201)
    _error(admin.get(f"/api/orgs/other/members/{ada}"), 404)
