"""The ``scimgate`` command line, run in-process against both databases."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from scimgate.cli import main
from scimgate.config import Settings
from scimgate.domain import sso
from tests.conftest import SCIM_JSON, Tenant, user_body


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    *argv: str,
) -> tuple[int, Any]:
    """Run one command with --json and return its exit status and parsed output."""
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", settings.database_url)
    status = main([*argv, "--json"])
    out = capsys.readouterr().out.strip()
    return status, json.loads(out) if out else None


def test_org_lifecycle_and_tokens(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client: TestClient,
    tmp_path: Path,
) -> None:
    """An operator creates an org, configures SSO from metadata, enables SCIM and uses a token."""
    status, org = run_cli(monkeypatch, capsys, settings, "org", "create", "Initech")
    assert status == 0 and org["name"] == "Initech" and org["sso_configured"] is False
    status, dup = run_cli(monkeypatch, capsys, settings, "org", "create", "initech")
    assert status == 1 and dup["status"] == 409

    status, issued = run_cli(monkeypatch, capsys, settings, "token", "create", "Initech")
    assert status == 0 and issued["token"].startswith("scimgate_")
    auth = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/scim/v2/Users", headers=auth).status_code == 404  # no SSO yet

    demo = sso.demo_settings("initech")
    cert = tmp_path / "idp.pem"
    cert.write_text(demo.certificate_pem)
    status, configured = run_cli(
        monkeypatch, capsys, settings, "sso", "configure", "Initech",
        "--entity-id", demo.entity_id, "--sso-url", demo.sso_url, "--cert-file", str(cert),
    )  # fmt: skip
    assert status == 0 and configured["sso_configured"] is True
    assert "initech" in configured["certificate"]["subject"]
    assert client.get("/scim/v2/Users", headers=auth).status_code == 404  # SCIM still off

    status, _ = run_cli(monkeypatch, capsys, settings, "scim", "enable", "Initech")
    assert status == 0
    assert client.get("/scim/v2/Users", headers=auth).status_code == 200

    status, listed = run_cli(monkeypatch, capsys, settings, "token", "list", "Initech")
    assert status == 0 and len(listed) == 1 and listed[0]["last_used_at"] is not None
    assert "token" not in listed[0]

    status, rotated = run_cli(monkeypatch, capsys, settings, "token", "rotate", "Initech")
    assert status == 0
    assert client.get("/scim/v2/Users", headers=auth).status_code == 401
    new_auth = {"Authorization": f"Bearer {rotated['token']}"}
    assert client.get("/scim/v2/Users", headers=new_auth).status_code == 200

    status, revoked = run_cli(
        monkeypatch, capsys, settings, "token", "revoke", "Initech", rotated["id"]
    )
    assert status == 0 and revoked["revoked_at"] is not None
    assert client.get("/scim/v2/Users", headers=new_auth).status_code == 401

    status, _ = run_cli(monkeypatch, capsys, settings, "scim", "disable", "Initech")
    status, orgs = run_cli(monkeypatch, capsys, settings, "org", "list")
    assert [(o["name"], o["scim_enabled"]) for o in orgs] == [("Initech", False)]


def test_sso_configure_from_metadata_file(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tmp_path: Path,
) -> None:
    """sso configure reads an IdP metadata file; a bad one is refused with a reason."""
    run_cli(monkeypatch, capsys, settings, "org", "create", "Hooli")
    demo = sso.demo_settings("hooli")
    body = "".join(demo.certificate_pem.splitlines()[1:-1])
    metadata = tmp_path / "metadata.xml"
    metadata.write_text(
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.hooli.example/">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="https://idp.hooli.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    )
    status, result = run_cli(
        monkeypatch, capsys, settings, "sso", "configure", "Hooli", "--metadata-file", str(metadata)
    )
    assert status == 0
    assert result["entity_id"] == "https://idp.hooli.example/"
    assert result["sso_url"] == "https://idp.hooli.example/sso"

    bad = tmp_path / "bad.xml"
    bad.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    status, error = run_cli(
        monkeypatch, capsys, settings, "sso", "configure", "Hooli", "--metadata-file", str(bad)
    )
    assert status == 1 and error["status"] == 400


def test_unknown_org_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    """Commands naming an organization that does not exist fail with exit status 1."""
    status, error = run_cli(monkeypatch, capsys, settings, "token", "create", "nobody")
    assert status == 1 and "nobody" in error["error"]


def test_quickstart_serves_a_ready_demo(tmp_path: Path) -> None:
    """quickstart --json prints the base URL, a token and an administrator, then serves."""
    env = {**os.environ, "SCIMGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    # quickstart prints the port it was given, so pick a free one first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "scimgate", "quickstart", "--json", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["scim_base_url"] == f"http://127.0.0.1:{port}/scim/v2"
        auth = {"Authorization": f"Bearer {first['token']}", "Content-Type": SCIM_JSON}
        with httpx2.Client(base_url=first["scim_base_url"], headers=auth, timeout=10) as http:
            created = _retry(lambda: http.post("/Users", json=user_body("grace@example.com")))
            assert created.status_code == 201
            found = http.get("/Users", params={"filter": 'userName eq "grace@example.com"'})
            assert found.json()["totalResults"] == 1
        # The printed administrator signs in to the admin web UI.
        with httpx2.Client(base_url=first["admin_url"].removesuffix("/admin")) as browser:
            form = browser.get("/admin/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None and first["admin_username"] == "admin"
            signed_in = browser.post(
                "/admin/login",
                data={
                    "csrf_token": token.group(1),
                    "username": first["admin_username"],
                    "password": first["admin_password"],
                },
            )
            assert signed_in.status_code == 303
            assert "demo" in browser.get("/admin").text
    finally:
        process.terminate()
        process.wait(timeout=10)


def _retry(send: Any) -> httpx2.Response:
    for _ in range(100):
        try:
            response: httpx2.Response = send()
            return response
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_org_list_shows_the_detected_identity_provider(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tenant: Tenant,
) -> None:
    """org list names the IdP last seen talking SCIM to each organization."""
    tenant.get("/Users", headers={"User-Agent": "Okta SCIM Client 1.0.0"})
    status, orgs = run_cli(monkeypatch, capsys, settings, "org", "list")
    assert status == 0
    assert [(org["name"], org["detected_idp"]) for org in orgs] == [(tenant.name, "okta")]
    assert orgs[0]["idp_seen_at"] is not None
