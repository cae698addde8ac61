"""The "SSO & SCIM" page: identity provider, SCIM switch and tokens, flags and retention."""

import re
from contextlib import closing
from pathlib import Path

import httpx2
from playwright.sync_api import Page, expect

from scimgate.domain import tokens
from scimgate.storage.models import Organization
from tests.domain.test_sso import idp_metadata, make_certificate, pem

from .conftest import Shooter, Site, csrf_token, sign_in

_NEW_TOKEN = re.compile(r'id="new-token" value="([^"]+)"')
_TOKEN_ID = re.compile(r"/sso/tokens/([0-9a-f]{32})/revoke")


def _scim_status(site: Site, token: str) -> int:
    """The status the SCIM API answers a listing of users sent with ``token``."""
    answer = httpx2.get(
        f"{site.url}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return answer.status_code


def _sso(client: httpx2.Client, org_id: str) -> str:
    answer = client.get(f"/admin/orgs/{org_id}/sso")
    assert answer.status_code == 200, answer.text
    return answer.text


def _post(
    client: httpx2.Client,
    org_id: str,
    action: str,
    data: dict[str, str] | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> httpx2.Response:
    """POST a form of the SSO page with this session's CSRF token."""
    token = csrf_token(client.get(f"/admin/orgs/{org_id}/sso").text)
    return client.post(
        f"/admin/orgs/{org_id}/sso/{action}",
        data={"csrf_token": token, **(data or {})},
        files=files,
    )


def _followed(client: httpx2.Client, answer: httpx2.Response) -> str:
    """The page a 303 leads to (it carries the notice)."""
    assert answer.status_code == 303, answer.text
    return client.get(answer.headers["location"]).text


def _ready(site: Site, name: str) -> str:
    """An organization with SSO configured and SCIM on, and its administrator alice."""
    org_id = site.org(name, sso_on=True, scim_on=True)
    site.admin("alice", name)
    return org_id


def test_configure_sso_switch_scim_on_and_use_a_token_shown_once(
    page: Page, site: Site, shoot: Shooter, tmp_path: Path
) -> None:
    """Metadata upload, SCIM on and a new token that works and is never shown again."""
    org_id = site.org("Initech")
    site.admin("alice", "Initech")
    sign_in(page, site, "alice")
    page.goto(f"{site.url}/admin/orgs/{org_id}/sso")
    expect(page.get_by_text("SCIM only works once SSO is configured")).to_be_visible()

    metadata = tmp_path / "idp-metadata.xml"
    metadata.write_text(idp_metadata(make_certificate("Initech IdP signing")))
    page.get_by_label("IdP metadata file").set_input_files(str(metadata))
    page.get_by_role("button", name="Upload metadata").click()
    facts = page.locator("#sso-facts")
    expect(facts).to_contain_text("CN=Initech IdP signing")
    expect(facts).to_contain_text(re.compile(r"expires in 36\d days"))
    expect(page.get_by_text("SCIM only works once SSO is configured")).to_have_count(0)

    page.get_by_role("button", name="Turn SCIM on").click()
    expect(page.get_by_role("button", name="Turn SCIM off")).to_be_visible()
    expect(page.get_by_label("SCIM base URL")).to_have_value(f"{site.url}/scim/v2")
    shoot(page, "sso-scim")

    page.get_by_role("button", name="Generate token").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    token = page.get_by_label("New SCIM token").input_value()
    assert token.startswith("scimgate_")
    shoot(page, "token-shown-once")
    assert _scim_status(site, token) == 200

    page.goto(f"{site.url}/admin/orgs/{org_id}/sso")
    expect(page.get_by_label("New SCIM token")).to_have_count(0)
    expect(page.locator("#tokens")).to_contain_text(token[:14])
    expect(page.locator("#tokens")).to_contain_text("active")
    assert token not in page.content()


def test_bad_metadata_or_certificate_is_refused_with_the_reason_and_nothing_stored(
    site: Site,
) -> None:
    org_id = site.org("acme")
    site.admin("alice", "acme")
    with closing(site.sign_in_http("alice")) as alice:
        files = {"metadata": ("idp.xml", b"<md:EntityDescriptor", "text/xml")}
        shown = _followed(alice, _post(alice, org_id, "metadata", files=files))
        assert "The metadata is not well-formed XML" in shown
        assert 'class="notice error"' in shown
        assert "Single sign-on is not configured" in shown

        typed = {
            "entity_id": "https://idp.example.com/",
            "sso_url": "https://idp.example.com/sso",
            "certificate": "not a certificate",
        }
        shown = _followed(alice, _post(alice, org_id, "settings", typed))
        assert "The signing certificate could not be parsed" in shown
        assert "Single sign-on is not configured" in _sso(alice, org_id)


def test_sso_settings_typed_by_hand_are_saved(site: Site) -> None:
    org_id = site.org("acme")
    site.admin("alice", "acme")
    certificate = make_certificate("Acme by hand")
    typed = {
        "entity_id": "https://idp.acme.example/",
        "sso_url": "https://idp.acme.example/sso",
        "certificate": pem(certificate),
    }
    with closing(site.sign_in_http("alice")) as alice:
        shown = _followed(alice, _post(alice, org_id, "settings", typed))
    assert "Single sign-on saved" in shown
    assert "CN=Acme by hand" in shown and "https://idp.acme.example/sso" in shown


def test_revoked_token_is_refused_by_scim(site: Site) -> None:
    org_id = _ready(site, "acme")
    with closing(site.sign_in_http("alice")) as alice:
        issued = _post(alice, org_id, "tokens")
        assert issued.status_code == 200
        token = _NEW_TOKEN.search(issued.text)
        assert token is not None
        assert _scim_status(site, token.group(1)) == 200

        token_id = _TOKEN_ID.search(issued.text)
        assert token_id is not None
        shown = _followed(alice, _post(alice, org_id, f"tokens/{token_id.group(1)}/revoke"))
        assert "revoked" in shown
        assert _scim_status(site, token.group(1)) == 401
        assert token.group(1) not in shown


def test_rotating_now_stops_the_old_token_and_later_keeps_it_working(site: Site) -> None:
    org_id = _ready(site, "acme")
    with closing(site.sign_in_http("alice")) as alice:
        first = _post(alice, org_id, "tokens")
        old = _NEW_TOKEN.search(first.text)
        old_id = _TOKEN_ID.search(first.text)
        assert old is not None and old_id is not None

        rotated = _post(alice, org_id, f"tokens/{old_id.group(1)}/rotate", {"grace": "0"})
        assert rotated.status_code == 200
        new = _NEW_TOKEN.search(rotated.text)
        assert new is not None and new.group(1) != old.group(1)
        assert _scim_status(site, old.group(1)) == 401
        assert _scim_status(site, new.group(1)) == 200

        new_id = re.findall(r"/sso/tokens/([0-9a-f]{32})/rotate", rotated.text)
        assert len(new_id) == 1  # the revoked token offers no rotation
        later = _post(alice, org_id, f"tokens/{new_id[0]}/rotate", {"grace": "3600"})
        assert later.status_code == 200 and "expiring" in later.text
        assert _scim_status(site, new.group(1)) == 200

        refused = _post(alice, org_id, f"tokens/{new_id[0]}/rotate", {"grace": "7"})
        assert "Choose how long the old token keeps working" in _followed(alice, refused)


def test_flags_retention_and_directory_source_are_saved(site: Site) -> None:
    org_id = _ready(site, "acme")
    with closing(site.sign_in_http("alice")) as alice:
        flags = {"sync_groups_to_teams": "on", "phone_sync": "on"}
        shown = _followed(alice, _post(alice, org_id, "flags", flags))
        assert "Feature flags saved." in shown
        assert 'name="sync_groups_to_teams" checked' in shown
        assert 'name="phone_sync" checked' in shown
        assert 'name="assign_roles_from_groups">' in shown

        shown = _followed(alice, _post(alice, org_id, "retention", {"days": "90"}))
        assert "kept for 90 days" in shown and 'value="90"' in shown
        shown = _followed(alice, _post(alice, org_id, "retention", {"days": "0"}))
        assert "1 to 3650 days" in shown and 'value="90"' in shown

        shown = _followed(alice, _post(alice, org_id, "source", {"source": "google"}))
        assert 'value="google" checked' in shown and "Turn SCIM on" in shown
        shown = _followed(alice, _post(alice, org_id, "scim", {"enabled": "true"}))
        assert "never both" in shown and "Turn SCIM on" in shown
        shown = _followed(alice, _post(alice, org_id, "source", {"source": "scim"}))
        assert 'value="scim" checked' in shown and "Turn SCIM off" in shown


def test_another_organizations_administrator_gets_404_and_changes_nothing(site: Site) -> None:
    org_id = _ready(site, "acme")
    site.org("globex")
    site.admin("bob", "globex")
    with closing(site.sign_in_http("bob")) as bob:
        assert bob.get(f"/admin/orgs/{org_id}/sso").status_code == 404
        token = csrf_token(bob.get("/admin").text)
        for action, data in (
            ("tokens", {}),
            ("flags", {"phone_sync": "on"}),
            ("retention", {"days": "5"}),
            ("scim", {"enabled": "false"}),
        ):
            answer = bob.post(
                f"/admin/orgs/{org_id}/sso/{action}", data={"csrf_token": token, **data}
            )
            assert answer.status_code == 404, action
    with closing(site.sign_in_http("alice")) as alice:
        shown = _sso(alice, org_id)
    assert "No token yet." in shown
    assert 'name="phone_sync">' in shown and 'value="30"' in shown and "Turn SCIM off" in shown


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    org_id = _ready(site, "acme")
    with closing(site.sign_in_http("alice")) as alice:
        for action, data in (("tokens", {}), ("flags", {"phone_sync": "on"}), ("scim", {})):
            answer = alice.post(f"/admin/orgs/{org_id}/sso/{action}", data=data)
            assert answer.status_code == 403, action
            assert "security token" in answer.text
        shown = _sso(alice, org_id)
    assert "No token yet." in shown and 'name="phone_sync">' in shown
    with site.database.transaction() as session:
        org = session.get(Organization, org_id)
        assert org is not None and tokens.list_for(session, org) == []
