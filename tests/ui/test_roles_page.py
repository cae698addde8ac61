"""The Role assignment page: roles, weights, the default role and group mappings."""

import re
from dataclasses import dataclass
from typing import Any

import httpx2
from playwright.sync_api import Page, expect
from sqlalchemy import event

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

    def bulk(self, path: str, bodies: list[dict[str, Any]]) -> list[str]:
        """Create resources in one SCIM ``/Bulk`` request; return their ids, in order."""
        operations_ = [
            {"method": "POST", "path": path, "bulkId": f"b{n}", "data": body}
            for n, body in enumerate(bodies)
        ]
        answer = httpx2.post(
            f"{self.site.url}/scim/v2/Bulk",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": operations_,
            },
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": SCIM_JSON},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        results = answer.json()["Operations"]
        assert [result["status"] for result in results] == ["201"] * len(bodies), results
        return [str(result["location"]).rsplit("/", 1)[-1] for result in results]

    def groups(self, count: int) -> list[str]:
        """Create the groups "Group 000", "Group 001" ... in one Bulk request; return their ids."""
        return self.bulk("/Groups", [group_body(f"Group {n:03}") for n in range(count)])


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
    with site.database.transaction() as session:
        group_id = operations.page_groups(session, idp.org_id, 1, 0)["groups"][0]["id"]

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
        engineering = operations.page_groups(session, idp.org_id, 1, 0, "Engineering")["groups"][0][
            "id"
        ]
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


def _mapping_rows(html: str) -> list[str]:
    """The SCIM groups the Group mappings table of a roles page lists, in order."""
    return re.findall(
        r'<label for="map-\d+" class="visually-hidden">Role for ([^<]+)</label>', html
    )


