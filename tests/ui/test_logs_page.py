"""The SCIM logs pages: the filtered request log and one entry decrypted, as an admin sees them."""

import re
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx2
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from scimgate.domain import organizations, sso, tokens
from scimgate.storage.models import RequestLogEntry

from ..conftest import user_body
from .conftest import Shooter, Site, sign_in

SCIM_JSON = "application/scim+json"


@dataclass
class Idp:
    """An organization with SSO and SCIM on, and a SCIM client holding its token."""

    org_id: str
    scim: httpx2.Client

    def create(self, user_name: str, **extra: object) -> httpx2.Response:
        return self.scim.post("/Users", json=user_body(user_name, **extra))


@pytest.fixture
def make_idp(site: Site) -> Iterator["IdpFactory"]:
    factory = IdpFactory(site)
    yield factory
    for idp in factory.made:
        idp.scim.close()


class IdpFactory:
    """Makes organizations through the domain, as the CLI does, each with a SCIM client."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.made: list[Idp] = []

    def __call__(self, name: str) -> Idp:
        with self.site.database.transaction() as session:
            org = organizations.create(session, name)
            organizations.configure_sso(session, org, sso.demo_settings(name))
            organizations.set_scim_enabled(org, True)
            secret = tokens.issue(session, org).secret
            org_id = org.id
        scim = httpx2.Client(
            base_url=self.site.url + "/scim/v2",
            headers={"Authorization": f"Bearer {secret}", "Content-Type": SCIM_JSON},
            timeout=30,
        )
        idp = Idp(org_id, scim)
        self.made.append(idp)
        return idp


INVALID_FILTERS = [
    ("status=abc", "status must be a class such as 4xx or a code such as 404"),
    ("since=yesterday", "since must be an ISO 8601 date or time"),
    ("until=2026-13-45", "until must be an ISO 8601 date or time"),
    ("resource=printers", "resource must be one of"),
    ("event=explode", "event must be one of"),
    ("offset=-5", "offset must be a whole number of entries"),
    ("target=" + "x" * 65, "target must be a user or group id of at most 64 characters"),
]


def logs_url(org_id: str, query: str = "") -> str:
    return f"/admin/orgs/{org_id}/logs" + (f"?{query}" if query else "")


def entry_ids(html: str, org_id: str) -> list[str]:
    """The entries a list page shows, newest first (each row's time links to its entry)."""
    return re.findall(rf'href="/admin/orgs/{org_id}/logs/(\d+)', html)


def wait_for_entries(admin: httpx2.Client, org_id: str, count: int) -> str:
    """The log page once it lists ``count`` entries (a background thread writes them)."""
    deadline = time.monotonic() + 5
    while True:
        html = admin.get(logs_url(org_id)).text
        if len(entry_ids(html, org_id)) >= count or time.monotonic() > deadline:
            assert len(entry_ids(html, org_id)) == count, html
            return html
        time.sleep(0.05)


def three_requests(idp: Idp, user_name: str = "ada@example.com") -> str:
    """A create (201), the same create again (409) and a list with a bad filter (400)."""
    created = idp.create(user_name, displayName="Ada Lovelace")
    assert created.status_code == 201, created.text
    assert idp.create(user_name).status_code == 409
    assert idp.scim.get("/Users", params={"filter": "userName zz 1"}).status_code == 400
    user_id: str = created.json()["id"]
    return user_id


def test_an_administrator_finds_failed_requests_and_reads_a_created_users_entry(
    page: Page, site: Site, make_idp: IdpFactory, shoot: Shooter
) -> None:
    idp = make_idp("acme")
    site.admin("alice", "acme")
    three_requests(idp)
    sign_in(page, site, "alice")
    page.goto(f"{site.url}/admin/orgs/{idp.org_id}")
    page.get_by_role("navigation", name="acme pages").get_by_role("link", name="SCIM logs").click()
    expect(page.get_by_role("heading", name="SCIM logs")).to_be_visible()
    rows = page.locator("table tbody tr")
    deadline = time.monotonic() + 5
    while rows.count() < 3 and time.monotonic() < deadline:
        page.reload()
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("list users where userName zz 1")
    expect(rows.first.locator(".path")).to_have_text("GET /scim/v2/Users")
    shoot(page, "logs")

    page.get_by_label("Status").select_option("4xx")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=4xx"))
    expect(rows).to_have_count(2)
    expect(page.locator("table tbody tr.failed")).to_have_count(2)
    expect(rows.nth(1).locator(".badge.bad")).to_have_text("409")
    expect(page.get_by_label("Status")).to_have_value("4xx")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Event").select_option("create")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    created = rows.filter(has=page.locator(".badge", has_text="201"))
    expect(created).not_to_have_class("failed")
    created.get_by_role("link").click()

    expect(page.get_by_role("heading", name="create user ada@example.com")).to_be_visible()
    expect(page.get_by_text("201 Created")).to_be_visible()
    request_body = page.locator("h2:text-is('Request body') ~ pre").first
    expect(request_body).to_contain_text('  "userName": "ada@example.com",\n')
    expect(page.get_by_role("heading", name="Response body")).to_be_visible()
    shoot(page, "log-entry")

    page.get_by_role("link", name="Back to the log").click()
    expect(page).to_have_url(re.compile(r"/logs\?event=create$"))
    expect(page.get_by_label("Event")).to_have_value("create")


def test_filters_narrow_the_table_stay_in_the_form_and_invalid_ones_answer_400(
    site: Site, make_idp: IdpFactory
) -> None:
    idp = make_idp("acme")
    site.admin("alice", "acme")
    user_id = three_requests(idp)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    later = hour_ago + timedelta(hours=2)
    with closing(site.sign_in_http("alice")) as admin:
        everything = wait_for_entries(admin, idp.org_id, 3)

        def shown(query: str) -> list[str]:
            answer = admin.get(logs_url(idp.org_id, query))
            assert answer.status_code == 200, answer.text
            return entry_ids(answer.text, idp.org_id)

        newest, duplicate, created = entry_ids(everything, idp.org_id)
        assert shown("status=4xx") == [newest, duplicate]
        assert shown("status=201") == [created]
        assert shown("status=2xx&event=create") == [created]
        assert shown("event=create") == [duplicate, created]
        assert shown("event=list") == [newest]
        assert shown("resource=users") == [newest, duplicate, created]
        assert shown(f"target={user_id}") == [created]
        # Other pages link with a full ISO time, its "+" unescaped; the form sends local UTC.
        assert len(shown(f"since={hour_ago.isoformat()}")) == 3
        assert shown(f"until={hour_ago.isoformat()}") == []
        local = f"since={hour_ago:%Y-%m-%dT%H:%M}&until={later:%Y-%m-%dT%H:%M}"
        assert len(shown(local)) == 3

        form = admin.get(logs_url(idp.org_id, f"status=404&resource=users&{local}")).text
        assert '<option value="404" selected>404</option>' in form
        assert '<option value="User" selected>User</option>' in form
        assert f'value="{hour_ago:%Y-%m-%dT%H:%M}"' in form
        assert "No request matches these filters." in form

        kept = admin.get(logs_url(idp.org_id, "resource=Group&target=abc")).text
        assert "No request matches these filters." in kept
        assert 'name="target" type="text" value="abc"' in kept

        for query, detail in INVALID_FILTERS:
            answer = admin.get(logs_url(idp.org_id, query))
            assert answer.status_code == 400, query
            assert '<div class="notice error" role="alert">' in answer.text
            assert detail in answer.text
            assert '<label for="f-status">Status</label>' in answer.text
            assert "<table" not in answer.text


def test_the_log_pages_by_fifty_keeping_the_filters(site: Site, make_idp: IdpFactory) -> None:
    idp = make_idp("acme")
    site.admin("alice", "acme")
    for number in range(52):
        assert idp.scim.get("/Users", params={"count": str(number)}).status_code == 200
    idp.create("ada@example.com")
    with closing(site.sign_in_http("alice")) as admin:
        wait_for_entries(admin, idp.org_id, 50)
        deadline = time.monotonic() + 5
        while "of 53" not in (first := admin.get(logs_url(idp.org_id)).text):
            assert time.monotonic() < deadline, first
            time.sleep(0.05)

        listed = admin.get(logs_url(idp.org_id, "event=list")).text
        assert len(entry_ids(listed, idp.org_id)) == 50
        assert "1\N{EN DASH}50 of 52" in listed
        older = re.search(r'href="([^"]+)" rel="next"', listed)
        assert older is not None
        assert older.group(1) == logs_url(idp.org_id, "event=list&amp;offset=50")
        rest = admin.get(logs_url(idp.org_id, "event=list&offset=50")).text
        assert len(entry_ids(rest, idp.org_id)) == 2
        assert "51\N{EN DASH}52 of 52" in rest
        # An entry's link and its "Back to the log" keep the page and the filters.
        entry_link = f"/admin/orgs/{idp.org_id}/logs/{entry_ids(rest, idp.org_id)[0]}"
        assert f'href="{entry_link}?event=list&amp;offset=50"' in rest
        entry = admin.get(entry_link, params={"event": "list", "offset": "50"}).text
        assert f'href="{logs_url(idp.org_id, "event=list&amp;offset=50")}"' in entry


def test_entries_of_other_organizations_are_not_found(site: Site, make_idp: IdpFactory) -> None:
    acme, globex = make_idp("acme"), make_idp("globex")
    site.admin("alice", "acme")
    site.admin("gus", "globex")
    acme.create("ada@example.com")
    globex.create("gina@example.com")
    with closing(site.sign_in_http("alice")) as alice, closing(site.sign_in_http("gus")) as gus:
        ours = wait_for_entries(alice, acme.org_id, 1)
        theirs = entry_ids(wait_for_entries(gus, globex.org_id, 1), globex.org_id)[0]
        assert "gina@example.com" not in ours

        foreign = alice.get(f"{logs_url(acme.org_id)}/{theirs}")
        assert foreign.status_code == 404
        assert "gina@example.com" not in foreign.text
        for missing in ("999999999", "abc", "1e3"):
            assert alice.get(f"{logs_url(acme.org_id)}/{missing}").status_code == 404

        mine = entry_ids(ours, acme.org_id)[0]
        for path in (logs_url(acme.org_id), f"{logs_url(acme.org_id)}/{mine}"):
            refused = gus.get(path)
            assert refused.status_code == 404
            assert "ada@example.com" not in refused.text
    with closing(site.http()) as stranger:
        answer = stranger.get(logs_url(acme.org_id))
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login?next=")


def test_an_entry_shows_names_escaped_and_notes_redaction_truncation_and_a_lost_key(
    site: Site, make_idp: IdpFactory
) -> None:
    idp = make_idp("acme")
    site.admin("alice", "acme")
    attack = "<script>alert(1)</script>"
    # Refused (not an email address), and logged with the name it sent.
    assert idp.create(attack).status_code == 400
    assert idp.create("ada@example.com", password="hunter2-hunter2").status_code == 201
    huge = idp.scim.post("/Users", content=b'{"userName": "' + b"x" * 300_000 + b'"}')
    assert huge.status_code >= 400
    with closing(site.sign_in_http("alice")) as admin:
        listed = wait_for_entries(admin, idp.org_id, 3)
        big, secret, scripted = entry_ids(listed, idp.org_id)
        entry = admin.get(f"{logs_url(idp.org_id)}/{scripted}").text
        for html in (listed, entry):
            assert "create user &lt;script&gt;alert(1)&lt;/script&gt;" in html
            assert "<script>alert" not in html
            assert len(re.findall(r"<script\b", html)) == 1  # the page's own app.js

        with_password = unescape(admin.get(f"{logs_url(idp.org_id)}/{secret}").text)
        assert "hunter2" not in with_password
        assert '"password": "[redacted]"' in with_password
        assert "Passwords are never stored" in with_password
        truncated = admin.get(f"{logs_url(idp.org_id)}/{big}").text
        assert "Truncated: the body had 300016 bytes" in truncated

        with site.database.transaction() as session:
            session.execute(
                update(RequestLogEntry)
                .where(RequestLogEntry.id == int(secret))
                .values(key_id="gone")
            )
        lost = admin.get(f"{logs_url(idp.org_id)}/{secret}")
        assert lost.status_code == 200
        assert "This entry cannot be read." in lost.text
        assert "gone" in lost.text
        assert "ada@example.com" not in lost.text
        assert "<h2>Request body</h2>" not in lost.text
        listed = admin.get(logs_url(idp.org_id)).text
        assert "unreadable:" in listed


def test_each_entry_shows_its_method_and_path_under_its_summary(
    site: Site, make_idp: IdpFactory
) -> None:
    """A row shows the request's method and path in small monospace text, escaped."""
    idp = make_idp("acme")
    site.admin("alice", "acme")
    user_id = three_requests(idp)
    assert idp.scim.get(f"/Users/{user_id}").status_code == 200
    assert idp.scim.get("/Users/%3Cb%3Ebold%3C%2Fb%3E").status_code == 404
    with closing(site.sign_in_http("alice")) as admin:
        listed = wait_for_entries(admin, idp.org_id, 5)
    shown = re.findall(r'<div class="path mono small target">([^<]*)</div>', listed)
    assert shown == [
        "GET /scim/v2/Users/&lt;b&gt;bold&lt;/b&gt;",
        f"GET /scim/v2/Users/{user_id}",
        "GET /scim/v2/Users",
        "POST /scim/v2/Users",
        "POST /scim/v2/Users",
    ]
    summary = re.search(r'create user ada@example.com\s*<div class="path mono', listed)
    assert summary, "the path is right under the summary"
