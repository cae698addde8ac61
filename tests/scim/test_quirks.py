"""The IdP quirk layer: each rule, on its own (docs/idp/quirks-*.md name the sources)."""

from typing import Any

from scimgate.domain import organizations
from scimgate.storage.database import Database
from tests.conftest import Tenant, group_body, patch_body, user_body

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _user(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    response = tenant.post("/Users", json=user_body("ada@example.com", **extra))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_unknown_attributes_in_bodies_are_ignored(tenant: Tenant) -> None:
    """Okta and Keycloak custom attributes in a POST body are ignored, not refused."""
    user = _user(tenant, costCentre="42", isAdmin=True)
    assert "costCentre" not in user and "isAdmin" not in user
    group = tenant.post("/Groups", json=group_body("Eng", source="okta"))
    assert group.status_code == 201 and "source" not in group.json()
    change = patch_body({"op": "replace", "value": {"nickName": "Ada", "favouriteColour": "red"}})
    patched = tenant.patch(f"/Users/{user['id']}", json=change)
    assert patched.status_code == 200 and patched.json()["nickName"] == "Ada"


def test_manager_sent_as_a_plain_id(tenant: Tenant) -> None:
    """Entra sends the enterprise manager as the manager's id alone (SCIM-SDK issue 686)."""
    user = _user(tenant, **{ENTERPRISE: {"manager": "boss-1"}})
    assert user[ENTERPRISE]["manager"] == {"value": "boss-1"}
    change = patch_body({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "boss-2"})
    patched = tenant.patch(f"/Users/{user['id']}", json=change)
    assert patched.status_code == 200, patched.text
    assert patched.json()[ENTERPRISE]["manager"] == {"value": "boss-2"}


def test_add_to_a_value_path_creates_the_entry(tenant: Tenant) -> None:
    """Entra adds a first mobile number through a value path that matches nothing yet."""
    user = _user(tenant, emails=[{"value": "ada@example.com", "type": "home"}])
    change = patch_body(
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 206 555 0100"},
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ada@work.example.com"},
    )
    patched = tenant.patch(f"/Users/{user['id']}", json=change)
    assert patched.status_code == 200, patched.text
    assert patched.json()["phoneNumbers"] == [{"value": "+1 206 555 0100", "type": "mobile"}]
    assert {e["type"]: e["value"] for e in patched.json()["emails"]} == {
        "home": "ada@example.com",
        "work": "ada@work.example.com",
    }


def test_replace_of_an_unmatched_value_path_is_still_no_target(tenant: Tenant) -> None:
    """RFC 7644 §3.5.2.3 stays in force for an explicit replace with a path."""
    user = _user(tenant)
    change = patch_body({"op": "replace", "path": 'emails[type eq "work"].value', "value": "x"})
    response = tenant.patch(f"/Users/{user['id']}", json=change)
    assert response.status_code == 400 and response.json()["scimType"] == "noTarget"


def test_pathless_value_with_value_path_keys(tenant: Tenant) -> None:
    """Entra (aadOptscim062020) sends value paths as keys of a pathless replace."""
    user = _user(tenant, emails=[{"value": "ada@example.com", "type": "work"}])
    change = patch_body(
        {
            "op": "replace",
            "value": {
                'emails[type eq "work"].value': "lovelace@example.com",
                "name.givenName": "Ada",
                "active": False,
            },
        }
    )
    patched = tenant.patch(f"/Users/{user['id']}", json=change)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["emails"] == [{"value": "lovelace@example.com", "type": "work"}]
    assert body["name"]["givenName"] == "Ada" and body["active"] is False


def _detected(database: Database, tenant: Tenant) -> str | None:
    with database.transaction() as session:
        return organizations.get(session, tenant.name).detected_idp


def test_provider_is_detected_from_user_agent(tenant: Tenant, database: Database) -> None:
    """The organization records which IdP talks to it, from its User-Agent."""
    tenant.get("/Users", headers={"User-Agent": "Okta SCIM Client 1.0.0"})
    assert _detected(database, tenant) == "okta"
    tenant.get("/Users", headers={"User-Agent": "Google-Auto-Provisioning"})
    assert _detected(database, tenant) == "google"
    tenant.client.get(
        "/scim/v2/Users?aadOptscim062020", headers={**tenant.headers(), "User-Agent": "x"}
    )
    assert _detected(database, tenant) == "entra"


def test_a_missing_user_agent_is_only_a_guess(make_tenant: Any, database: Database) -> None:
    """No User-Agent suggests Entra, but never overrides an IdP recognized for sure."""
    okta, unknown = make_tenant("okta-org"), make_tenant("quiet-org")
    okta.get("/Users", headers={"User-Agent": "Okta SCIM Client 1.0.0"})
    okta.get("/Users", headers={"User-Agent": ""})
    assert _detected(database, okta) == "okta"
    unknown.get("/Users", headers={"User-Agent": ""})
    assert _detected(database, unknown) == "entra"
