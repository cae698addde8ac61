"""Google Workspace, through its Adobe catalog app, replayed as it provisions.

The spec is docs/idp/quirks-google-keycloak-rippling.md, section "Google Workspace".
No capture of the Adobe connector itself is public: the transport and the core of each
body come from logs of Google's provisioning engine seen through other catalog apps
(pond/scimitar#142, grokability/snipe-it#12642), the Adobe extension from Microsoft's
and Google's Adobe documentation, the string booleans from a third party's tests.

Google sends every request with ``User-Agent: Google-Auto-Provisioning`` and
``Content-Type: application/json``. It looks users up by ``userName``, creates them,
updates them and, for every deprovisioning choice, suspends them (``active: false``);
it never deletes a user and pushes no groups (Adobe: the OU travels as a user
attribute instead), so neither appears here.

State a test starts from is set up through the ``tenant`` fixture's plain SCIM client;
only the request under test is Google's, so each test stands for one step or quirk.
What Google checks in our answers is public only for lists (``totalResults`` and
``Resources``); a PATCH may answer 200 with the resource or 204, and is read back.
"""

from typing import Any

import pytest

from scimgate.storage.database import Database
from tests.conftest import Tenant, user_body
from tests.idp.replay import (
    USER_URN,
    Replayer,
    assert_created,
    assert_error,
    assert_list,
    assert_no_content_or_resource,
    assert_resource,
    detected_idp,
    patch_op,
    query,
    stored_state,
)

USER_AGENT = "Google-Auto-Provisioning"
# Seen in logs; Google offers no setting for it (pond/scimitar#142).
CONTENT_TYPE = "application/json"
SCIM1_CORE_URN = "urn:scim:schemas:core:1.0"
ADOBE_URN = "urn:ietf:params:scim:schemas:extension:Adobe:2.0:User"
ADA = "ada@example.com"


@pytest.fixture
def google(server_url: str, tenant: Tenant) -> Replayer:
    """Google's provisioning engine, pointed at the tenant's SCIM base URL."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": CONTENT_TYPE}
    return Replayer(server_url, tenant.token, headers)


def google_user(user_name: str = ADA, **changes: Any) -> dict[str, Any]:
    """The body Google's engine POSTs (snipe-it#12642), with both core URNs."""
    body: dict[str, Any] = {
        "schemas": [SCIM1_CORE_URN, USER_URN],
        "userName": user_name,
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "active": True,
    }
    body.update(changes)
    return body


def seed(tenant: Tenant, user_name: str = ADA, **extra: Any) -> str:
    """Provision a user through plain SCIM (not as Google); return its id."""
    body = user_body(user_name, name={"givenName": "Ada", "familyName": "Lovelace"}, **extra)
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def fetch(tenant: Tenant, user_id: str) -> dict[str, Any]:
    """Read a user back through plain SCIM."""
    response = tenant.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def seed_suspended(tenant: Tenant, database: Database) -> str:
    """A user Google suspended earlier, set up through plain SCIM; return its id."""
    user_id = seed(tenant, active=False)
    assert stored_state(database, user_id) == (False, None)
    return user_id


def lookup(user_name: str, *, plus: bool = False) -> str:
    """Google's lookup: a userName filter with ``startIndex=1`` and no ``count``."""
    return "/Users" + query(
        ("filter", f'userName eq "{user_name}"'), ("startIndex", "1"), plus=plus
    )


def assert_google_user(body: dict[str, Any], active: bool = True) -> None:
    """What a created or updated user must show of what Google sent."""
    assert body["userName"] == ADA
    assert body["active"] is active
    assert body["name"]["givenName"] == "Ada"
    assert body["emails"] == [{"value": ADA, "type": "work", "primary": True}]
    assert USER_URN in body["schemas"]


# Lookup


def test_bare_list_on_an_empty_organization(google: Replayer) -> None:
    """Bare GET /Users before a create: https://github.com/grokability/snipe-it/issues/12642"""
    reply = google.get("/Users")
    assert assert_list(reply, 0) == []
    assert reply.body["Resources"] == []


def test_lookup_misses_before_the_create(google: Replayer) -> None:
    """Lookup by userName, %20, no count: https://github.com/grokability/snipe-it/issues/12642"""
    reply = google.get(lookup(ADA))
    assert "count=" not in reply.target
    assert assert_list(reply, 0) == []


