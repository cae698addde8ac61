"""The Role assignment page: roles, weights, the default role and group mappings."""

import re
from dataclasses import dataclass
from typing import Any

import httpx2
from playwright.sync_api import Page, expect

from scimgate.admin import operations
from scimgate.domain import organizations, tokens

from ..conftest import SCIM_JSON, group_body, user_body
from .conftest import Shooter, Site, csrf_token, sign_in


@dataclass
class Idp:
    """An identity provider provisioning one organization through the real SCIM API."""

    site: Site
    org_id: str
    token: str

    @classmethod
    def connect(cls, site: Site, name: str, **flags: bool) -> "Idp":
        """An organization with SSO and SCIM on, a SCIM token, and these feature flags."""
        org_id = site.org(name, sso_on=True, scim_on=True)
        with site.database.transaction() as session:
            secret = tokens.issue(session, organizations.get(session, org_id)).secret
        idp = cls(site, org_id, secret)
        idp.flags(**flags)
        return idp

    def flags(self, **flags: bool) -> None:
        """Turn feature flags on or off, as the SSO & SCIM settings do."""
        with self.site.database.transaction() as session:
            operations.update_org(session, self.org_id, operations.OrgChanges(flags=flags))

    def post(self, path: str, body: dict[str, Any]) -> str:
        """Create a resource; return its id."""
        answer = httpx2.post(
            f"{self.site.url}/scim/v2{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": SCIM_JSON},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        found: str = answer.json()["id"]
        return found

    def user(self, user_name: str, **extra: Any) -> str:
        return self.post("/Users", user_body(user_name, **extra))

    def group(self, name: str, members: list[str]) -> str:
        return self.post("/Groups", group_body(name, members))


def _people(client: httpx2.Client, org_id: str) -> str:
    answer = client.get(f"/admin/orgs/{org_id}/people")
    assert answer.status_code == 200
    return answer.text


def _row(html: str, user_name: str) -> str:
    found = re.search(rf"<tr>\s*<td><a [^>]*>{re.escape(user_name)}</a>.*?</tr>", html, re.S)
    assert found, f"no row of {user_name}"
    return found.group(0)


def test_mapping_a_group_is_previewed_then_applied_and_people_shows_why(
    page: Page, site: Site, shoot: Shooter
) -> None:
    """Preview lists the member who would gain the role; applying it shows on People."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    idp.user("bob@example.com")
    idp.group("Engineering", [alice])
    site.admin("root", "acme")
    sign_in(page, site, "root")

    page.goto(f"{site.url}/admin/orgs/{idp.org_id}/roles")
    expect(page.get_by_role("heading", name="Group mappings")).to_be_visible()
    expect(page.get_by_text("take effect only when")).to_have_count(0)
    shoot(page, "roles")
    mapping = page.locator("form", has=page.get_by_label("Role for Engineering"))
    mapping.get_by_label("Role for Engineering").select_option("admin")
    mapping.get_by_role("button", name="Preview").click()

    preview = page.locator("section", has=page.get_by_role("heading", name="Preview"))
    expect(preview.get_by_role("heading")).to_have_text("Preview: changes if saved")
    expect(preview.get_by_role("row", name="alice@example.com")).to_contain_text("member")
    expect(preview.get_by_role("row", name="alice@example.com")).to_contain_text("admin")
    expect(preview.get_by_text("bob@example.com")).to_have_count(0)
    shoot(page, "roles-preview")
    preview.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_role("status")).to_have_text("Saved: 1 role change.")
    expect(page.get_by_role("row", name="Engineering").get_by_role("cell").nth(1)).to_have_text(
        "admin"
    )

    page.get_by_role("link", name="People & teams").click()
    row = page.get_by_role("row", name=re.compile("alice@example.com"))
    expect(row).to_contain_text("admin")
    expect(row).to_contain_text("from group Engineering")
    expect(page.get_by_role("row", name=re.compile("bob@example.com"))).to_contain_text(
        "default role"
    )


def test_previews_write_nothing(site: Site) -> None:
    """Previewing a mapping, a weight or a default role leaves every member's role as it was."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    idp.group("Engineering", [alice])
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/roles"
    token = csrf_token(client.get(base).text)
    groups = operations.list_groups
    with site.database.transaction() as session:
        group_id = groups(session, idp.org_id)[0]["id"]

    mapped = client.post(
        f"{base}/map",
        data={"csrf_token": token, "group": group_id, "role": "owner", "action": "preview"},
    )
    assert mapped.status_code == 200
    assert "Preview: changes if saved" in mapped.text
    assert "alice@example.com" in mapped.text
    default = client.post(
        f"{base}/default", data={"csrf_token": token, "role": "observer", "action": "preview"}
    )
    assert default.status_code == 200 and "alice@example.com" in default.text
    weight = client.post(
        f"{base}/weight",
        data={"csrf_token": token, "role": "owner", "weight": "5", "action": "preview"},
    )
    assert weight.status_code == 200 and "No member's role changes." in weight.text

    assert "default role" in _row(_people(client, idp.org_id), "alice@example.com")
    with site.database.transaction() as session:
        assert operations.list_mappings(session, idp.org_id) == []
        assert operations.show_org(session, idp.org_id)["default_role"] == "member"
        weights = {r["name"]: r["weight"] for r in operations.list_roles(session, idp.org_id)}
    assert weights["owner"] == 100


