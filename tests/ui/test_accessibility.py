"""Every page of the admin UI is usable without a mouse and by a screen reader.

Checked in the browser on an organization with data on every page: each form control has
an accessible name (a label), each page one h1 and a language, tables have header cells,
and signing in and moving between pages works from the keyboard alone.
"""

from playwright.sync_api import Page, expect

from .conftest import PASSWORD, Site, sign_in
from .test_roles_page import Idp

# Controls a person fills in or presses, and which of them have no accessible name.
_UNNAMED = """() => {
  const controls = [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button")];
  const name = (el) => (el.labels && el.labels.length > 0) || el.getAttribute("aria-label")
    || el.getAttribute("aria-labelledby") || (el.tagName === "BUTTON" && el.textContent.trim());
  return controls.filter((el) => !name(el)).map((el) => el.outerHTML.slice(0, 120));
}"""
_STRUCTURE = """() => ({
  lang: document.documentElement.lang,
  h1: document.querySelectorAll("h1").length,
  headless_tables: [...document.querySelectorAll("table")].filter(
    (t) => t.querySelectorAll("th").length === 0).length,
  title: document.title,
})"""


def _pages(site: Site, idp: Idp, user_id: str) -> list[str]:
    base = f"{site.url}/admin/orgs/{idp.org_id}"
    return [
        f"{site.url}/admin",
        base,
        f"{base}/sso",
        f"{base}/roles",
        f"{base}/logs",
        f"{base}/people",
        f"{base}/people/{user_id}",
        f"{base}/teams",
    ]


def _open_first_log_entry(page: Page, logs: str) -> None:
    # The request log is written by a background thread: reload until the entries show.
    for _ in range(50):
        page.goto(logs)
        if page.locator("table tbody tr a").count():
            break
        page.wait_for_timeout(100)
    page.locator("table tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Request body")).to_be_visible()


def test_every_page_names_its_controls_and_has_one_heading(page: Page, site: Site) -> None:
    idp = Idp.connect(site, "acme", sync_groups_to_teams=True)
    user_id = idp.user("ada@example.com")
    idp.group("Engineering", [user_id])
    site.admin("alice", "acme")
    sign_in(page, site, "alice")
    for url in [*_pages(site, idp, user_id), "logs-entry"]:
        if url == "logs-entry":
            _open_first_log_entry(page, f"{site.url}/admin/orgs/{idp.org_id}/logs")
        else:
            page.goto(url)
        assert page.evaluate(_UNNAMED) == [], page.url
        found = page.evaluate(_STRUCTURE)
        assert found["lang"] == "en" and found["h1"] == 1, (page.url, found)
        assert found["headless_tables"] == 0 and found["title"], (page.url, found)


def test_sign_in_and_moving_between_pages_work_from_the_keyboard(page: Page, site: Site) -> None:
    org_id = site.org("acme")
    site.admin("alice", "acme")
    page.goto(f"{site.url}/admin/login")
    # The name field has the focus on arrival; Tab leads to the password, Enter sends.
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()

    # The first Tab reaches the skip link, which moves the focus to the content.
    page.goto(f"{site.url}/admin/orgs/{org_id}")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # Tabbing from the top reaches the page tabs; Enter follows one.
    page.goto(f"{site.url}/admin/orgs/{org_id}")
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        if focused == "SCIM logs":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="SCIM logs", exact=True)).to_be_visible()