def test_lookup_finds_the_user(tenant: Tenant, google: Replayer) -> None:
    """Lookup by userName, hit: https://github.com/grokability/snipe-it/issues/12642"""
    user_id = seed(tenant)
    seed(tenant, "bob@example.com")
    (found,) = assert_list(google.get(lookup(ADA)), 1)
    assert found["id"] == user_id
    assert found["userName"] == ADA
    assert found["active"] is True


def test_lookup_with_plus_for_spaces(tenant: Tenant, google: Replayer) -> None:
    """The lookup form-encoded (+): https://github.com/grokability/snipe-it/issues/12642"""
    user_id = seed(tenant)
    reply = google.get(lookup(ADA, plus=True))
    assert "userName+eq+%22" in reply.target
    (found,) = assert_list(reply, 1)
    assert found["id"] == user_id


def test_lookup_finds_a_suspended_user(
    tenant: Tenant, database: Database, google: Replayer
) -> None:
    """Lookup after a suspension: https://github.com/grokability/snipe-it/issues/12642"""
    # Google looks the user up again before reactivating; a miss would make it POST.
    user_id = seed_suspended(tenant, database)
    (found,) = assert_list(google.get(lookup(ADA)), 1)
    assert (found["id"], found["active"]) == (user_id, False)


# Create


def test_create_with_the_scim_1_core_urn(
    tenant: Tenant, database: Database, google: Replayer
) -> None:
    """POST listing urn:scim:schemas:core:1.0: https://github.com/grokability/snipe-it/issues/12642"""
    created = assert_created(google.post("/Users", google_user()), "User")
    assert_google_user(created)
    # Neither URN we do not serve is echoed: the resource speaks SCIM 2.0 only.
    assert created["schemas"] == [USER_URN]
    assert stored_state(database, created["id"]) == (True, "member")
    assert_google_user(fetch(tenant, created["id"]))


@pytest.mark.parametrize(
    "extension",
    [
        {ADOBE_URN: {"organizationalUnit": "/Engineering/London"}},
        {f"{ADOBE_URN}:organizationalUnit": "/Engineering/London"},
    ],
    ids=["object", "qualified-key"],
)
def test_create_with_the_adobe_extension(
    tenant: Tenant, google: Replayer, extension: dict[str, Any]
) -> None:
    """Adobe's OU extension: https://learn.microsoft.com/en-us/entra/identity/saas-apps/adobe-identity-management-provisioning-tutorial"""
    # Whether Google also lists the URN in "schemas" is unknown, so it is listed. The
    # attribute is ignored (README: unknown extension schemas); whether the OU should
    # be kept is undecided (note, "scimgate today"), so only the create is asserted.
    body = google_user(**extension)
    body["schemas"] = [*body["schemas"], ADOBE_URN]
    created = assert_created(google.post("/Users", body), "User")
    assert_google_user(created)
    assert_list(google.get(lookup(ADA)), 1)


def test_create_with_active_as_a_string(database: Database, google: Replayer) -> None:
    """Active sent as the string "true" in a POST: https://github.com/dmlab-work/module-admin-scim-google"""
    created = assert_created(google.post("/Users", google_user(active="true")), "User")
    assert created["active"] is True
    assert stored_state(database, created["id"]) == (True, "member")


def test_create_with_a_charset_parameter(google: Replayer) -> None:
    """application/json; charset=utf-8: https://github.com/pond/scimitar/issues/142"""
    # scimitar#142 shows application/json; a charset parameter is the variant every
    # JSON client may add (RFC 8259 §11 allows it), so it must not turn into a 415.
    headers: dict[str, str | None] = {"Content-Type": f"{CONTENT_TYPE}; charset=utf-8"}
    reply = google.post("/Users", google_user(), headers=headers)
    assert_google_user(assert_created(reply, "User"))


def test_create_refuses_a_user_name_that_is_not_an_email(google: Replayer) -> None:
    """POST with a non-email userName: https://github.com/grokability/snipe-it/issues/12642"""
    body = google_user(userName="ada.lovelace")
    error = assert_error(google.post("/Users", body), 400, "invalidValue")
    assert "ada.lovelace" in error["detail"]
    assert_list(google.get("/Users"), 0)


# Update


