"""The People & teams pages: memberships, a member's profile, teams and manual grants."""

import re

from playwright.sync_api import Page, expect

from scimgate.admin import operations

from ..conftest import user_body
from .conftest import Shooter, Site, csrf_token, sign_in
from .test_roles_page import Idp


def _team_id(site: Site, org_id: str, name: str) -> str:
    with site.database.transaction() as session:
        teams = operations.list_teams(session, org_id)
    found: str = next(team["id"] for team in teams if team["name"] == name)
    return found


def _team_members(site: Site, org_id: str, name: str) -> dict[str, tuple[bool, bool]]:
    """User name → (via SCIM, manual) for each member of the team."""
    with site.database.transaction() as session:
        team = operations.show_team(session, org_id, name)
    return {m["user_name"]: (m["via_scim"], m["manual"]) for m in team["members"]}


def test_a_pushed_group_becomes_a_linked_team_and_members_are_added_and_removed_by_hand(
    page: Page, site: Site, shoot: Shooter
) -> None:
    """With team sync on a pushed group is a team; a manual member can be added and removed."""
    idp = Idp.connect(site, "acme", sync_groups_to_teams=True, assign_roles_from_groups=True)
    alice = idp.user("alice@example.com", name={"givenName": "Alice", "familyName": "Liddell"})
    idp.user("bob@example.com")
    group = idp.group("Platform", [alice])
    with site.database.transaction() as session:
        operations.map_group(session, idp.org_id, group, "admin", dry_run=False)
    site.admin("root", "acme")
    sign_in(page, site, "root")

    page.goto(f"{site.url}/admin/orgs/{idp.org_id}/people")
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    alice_row = page.get_by_role("row", name=re.compile("alice@example.com"))
    expect(alice_row).to_contain_text("from group Platform")
    expect(alice_row).to_contain_text("SCIM")
    expect(page.get_by_role("row", name=re.compile("bob@example.com"))).to_contain_text(
        "default role"
    )
    shoot(page, "people")

    page.get_by_role("link", name="Teams", exact=True).click()
    expect(page.get_by_role("heading", name="Teams", exact=True)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Platform Platform"))).to_be_visible()
    expect(page.get_by_text("linked to team Platform")).to_be_visible()
    page.get_by_role("link", name="Platform", exact=True).first.click()

    expect(page.get_by_role("heading", name="Platform", exact=True)).to_be_visible()
    expect(page.get_by_text("Linked to the SCIM group Platform")).to_be_visible()
    alice_grant = page.get_by_role("row", name=re.compile("alice@example.com"))
    expect(alice_grant).to_contain_text("SCIM")
    expect(alice_grant.get_by_role("button", name="Remove")).to_have_count(0)
    expect(alice_grant).to_contain_text("remove them from the group in the identity provider")

    page.get_by_label("User name").fill("bob@example.com")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text("Added bob@example.com to Platform.")
    bob_grant = page.get_by_role("row", name=re.compile("bob@example.com"))
    expect(bob_grant).to_contain_text("manual")
    shoot(page, "team")

    bob_grant.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Removed bob@example.com from Platform.")
    expect(page.get_by_role("row", name=re.compile("bob@example.com"))).to_have_count(0)
    assert _team_members(site, idp.org_id, "Platform") == {"alice@example.com": (True, False)}


def test_member_page_shows_profile_role_and_team_grants(site: Site) -> None:
    """A member's page shows their names, email, phones, role with its reason, and teams."""
    idp = Idp.connect(site, "acme", sync_groups_to_teams=True, phone_sync=True)
    alice = idp.user(
        "alice@example.com",
        name={"givenName": "Alice", "familyName": "Liddell"},
        displayName="Ali",
        emails=[{"value": "alice@example.com", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "+1 415 555 0100", "type": "work"}],
    )
    idp.group("Platform", [alice])
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}"
    team = _team_id(site, idp.org_id, "Platform")
    token = csrf_token(client.get(f"{base}/teams/{team}").text)
    added = client.post(
        f"{base}/teams/{team}/add", data={"csrf_token": token, "user_name": "ALICE@example.com"}
    )
    assert added.status_code == 303

    shown = client.get(f"{base}/people/{alice}")
    assert shown.status_code == 200
    for text in ("Alice", "Liddell", "Ali", "alice@example.com", "default role", "member"):
        assert text in shown.text, text
    assert re.search(r"\+1\s?415\s?555\s?0100|\+14155550100", shown.text)
    grants = re.search(r"Platform</a></td><td>(.*?)</td>", shown.text, re.S)
    assert grants and "SCIM" in grants.group(1) and "manual" in grants.group(1)

    removed = client.post(f"{base}/teams/{team}/remove", data={"csrf_token": token, "user": alice})
    assert removed.status_code == 303
    assert "stays in Platform through SCIM" in client.get(f"{base}/teams/{team}").text
    assert _team_members(site, idp.org_id, "Platform") == {"alice@example.com": (True, False)}
    assert client.get(f"{base}/people/not-a-member").status_code == 404


