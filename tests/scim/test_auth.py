"""Authentication, the SSO gate, tokens and path tolerance on the SCIM endpoint."""

from datetime import timedelta

from starlette.testclient import TestClient

from scimgate.domain import organizations, tokens
from scimgate.storage.database import Database
from tests.conftest import Tenant, TenantFactory, assert_scim_error, user_body


def test_missing_authorization_is_401_with_challenge(client: TestClient, tenant: Tenant) -> None:
    """No Authorization header: 401, a Bearer challenge and a detail naming the cause."""
    response = client.get("/scim/v2/Users")
    body = assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "missing" in body["detail"]


def test_malformed_authorization_is_401(client: TestClient, tenant: Tenant) -> None:
    """A non-Bearer or empty Authorization header is refused as malformed."""
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", tenant.token):
        response = client.get("/scim/v2/Users", headers={"Authorization": header})
        body = assert_scim_error(response, 401)
        assert "malformed" in body["detail"], header
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_token_is_401(client: TestClient, tenant: Tenant) -> None:
    """A well-formed token that no organization holds is refused."""
    response = client.get("/scim/v2/Users", headers={"Authorization": "Bearer scimgate_nope"})
    body = assert_scim_error(response, 401)
    assert "not valid" in body["detail"]


def test_sso_not_configured_is_404(make_tenant: TenantFactory) -> None:
    """A valid token of an organization without SSO gets 404 saying SSO comes first."""
    no_sso = make_tenant("no-sso", sso_on=False)
    body = assert_scim_error(no_sso.get("/Users"), 404)
    assert "SSO is configured" in body["detail"]


def test_scim_disabled_is_404(make_tenant: TenantFactory, database: Database) -> None:
    """A valid token of an organization whose SCIM is switched off gets 404, and works once on."""
    off = make_tenant("off", scim_on=False)
    body = assert_scim_error(off.get("/Users"), 404)
    assert "disabled" in body["detail"]
    with database.transaction() as session:
        organizations.set_scim_enabled(organizations.get(session, "off"), True)
    assert off.get("/Users").status_code == 200


def test_revoked_token_is_401(tenant: Tenant, database: Database) -> None:
    """A revoked token stops working at once."""
    assert tenant.get("/Users").status_code == 200
    with database.transaction() as session:
        org = organizations.get(session, tenant.name)
        for token in tokens.list_for(session, org):
            tokens.revoke(session, org, token.id)
    body = assert_scim_error(tenant.get("/Users"), 401)
    assert "revoked" in body["detail"]


def test_rotation_without_grace_retires_old_token(tenant: Tenant, database: Database) -> None:
    """Rotating with the default grace of 0 makes the old token fail and the new one work."""
    with database.transaction() as session:
        issued = tokens.rotate(session, organizations.get(session, tenant.name), timedelta(0))
    assert_scim_error(tenant.get("/Users"), 401)
    tenant.token = issued.secret
    assert tenant.get("/Users").status_code == 200


def test_rotation_with_grace_keeps_old_token_working(tenant: Tenant, database: Database) -> None:
    """During the grace period both the old and the new token work."""
    old = tenant.token
    with database.transaction() as session:
        issued = tokens.rotate(session, organizations.get(session, tenant.name), timedelta(hours=1))
    assert tenant.get("/Users").status_code == 200
    tenant.token = issued.secret
    assert tenant.get("/Users").status_code == 200
    assert old != issued.secret


def test_last_use_is_recorded(tenant: Tenant, database: Database) -> None:
    """A successful request records when the token was last used."""
    with database.transaction() as session:
        before = tokens.list_for(session, organizations.get(session, tenant.name))
    assert before[0].last_used_at is None
    tenant.get("/Users")
    with database.transaction() as session:
        after = tokens.list_for(session, organizations.get(session, tenant.name))
    assert after[0].last_used_at is not None


def test_tokens_are_stored_only_as_hashes(tenant: Tenant, database: Database) -> None:
    """The token's secret appears nowhere in the tokens table."""
    with database.transaction() as session:
        stored = tokens.list_for(session, organizations.get(session, tenant.name))
    for token in stored:
        assert tenant.token not in (token.token_hash, token.prefix)
        assert tenant.token not in repr(token)
    assert len(tenant.token) - len(tokens.TOKEN_PREFIX) >= 43  # 32 bytes, base64url


def test_both_prefixes_and_sloppy_slashes_work(tenant: Tenant) -> None:
    """/scim and /scim/v2 both serve, and doubled or trailing slashes are tolerated."""
    created = tenant.post("/Users", json=user_body("ada@example.com"))
    assert created.status_code == 201
    user_id = created.json()["id"]
    for path in (
        "/scim/Users",
        "/scim//Users",
        "/scim/Users/",
        "/scim/v2//Users/",
        "/scim/v2/Users",
    ):
        response = tenant.client.get(path, headers=tenant.headers())
        assert response.status_code == 200, path
        assert response.json()["totalResults"] == 1
    response = tenant.client.get(f"/scim//Users/{user_id}/", headers=tenant.headers())
    assert response.status_code == 200
    assert response.json()["meta"]["location"].endswith(f"/scim/Users/{user_id}")


def test_unknown_endpoint_and_method_are_scim_errors(tenant: Tenant) -> None:
    """An unknown SCIM path is a SCIM 404 and an unsupported method a SCIM 405."""
    assert_scim_error(tenant.get("/Nope"), 404)
    assert_scim_error(tenant.request("PATCH", "/Users"), 405)


def test_healthz_reports_database(client: TestClient) -> None:
    """/healthz answers without authentication once the database answers."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
