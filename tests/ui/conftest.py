"""Fixtures of the admin web UI tests: a served app, administrators, and a real browser.

Browser tests drive a headless Chromium through Playwright, pointed at the system's
Chromium (``SCIMGATE_CHROMIUM``, default ``/usr/bin/chromium``). Without it they are
skipped with a reason, unless ``SCIMGATE_REQUIRE_BROWSER=1`` (as in CI), where its
absence fails the run. ``SCIMGATE_SCREENSHOTS=DIR`` keeps the screenshots the tests
take (``make screenshots`` writes the ones ``docs/admin-ui.md`` shows).
"""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from scimgate.domain import admins, organizations, sso
from scimgate.storage.database import Database

CHROMIUM = os.environ.get("SCIMGATE_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("SCIMGATE_REQUIRE_BROWSER") == "1"
PASSWORD = "correct horse battery staple"
# Headless on a machine without network: no first-run, sync or update traffic.
_CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Site:
    """The served app: its address, and a way to add administrators and organizations."""

    url: str
    """``http://127.0.0.1:PORT``, without a trailing slash."""
    database: Database

    def org(self, name: str, *, sso_on: bool = False, scim_on: bool = False) -> str:
        """Create an organization; return its id."""
        with self.database.transaction() as session:
            org = organizations.create(session, name)
            if sso_on:
                organizations.configure_sso(session, org, sso.demo_settings(name))
            organizations.set_scim_enabled(org, scim_on)
            return org.id

    def admin(self, username: str, *orgs: str, password: str = PASSWORD) -> None:
        """Create an administrator of the organizations ``orgs`` (ids or names)."""
        with self.database.transaction() as session:
            account = admins.create(session, username, password)
            for ref in orgs:
                admins.grant(session, account, organizations.get(session, ref))

    def http(self) -> httpx2.Client:
        """A cookie-keeping HTTP client of the site that does not follow redirects."""
        return httpx2.Client(base_url=self.url, follow_redirects=False, timeout=30)

    def sign_in_http(self, username: str, password: str = PASSWORD) -> httpx2.Client:
        """An HTTP client signed in as ``username`` (through the real sign-in form)."""
        client = self.http()
        form = client.get("/admin/login")
        token = csrf_token(form.text)
        answer = client.post(
            "/admin/login",
            data={"csrf_token": token, "username": username, "password": password},
        )
        assert answer.status_code == 303, answer.text
        return client


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def site(server_url: str, database: Database) -> Site:
    """The app served over HTTP on a free port, on the test's database."""
    return Site(url=server_url.removesuffix("/scim/v2"), database=database)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"SCIMGATE_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (set SCIMGATE_CHROMIUM)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=_CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; confirmation dialogs are accepted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    context.close()


def sign_in(page: Page, site: Site, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{site.url}/admin")
    page.get_by_label("Name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin(/orgs/.*)?$"))


@pytest.fixture
def shoot(tmp_path: Path, request: pytest.FixtureRequest) -> "Shooter":
    """Take full-page screenshots, kept in ``SCIMGATE_SCREENSHOTS`` when set."""
    kept = os.environ.get("SCIMGATE_SCREENSHOTS")
    # Only the SQLite run writes the kept copies, so the two runs do not overwrite each other.
    keep = kept is not None and "postgresql" not in request.node.name
    return Shooter(Path(kept) if keep and kept else tmp_path)


@dataclass
class Shooter:
    """Saves screenshots as ``NAME.png`` in ``folder``."""

    folder: Path

    def __call__(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path