def test_update_by_put(tenant: Tenant, database: Database, google: Replayer) -> None:
    """PUT of the create body (method unverified): https://github.com/grokability/snipe-it/issues/12642"""
    user_id = seed(tenant)
    body = google_user(name={"givenName": "Augusta", "familyName": "King"})
    body["displayName"] = "Augusta King"
    updated = assert_resource(google.put(f"/Users/{user_id}", body))
    assert updated["name"] == {"givenName": "Augusta", "familyName": "King"}
    assert updated["displayName"] == "Augusta King"
    assert stored_state(database, user_id) == (True, "member")


def test_update_by_patch_with_a_path(tenant: Tenant, google: Replayer) -> None:
    """PATCH replace with a path: https://github.com/dmlab-work/module-admin-scim-google"""
    user_id = seed(tenant)
    body = patch_op(
        {"op": "replace", "path": "name.familyName", "value": "King"},
        {"op": "replace", "path": "displayName", "value": "Ada King"},
    )
    assert_no_content_or_resource(google.patch(f"/Users/{user_id}", body))
    updated = fetch(tenant, user_id)
    assert updated["name"] == {"givenName": "Ada", "familyName": "King"}
    assert updated["displayName"] == "Ada King"


# Suspend (Google's only deprovisioning action) and reactivate


def test_suspend_by_put(tenant: Tenant, database: Database, google: Replayer) -> None:
    """Suspension as PUT active:false (method unverified): https://knowledge.workspace.google.com/admin/users/advanced/configure-adobe-auto-provisioning"""
    user_id = seed(tenant)
    suspended = assert_resource(google.put(f"/Users/{user_id}", google_user(active=False)))
    assert_google_user(suspended, active=False)
    assert stored_state(database, user_id) == (False, None)


def test_suspend_by_patch_with_a_path_and_a_string(
    tenant: Tenant, database: Database, google: Replayer
) -> None:
    """PATCH path active, value "false": https://github.com/dmlab-work/module-admin-scim-google"""
    user_id = seed(tenant)
    body = patch_op({"op": "replace", "path": "active", "value": "false"})
    assert_no_content_or_resource(google.patch(f"/Users/{user_id}", body))
    assert fetch(tenant, user_id)["active"] is False
    assert stored_state(database, user_id) == (False, None)


def test_suspend_by_pathless_patch_with_a_string(
    tenant: Tenant, database: Database, google: Replayer
) -> None:
    """Pathless PATCH {"active":"false"}: https://github.com/dmlab-work/module-admin-scim-google"""
    user_id = seed(tenant)
    body = patch_op({"op": "replace", "value": {"active": "false"}})
    assert_no_content_or_resource(google.patch(f"/Users/{user_id}", body))
    assert fetch(tenant, user_id)["active"] is False
    assert stored_state(database, user_id) == (False, None)


def test_reactivate_by_put(tenant: Tenant, database: Database, google: Replayer) -> None:
    """Reactivation as PUT active:true (method unverified): https://knowledge.workspace.google.com/admin/users/advanced/configure-adobe-auto-provisioning"""
    user_id = seed_suspended(tenant, database)
    assert_google_user(assert_resource(google.put(f"/Users/{user_id}", google_user())))
    assert stored_state(database, user_id) == (True, "member")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": "true"},
        {"op": "replace", "value": {"active": "true"}},
    ],
    ids=["path", "pathless"],
)
def test_reactivate_by_patch_with_a_string(
    tenant: Tenant, database: Database, google: Replayer, operation: dict[str, Any]
) -> None:
    """PATCH active "true" after a suspension: https://github.com/dmlab-work/module-admin-scim-google"""
    user_id = seed_suspended(tenant, database)
    assert_no_content_or_resource(google.patch(f"/Users/{user_id}", patch_op(operation)))
    assert fetch(tenant, user_id)["active"] is True
    assert stored_state(database, user_id) == (True, "member")


# Provider detection


def test_recorded_as_google(tenant: Tenant, database: Database, google: Replayer) -> None:
    """Detected from User-Agent Google-Auto-Provisioning: https://github.com/pond/scimitar/issues/142"""
    assert detected_idp(database, tenant.name) is None
    assert_list(google.get("/Users"), 0)
    assert_list(google.get(lookup(ADA)), 0)
    assert detected_idp(database, tenant.name) == "google"
