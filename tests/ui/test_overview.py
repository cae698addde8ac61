"""The organization overview: set-up at a glance and the provisioning health panel."""

import re
import time
from contextlib import closing

import httpx2
from playwright.sync_api import Page, expect

from scimgate.admin import operations
from scimgate.audit import queries
from scimgate.config import Settings
from scimgate.domain import breaker, organizations, tokens
from tests.conftest import SCIM_JSON, user_body

from .conftest import Shooter, Site, csrf_token, sign_in
from .test_roles_page import Idp

_OKTA = "Okta SCIM Client 1.0.0"


def _acme(site: Site) -> tuple[str, str]:
    """Acme with SSO and SCIM on, its administrator alice, and a SCIM token."""
    org_id = site.org("acme", sso_on=True, scim_on=True)
    site.admin("alice", "acme")
    with site.database.transaction() as session:
        secret = tokens.issue(session, organizations.get(session, org_id)).secret
    return org_id, secret


def _provision(site: Site, token: str) -> None:
    """One good request and two refused ones (404, then 400), as Okta."""
    headers = {"Authorization": f"Bearer {token}", "User-Agent": _OKTA}
    with httpx2.Client(base_url=f"{site.url}/scim/v2", headers=headers, timeout=30) as idp:
        assert idp.get("/Users").status_code == 200
        assert idp.get("/Users/no-such-user").status_code == 404
        bad = idp.post("/Users", json={"schemas": []}, headers={"Content-Type": SCIM_JSON})
        assert bad.status_code == 400


def _until_counted(client: httpx2.Client, org_id: str, requests: int) -> str:
    """The overview once the request log (written in the background) counts ``requests``."""
    deadline = time.monotonic() + 10
    while True:
        shown = client.get(f"/admin/orgs/{org_id}")
        assert shown.status_code == 200, shown.text
        if f"<span>Requests</span><strong>{requests}</strong>" in shown.text:
            return shown.text
        assert time.monotonic() < deadline, "the request log never counted the requests"
        time.sleep(0.1)


def test_overview_shows_set_up_health_and_links(page: Page, site: Site, shoot: Shooter) -> None:
    """The overview counts the IdP's requests and errors and links to the last error."""
    org_id, token = _acme(site)
    _provision(site, token)
    sign_in(page, site, "alice")
    page.goto(f"{site.url}/admin/orgs/{org_id}")
    for _ in range(50):
        if page.locator("#health-requests strong").inner_text() == "3":
            break
        page.wait_for_timeout(100)
        page.reload()

    expect(page.get_by_role("heading", name="acme")).to_be_visible()
    expect(page.get_by_role("heading", name="Provisioning health")).to_be_visible()
    expect(page.locator("#health-requests strong")).to_have_text("3")
    expect(page.locator("#health-error-rate strong")).to_have_text("66.7\u00a0%")
    expect(page.locator("#health-4xx strong")).to_have_text("2")
    expect(page.locator("#health-5xx strong")).to_have_text("0")
    expect(page.locator("#last-error")).to_contain_text("400")
    expect(page.locator("#breaker-state")).to_contain_text("closed")
    expect(page.get_by_text(_OKTA)).to_be_visible()
    for name in ("SSO & SCIM", "Role assignment", "SCIM logs", "People & teams"):
        expect(page.get_by_role("main").get_by_role("link", name=name)).to_be_visible()
    shoot(page, "overview")

    page.get_by_role("link", name="Show 4xx").click()
    expect(page).to_have_url(re.compile(rf"/admin/orgs/{org_id}/logs\?status=4xx&since=\S+Z$"))


def test_health_counts_errors_and_links_the_last_one(site: Site) -> None:
    org_id, token = _acme(site)
    with closing(site.sign_in_http("alice")) as alice:
        quiet = alice.get(f"/admin/orgs/{org_id}").text
        assert "<span>Requests</span><strong>0</strong>" in quiet
        assert "No SCIM request has failed." in quiet
        assert "no SCIM request yet" in quiet

        _provision(site, token)
        shown = _until_counted(alice, org_id, 3)

    assert "<span>4xx answers</span><strong>2</strong>" in shown
    assert "<span>5xx answers</span><strong>0</strong>" in shown
    assert "66.7&nbsp;%" in shown
    with site.database.transaction() as session:
        errors = queries.parse_filter(status="4xx")
        _, (newest, *_) = queries.search(session, org_id, errors, 1, 0)
        assert newest.status == 400
    assert f'href="/admin/orgs/{org_id}/logs/{newest.id}"' in shown
    since = re.search(rf'href="/admin/orgs/{org_id}/logs\?status=5xx&amp;since=([^"]+)"', shown)
    assert since is not None and since.group(1).endswith("Z")
    assert "okta" in shown.lower()


def test_another_organizations_administrator_gets_404(site: Site) -> None:
    org_id, _ = _acme(site)
    site.org("globex")
    site.admin("bob", "globex")
    with closing(site.sign_in_http("bob")) as bob:
        answer = bob.get(f"/admin/orgs/{org_id}")
        assert answer.status_code == 404
        assert "acme" not in answer.text


def test_a_tripped_breaker_is_shown_and_approved_from_the_overview(
    page: Page, site: Site, shoot: Shooter
) -> None:
    """Held deprovisioning shows in red with an Approve button; the IdP's retry then passes."""
    idp = Idp.connect(site, "acme")
    with site.database.transaction() as session:
        # A breaker that trips on the second deprovisioning of four members.
        operations.configure_breaker(
            session, idp.org_id, breaker.Limits.from_settings(Settings()), {"min_people": 1}
        )
    ids = idp.bulk("/Users", [user_body(f"u{n}@example.com") for n in range(4)])
    auth = {"Authorization": f"Bearer {idp.token}"}
    with httpx2.Client(base_url=f"{site.url}/scim/v2", headers=auth, timeout=30) as scim:
        statuses = [scim.delete(f"/Users/{user_id}").status_code for user_id in ids[:2]]
        assert statuses == [204, 503]

        site.admin("alice", "acme")
        sign_in(page, site, "alice")
        page.goto(f"{site.url}/admin/orgs/{idp.org_id}")
        state = page.locator("#breaker-state")
        expect(state).to_contain_text("tripped")
        expect(state).to_contain_text("1 deprovisioning requests held")
        shoot(page, "overview-breaker-tripped")
        page.get_by_role("button", name="Approve held deprovisioning").click()
        expect(page.get_by_role("status")).to_contain_text("Approved")
        expect(state).to_contain_text("approved")

        # The IdP retries the held request: it passes now.
        assert scim.delete(f"/Users/{ids[1]}").status_code == 204


def test_approving_needs_the_token_and_my_organization(site: Site) -> None:
    """The approve form is refused without its CSRF token (403) and for another org (404)."""
    mine = Idp.connect(site, "acme")
    other = site.org("globex")
    site.admin("alice", "acme")
    with closing(site.sign_in_http("alice")) as client:
        token = csrf_token(client.get(f"/admin/orgs/{mine.org_id}").text)
        no_token = client.post(f"/admin/orgs/{mine.org_id}/breaker/approve", data={})
        assert no_token.status_code == 403
        foreign = client.post(f"/admin/orgs/{other}/breaker/approve", data={"csrf_token": token})
        assert foreign.status_code == 404
    with site.database.transaction() as session:
        defaults = breaker.Limits.from_settings(Settings())
        for org_id in (mine.org_id, other):
            assert operations.breaker_status(session, org_id, defaults)["approved_until"] is None