def _hidden(form: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


def _map_form(html: str, group_name: str) -> dict[str, str]:
    """The hidden fields of the mapping form of a group in the Group mappings table."""
    forms = re.findall(r'<form method="post" action="[^"]*/roles/map".*?</form>', html, re.S)
    found = [form for form in forms if f"Role for {group_name}</label>" in form]
    assert len(found) == 1, f"no mapping form of {group_name}"
    return _hidden(found[0])


def _apply_form(html: str) -> dict[str, str]:
    """The hidden fields of a preview's "Apply these changes" form."""
    found = re.search(r'<form method="post"[^>]*>(?:(?!</form>).)*Apply these changes', html, re.S)
    assert found, "no Apply form"
    return _hidden(found.group(0))


def test_group_mappings_are_listed_fifty_a_page_with_the_total_and_a_search(site: Site) -> None:
    """120 groups: 50 a page by name with "120 SCIM groups", a pager, and a name search."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    idp.groups(120)
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/roles"

    first = client.get(base).text
    assert _mapping_rows(first) == [f"Group {n:03}" for n in range(50)]
    assert "120 SCIM groups, by name." in first
    assert "1\N{EN DASH}50 of 120" in first and f'href="{base}?offset=50" rel="next"' in first
    last = client.get(f"{base}?offset=100").text
    assert _mapping_rows(last) == [f"Group {n:03}" for n in range(100, 120)]
    assert "101\N{EN DASH}120 of 120" in last and 'rel="next"' not in last
    # An offset past the end shows the last page; one that is not a number, the first.
    assert _mapping_rows(client.get(f"{base}?offset=5000").text) == _mapping_rows(last)
    assert _mapping_rows(client.get(f"{base}?offset=junk").text) == _mapping_rows(first)

    one = client.get(base, params={"q": "  117 "}).text
    assert _mapping_rows(one) == ["Group 117"]
    assert "1 SCIM group matches “117”." in one and 'class="pager"' not in one
    ten = client.get(base, params={"q": "GROUP 11"}).text
    assert _mapping_rows(ten) == [f"Group {n}" for n in range(110, 120)]
    none = client.get(base, params={"q": "%"}).text
    assert _mapping_rows(none) == [] and "No SCIM group matches “%”." in none
    assert "No SCIM group has been pushed" not in none


def test_a_group_on_the_third_page_is_previewed_and_mapped_from_that_page(site: Site) -> None:
    """The preview and the saved answer of a group on page 3 name it and show page 3 again."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    idp.groups(120)
    group_110 = idp.post("/Groups", group_body("Group 110b", [alice]))
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/roles"
    third = client.get(f"{base}?offset=100").text
    assert "Group 110b" in _mapping_rows(third)
    fields = _map_form(third, "Group 110b")
    assert fields["group"] == group_110 and fields["offset"] == "100"

    preview = client.post(f"{base}/map", data={**fields, "role": "admin", "action": "preview"})
    assert preview.status_code == 200
    assert "SCIM group <strong>Group 110b</strong> grants <strong>admin</strong>" in preview.text
    assert "alice@example.com" in preview.text
    assert "Group 110b" in _mapping_rows(preview.text)  # still page 3
    apply = _apply_form(preview.text)
    assert apply == {**fields, "role": "admin", "action": "save"}

    saved = client.post(f"{base}/map", data=apply)
    assert saved.status_code == 303 and saved.headers["location"] == f"{base}?offset=100"
    shown = client.get(saved.headers["location"]).text
    assert "Saved: 1 role change." in shown
    row = re.search(r"<th scope=\"row\">Group 110b</th>\s*<td>1</td>\s*<td>admin</td>", shown)
    assert row, "the mapped group shows its role on its page"
    assert "from group Group 110b" in _row(_people(client, idp.org_id), "alice@example.com")


def test_an_administrator_pages_to_a_group_maps_it_and_finds_it_by_name(
    page: Page, site: Site
) -> None:
    """In the browser: page 3 of 121 groups, preview and apply a mapping there, then search."""
    idp = Idp.connect(site, "acme", assign_roles_from_groups=True)
    alice = idp.user("alice@example.com")
    idp.groups(120)
    idp.group("Group 110b", [alice])
    site.admin("root", "acme")
    sign_in(page, site, "root")

    page.goto(f"{site.url}/admin/orgs/{idp.org_id}/roles")
    expect(page.get_by_text("121 SCIM groups, by name.")).to_be_visible()
    mappings = page.locator("section", has=page.get_by_role("heading", name="Group mappings"))
    expect(mappings.locator("tbody tr")).to_have_count(50)
    for _ in range(2):
        mappings.get_by_role("link", name="Next").click()
    expect(mappings.get_by_text("101\N{EN DASH}121 of 121")).to_be_visible()
    expect(mappings.locator("tbody tr")).to_have_count(21)

    row = page.get_by_role("row", name=re.compile("^Group 110b"))
    row.get_by_label("Role for Group 110b").select_option("admin")
    row.get_by_role("button", name="Preview").click()
    preview = page.locator("section", has=page.get_by_role("heading", name="Preview"))
    expect(preview).to_contain_text("SCIM group Group 110b grants admin")
    expect(preview.get_by_role("row", name="alice@example.com")).to_contain_text("admin")
    preview.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_role("status")).to_have_text("Saved: 1 role change.")
    expect(page).to_have_url(re.compile(r"/roles\?offset=100$"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("admin")

    page.get_by_label("Group name contains").fill("110B")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("1 SCIM group matches “110B”.")).to_be_visible()
    expect(mappings.locator("tbody tr")).to_have_count(1)
    expect(row.get_by_role("cell").nth(1)).to_have_text("admin")


def test_the_roles_page_sends_as_many_statements_for_120_groups_as_for_3(site: Site) -> None:
    """Paging is done in SQL: the statements of the roles page do not grow with the groups."""
    small, large = Idp.connect(site, "small"), Idp.connect(site, "large")
    small.groups(3)
    large.groups(120)
    site.admin("root", "small", "large")
    client = site.sign_in_http("root")

    def statements(org_id: str) -> list[str]:
        url = f"/admin/orgs/{org_id}/roles"
        assert client.get(url).status_code == 200  # warm-up
        sent: list[str] = []

        def record(*args: Any) -> None:
            sent.append(str(args[2]))

        event.listen(site.database.engine, "before_cursor_execute", record)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(site.database.engine, "before_cursor_execute", record)
        # The request log is written by a background thread, on its own schedule.
        return [sql for sql in sent if "request_log" not in sql]

    few, many = statements(small.org_id), statements(large.org_id)
    assert few and len(few) == len(many), (few, many)
    assert all("LIMIT" in sql for sql in many if sql.lstrip().startswith("SELECT groups."))