def test_people_are_listed_fifty_a_page(site: Site) -> None:
    """The People page shows 50 memberships a page with a pager, deactivated ones marked."""
    idp = Idp.connect(site, "acme")
    idp.bulk("/Users", [user_body(f"user{n:02}@example.com", active=n != 0) for n in range(51)])
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/people"

    first = client.get(base).text
    assert first.count("<tr>") == 51  # the header row and 50 members
    assert "1\N{EN DASH}50 of 51" in first and f'href="{base}?offset=50"' in first
    assert re.search(
        r"user00@example.com</a></td>\s*<td><span class=\"badge bad\">deactivated", first
    )
    second = client.get(f"{base}?offset=50").text
    assert second.count("<tr>") == 2 and "user50@example.com" in second
    assert client.get(f"{base}?offset=junk").status_code == 200


def test_teams_page_shows_unlinked_groups_when_sync_is_off_and_adds_teams(site: Site) -> None:
    """With team sync off a group is "not linked — team sync is off"; a new team is added."""
    idp = Idp.connect(site, "acme")
    alice = idp.user("alice@example.com")
    idp.group("Platform", [alice])
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/teams"
    shown = client.get(base).text
    assert "not linked — team sync is off" in shown
    created = client.post(base, data={"csrf_token": csrf_token(shown), "name": "Support"})
    assert created.status_code == 303
    page = client.get(created.headers["location"]).text
    assert "<h1>Support</h1>" in page and "Added the team Support." in page
    assert "No member yet." in page