def test_weights_default_role_and_new_roles_are_saved(site: Site) -> None:
    """Saving a weight or the default role moves the members it previewed; a role is added."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    idp.user("bob@example.com")
    idp.group("Engineering", [alice])
    ops_group = idp.group("Ops", [alice])
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/roles"
    token = csrf_token(client.get(base).text)
    with site.database.transaction() as session:
        engineering = operations.list_groups(session, idp.org_id)[0]["id"]
    for group, role in ((engineering, "admin"), (ops_group, "observer")):
        saved = client.post(
            f"{base}/map",
            data={"csrf_token": token, "group": group, "role": role, "action": "save"},
        )
        assert saved.status_code == 303
    assert "from group Engineering" in _row(_people(client, idp.org_id), "alice@example.com")

    weight = client.post(
        f"{base}/weight",
        data={"csrf_token": token, "role": "observer", "weight": "90", "action": "save"},
    )
    assert weight.status_code == 303
    assert "Saved: 1 role change." in client.get(base).text
    assert "from group Ops" in _row(_people(client, idp.org_id), "alice@example.com")

    default = client.post(
        f"{base}/default", data={"csrf_token": token, "role": "admin", "action": "save"}
    )
    assert default.status_code == 303
    assert "Saved: 1 role change." in client.get(base).text
    bob = _row(_people(client, idp.org_id), "bob@example.com")
    assert "admin" in bob and "default role" in bob

    added = client.post(
        f"{base}/new", data={"csrf_token": token, "name": "on-call", "weight": "60"}
    )
    assert added.status_code == 303
    page = client.get(base).text
    assert "Added the role on-call." in page
    assert re.search(r'Weight of on-call</label>\s*<input [^>]*value="60"', page)


def test_bad_input_is_a_red_notice_and_flag_off_is_warned(site: Site) -> None:
    """A weight that is not a number comes back as an error; with the flag off a warning shows."""
    idp = Idp.connect(site, "acme")
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/roles"
    shown = client.get(base).text
    assert "take effect only when" in shown
    assert f'href="/admin/orgs/{idp.org_id}/sso"' in shown
    token = csrf_token(shown)

    answer = client.post(
        f"{base}/weight",
        data={"csrf_token": token, "role": "owner", "weight": "heavy", "action": "save"},
        headers={"Referer": f"{site.url}{base}"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == base
    again = client.get(base).text
    assert 'class="notice error"' in again and "whole number" in again
    taken = client.post(f"{base}/new", data={"csrf_token": token, "name": "Owner", "weight": "1"})
    assert taken.status_code == 303
    assert "already exists" in client.get(base).text

    # A form sent from a preview page is sent back to the page itself on error.
    back = client.get(f"{base}/map")
    assert back.status_code == 303 and back.headers["location"] == base


def test_another_organizations_admin_gets_404_and_changes_nothing(site: Site) -> None:
    """Every page and form of the role page answers 404 to an admin of another organization."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    group = idp.group("Engineering", [alice])
    site.org("globex")
    site.admin("mallory", "globex")
    client = site.sign_in_http("mallory")
    token = csrf_token(client.get("/admin").text)
    base = f"/admin/orgs/{idp.org_id}/roles"

    assert client.get(base).status_code == 404
    forms = {
        "map": {"group": group, "role": "owner", "action": "save"},
        "weight": {"role": "member", "weight": "1000", "action": "save"},
        "default": {"role": "observer", "action": "save"},
        "new": {"name": "intruder", "weight": "1"},
    }
    for action, fields in forms.items():
        answer = client.post(f"{base}/{action}", data={"csrf_token": token, **fields})
        assert answer.status_code == 404, action
        assert "acme" not in answer.text

    _assert_unchanged(site, idp.org_id)


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    """A POST missing the CSRF token answers 403 and writes nothing."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    group = idp.group("Engineering", [alice])
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/roles"
    forms = {
        "map": {"group": group, "role": "owner", "action": "save"},
        "weight": {"role": "member", "weight": "1000", "action": "save"},
        "default": {"role": "observer", "action": "save"},
        "new": {"name": "intruder", "weight": "1"},
    }
    for action, fields in forms.items():
        assert client.post(f"{base}/{action}", data=fields).status_code == 403, action

    _assert_unchanged(site, idp.org_id)
    assert "default role" in _row(_people(client, idp.org_id), "alice@example.com")


def _assert_unchanged(site: Site, org_id: str) -> None:
    with site.database.transaction() as session:
        assert operations.list_mappings(session, org_id) == []
        assert operations.show_org(session, org_id)["default_role"] == "member"
        listed = {r["name"]: r["weight"] for r in operations.list_roles(session, org_id)}
    assert listed == {"owner": 100, "admin": 80, "member": 50, "observer": 10}
