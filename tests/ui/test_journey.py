"""An administrator's whole first session, in a real browser, as the IdP starts pushing.

Sign in; configure SSO from the IdP's metadata file; switch SCIM on; create a token and
provision with it over real SCIM requests; turn team sync on and see the pushed group
become a team; map that group to a role with a preview first; find the IdP's request in
the SCIM logs and read its decrypted body; sign out.
"""

import re
from pathlib import Path

import httpx2
from playwright.sync_api import Page, expect

from tests.conftest import SCIM_JSON, group_body, user_body
from tests.domain.test_sso import idp_metadata, make_certificate

from .conftest import Shooter, Site, sign_in


def _scim(site: Site, token: str) -> httpx2.Client:
    return httpx2.Client(
        base_url=f"{site.url}/scim/v2",
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON},
        timeout=30,
    )


def _tab(page: Page, name: str) -> None:
    """Open one of the organization's pages from the tab bar."""
    tabs = page.get_by_role("navigation", name=re.compile(" pages$"))
    tabs.get_by_role("link", name=name).click()


def test_first_session_from_sso_to_logs(
    page: Page, site: Site, tmp_path: Path, shoot: Shooter
) -> None:
    org_id = site.org("Initech")
    site.admin("alice", "Initech")
    org_page = f"{site.url}/admin/orgs/{org_id}"

    # Sign in.
    sign_in(page, site, "alice")
    page.get_by_role("link", name="Initech").click()
    expect(page).to_have_url(org_page)

    # SSO from the IdP's metadata file.
    metadata = tmp_path / "idp-metadata.xml"
    metadata.write_text(idp_metadata(make_certificate("Initech IdP signing")))
    _tab(page, "SSO & SCIM")
    page.get_by_label("IdP metadata file").set_input_files(str(metadata))
    page.get_by_role("button", name="Upload metadata").click()
    expect(page.get_by_text("CN=Initech IdP signing")).to_be_visible()

    # SCIM on, a token, and the IdP using it.
    page.get_by_role("button", name="Turn SCIM on").click()
    expect(page.get_by_role("button", name="Turn SCIM off")).to_be_visible()
    page.get_by_role("button", name="Generate token").click()
    token = page.get_by_label("New SCIM token").input_value()
    assert token.startswith("scimgate_")
    base_url = page.get_by_label("SCIM base URL").input_value()
    assert base_url == f"{site.url}/scim/v2"

    # Team sync on before the IdP pushes its group.
    page.goto(f"{org_page}/sso")
    page.get_by_label("Sync SCIM groups to teams").check()
    page.get_by_label("Assign roles from SCIM groups").check()
    page.get_by_role("button", name="Save feature flags").click()
    expect(page.get_by_label("Sync SCIM groups to teams")).to_be_checked()

    with _scim(site, token) as idp:
        headers = {"User-Agent": "Okta SCIM Client 1.0.0"}
        created = idp.post("/Users", json=user_body("milton@initech.example"), headers=headers)
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        group = idp.post("/Groups", json=group_body("Engineering", [user_id]), headers=headers)
        assert group.status_code == 201, group.text

    # The pushed group is a team, linked to it, with the member.
    page.goto(f"{org_page}/teams")
    page.get_by_role("link", name="Engineering").first.click()
    expect(page.get_by_role("heading", name="Engineering")).to_be_visible()
    expect(page.get_by_text("milton@initech.example")).to_be_visible()

    # A role for the group: preview first, then apply.
    _tab(page, "Role assignment")
    page.get_by_label("Role for Engineering").select_option(label="admin")
    mapping = page.get_by_role("row", name=re.compile("^Engineering"))
    mapping.get_by_role("button", name="Preview").click()
    heading = page.get_by_role("heading", name="Preview: changes if saved")
    preview = page.locator("section").filter(has=heading)
    expect(preview).to_contain_text("milton@initech.example")
    expect(preview).to_contain_text("admin")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    _tab(page, "People & teams")
    expect(page.get_by_role("row", name=re.compile("milton@initech.example"))).to_contain_text(
        "Engineering"
    )

    # The IdP's request in the logs, decrypted.
    _tab(page, "SCIM logs")
    page.get_by_label("Resource").select_option("User")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    expect(rows.first).to_contain_text("201")
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Request body")).to_be_visible()
    expect(page.locator("pre").filter(has_text="milton@initech.example").first).to_be_visible()

    # The same page on a phone: nothing wider than the screen but the scrolling table.
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    shoot(page, "phone-log-entry")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sign out: the pages are closed again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(org_page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