def test_an_unknown_user_name_is_a_red_notice(site: Site) -> None:
    """Adding a user name the organization does not have changes nothing and says why."""
    idp = Idp.connect(site, "acme")
    idp.user("alice@example.com")
    site.org("globex")
    with site.database.transaction() as session:
        operations.create_team(session, idp.org_id, "Support")
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    team = f"/admin/orgs/{idp.org_id}/teams/{_team_id(site, idp.org_id, 'Support')}"
    token = csrf_token(client.get(team).text)
    answer = client.post(
        f"{team}/add",
        data={"csrf_token": token, "user_name": "nobody@example.com"},
        headers={"Referer": f"{site.url}{team}"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == team
    shown = client.get(team).text
    assert 'class="notice error"' in shown
    assert "acme has no member with the user name &#39;nobody@example.com&#39;" in shown
    assert _team_members(site, idp.org_id, "Support") == {}


def _protected(site: Site) -> tuple[Idp, str, str]:
    """An organization with a member in a team by hand: (idp, team id, member id)."""
    idp = Idp.connect(site, "acme")
    alice = idp.user("alice@example.com")
    idp.user("bob@example.com")
    with site.database.transaction() as session:
        team = operations.create_team(session, idp.org_id, "Support")["id"]
        operations.add_to_team(session, idp.org_id, team, alice)
    return idp, team, alice


def test_another_organizations_admin_gets_404_and_changes_nothing(site: Site) -> None:
    """Every page and form of People & teams answers 404 to an admin of another organization."""
    idp, team, alice = _protected(site)
    site.org("globex")
    site.admin("mallory", "globex")
    client = site.sign_in_http("mallory")
    token = csrf_token(client.get("/admin").text)
    base = f"/admin/orgs/{idp.org_id}"
    for path in ("/people", f"/people/{alice}", "/teams", f"/teams/{team}"):
        assert client.get(base + path).status_code == 404, path
    posts = {
        "/teams": {"name": "Intruders"},
        f"/teams/{team}/add": {"user_name": "bob@example.com"},
        f"/teams/{team}/remove": {"user": alice},
    }
    for path, fields in posts.items():
        answer = client.post(base + path, data={"csrf_token": token, **fields})
        assert answer.status_code == 404, path
        assert "alice" not in answer.text and "Support" not in answer.text

    _assert_unchanged(site, idp.org_id)


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    """A People & teams POST missing the CSRF token answers 403 and writes nothing."""
    idp, team, alice = _protected(site)
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}"
    posts = {
        "/teams": {"name": "Intruders"},
        f"/teams/{team}/add": {"user_name": "bob@example.com"},
        f"/teams/{team}/remove": {"user": alice},
    }
    for path, fields in posts.items():
        assert client.post(base + path, data=fields).status_code == 403, path

    _assert_unchanged(site, idp.org_id)


def _assert_unchanged(site: Site, org_id: str) -> None:
    with site.database.transaction() as session:
        names = [team["name"] for team in operations.list_teams(session, org_id)]
    assert names == ["Support"]
    assert _team_members(site, org_id, "Support") == {"alice@example.com": (False, True)}


def _tables(html: str) -> tuple[list[str], list[str]]:
    """The teams and the SCIM groups the Teams page lists, in order."""
    teams_part, groups_part = html.split('id="groups-heading"')
    teams = re.findall(r'<tr>\s*<td><a href="[^"]+">([^<]+)</a></td>', teams_part)
    groups = re.findall(r"<tr>\s*<td>([^<]+)</td>", groups_part)
    return teams, groups


def test_teams_and_groups_are_paged_apart_and_searched_together(site: Site) -> None:
    """120 linked groups: each table pages 50 rows with its own pager and total; q narrows both."""
    idp = Idp.connect(site, "acme", sync_groups_to_teams=True)
    idp.groups(120)
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    base = f"/admin/orgs/{idp.org_id}/teams"
    names = [f"Group {n:03}" for n in range(120)]

    first = client.get(base).text
    assert _tables(first) == (names[:50], names[:50])
    assert "120 teams, by name." in first and "120 SCIM groups, by name." in first
    assert f'href="{base}?teams_offset=50" rel="next"' in first
    assert f'href="{base}?groups_offset=50" rel="next"' in first

    # Each pager keeps the other table's page.
    moved = client.get(f"{base}?teams_offset=100&groups_offset=50").text
    assert _tables(moved) == (names[100:], names[50:100])
    assert f'href="{base}?groups_offset=50&amp;teams_offset=50" rel="prev"' in moved
    assert f'href="{base}?teams_offset=100&amp;groups_offset=100" rel="next"' in moved

    found = client.get(base, params={"q": "group 117"}).text
    assert _tables(found) == (["Group 117"], ["Group 117"])
    assert "1 team matches “group 117”." in found
    assert "1 SCIM group matches “group 117”." in found
    assert "linked to team" in found
    # An offset past what matches shows the last page of it.
    searched = client.get(base, params={"q": "group 1", "teams_offset": "50"}).text
    assert _tables(searched) == (names[100:], names[100:])
    assert "20 teams match “group 1”." in searched and 'class="pager"' not in searched


def test_a_team_of_120_members_shows_50_a_page_with_a_search(site: Site) -> None:
    """A group pushed with 120 members fills a team whose page lists 50 of them a page."""
    idp = Idp.connect(site, "acme", sync_groups_to_teams=True)
    users = idp.bulk("/Users", [user_body(f"user{n:03}@example.com") for n in range(120)])
    idp.group("Everyone", users)
    site.admin("root", "acme")
    client = site.sign_in_http("root")
    team = f"/admin/orgs/{idp.org_id}/teams/{_team_id(site, idp.org_id, 'Everyone')}"
    names = [f"user{n:03}@example.com" for n in range(120)]

    def members(html: str) -> list[str]:
        return re.findall(r'<tr>\s*<td><a href="[^"]+/people/\w+">([^<]+)</a></td>', html)

    first = client.get(team).text
    assert members(first) == names[:50]
    assert "120 members, by user name." in first
    assert "1\N{EN DASH}50 of 120" in first and f'href="{team}?offset=50" rel="next"' in first
    assert members(client.get(f"{team}?offset=100").text) == names[100:]
    assert "<td>120</td>" in client.get(f"/admin/orgs/{idp.org_id}/teams").text

    found = client.get(team, params={"q": "USER11"}).text
    assert members(found) == names[110:120]
    assert "10 of 120 members match “USER11” in their user name." in found
    assert 'class="pager"' not in found
    none = client.get(team, params={"q": "nobody"}).text
    assert members(none) == [] and "No member of 120 matches “nobody”" in none
    assert "No member yet." not in none


def test_paged_and_searched_pages_answer_404_to_another_organizations_admin(site: Site) -> None:
    """The pages with a search or a page in the query are as closed as without."""
    idp, team, _ = _protected(site)
    site.org("globex")
    site.admin("mallory", "globex")
    client = site.sign_in_http("mallory")
    base = f"/admin/orgs/{idp.org_id}"
    for path in (
        "/teams?q=Sup&teams_offset=50&groups_offset=50",
        f"/teams/{team}?q=alice&offset=50",
        "/roles?q=Sup&offset=50",
    ):
        answer = client.get(base + path)
        assert answer.status_code == 404, path
        assert "Support" not in answer.text and "alice" not in answer.text
