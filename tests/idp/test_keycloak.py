"""Keycloak with the mitodl/keycloak-scim extension, replayed as it provisions.

The spec is docs/idp/quirks-google-keycloak-rippling.md, section "Keycloak", read from
the extension's source (https://github.com/mitodl/keycloak-scim, ``sh/libre/scim/core``)
and the Captain-P-Goldfish SCIM SDK it is built on. Two generations of the extension
are in use: Gen A pushes whole member lists (PUT, or PATCH ``replace members``), Gen B
one member per PATCH; both are replayed.

Keycloak never looks users up: it keeps the ids we return in a mapping table, reads
``id``, ``userName``, ``displayName`` and ``active`` from every user we answer (create
and import), and treats a 204 to a PATCH as a failure (asserted once for users, once
for groups; the other PATCH tests read the result back). Its ``Endpoint content
type`` setting sends ``application/scim+json`` (default) or ``application/json``;
every test runs with both. Its User-Agent is the Apache HttpClient default (an
inference: the extension sets none).

State a test starts from is set up through the ``tenant`` fixture's plain SCIM client;
only the requests under test are Keycloak's, so each test stands for one step or quirk.
"""

import uuid
from typing import Any

import pytest

from scimgate.storage.database import Database
from tests.conftest import Tenant, group_body, user_body
from tests.idp.replay import (
    GROUP_URN,
    USER_URN,
    Replayer,
    assert_created,
    assert_error,
    assert_list,
    assert_no_content_or_resource,
    assert_resource,
    detected_idp,
    patch_op,
    stored_state,
)

USER_AGENT = "Apache-HttpClient/4.5.14 (Java/17.0.9)"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ADA = "ada@example.com"
# Keycloak's own ids (user and group UUIDs), sent as externalId.
ADA_KC_ID = "5f1c6a3e-2b7d-4c1e-9a0b-8d2e4f6a7b9c"
GROUP_KC_ID = "0b8e2f4a-6c1d-4e3f-8a9b-1c2d3e4f5a6b"


@pytest.fixture(params=["application/scim+json", "application/json"], ids=["scim+json", "json"])
def keycloak(request: pytest.FixtureRequest, server_url: str, tenant: Tenant) -> Replayer:
    """The extension with Bearer auth, sending its configured content type."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": str(request.param)}
    return Replayer(server_url, tenant.token, headers)


def keycloak_user(user_name: str = ADA, **changes: Any) -> dict[str, Any]:
    """UserAdapter.toSCIM with username-source=email: no id, no meta."""
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "externalId": ADA_KC_ID,
        "userName": user_name,
        "displayName": "Ada Lovelace",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
        "roles": [{"value": "app-editor"}],
    }
    body.update(changes)
    return body


def member(user_id: str) -> dict[str, str]:
    """A member as GroupAdapter.toSCIM writes it: relative ``$ref``."""
    return {"value": user_id, "type": "User", "$ref": f"Users/{user_id}"}


def keycloak_group(members: list[dict[str, Any]] | None, **changes: Any) -> dict[str, Any]:
    """GroupAdapter.toSCIM; ``members`` None leaves the key out, as some versions do."""
    body: dict[str, Any] = {
        "schemas": [GROUP_URN],
        "externalId": GROUP_KC_ID,
        "displayName": "Engineering",
    }
    if members is not None:
        body["members"] = members
    body.update(changes)
    return body


def seed(tenant: Tenant, user_name: str = ADA, **extra: Any) -> str:
    """Provision a user through plain SCIM (not as Keycloak); return its id."""
    body = user_body(user_name, displayName=user_name.split("@")[0].title(), **extra)
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def seed_group(tenant: Tenant, members: list[str], name: str = "Engineering") -> str:
    """Create a group through plain SCIM; return its id."""
    response = tenant.post("/Groups", json=group_body(name, members, externalId=GROUP_KC_ID))
    assert response.status_code == 201, response.text
    group_id: str = response.json()["id"]
    return group_id


def fetch_group(tenant: Tenant, group_id: str) -> dict[str, Any]:
    """Read a group back through plain SCIM."""
    response = tenant.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def member_ids(tenant: Tenant, group_id: str) -> set[str]:
    """The group's members, read back through plain SCIM."""
    return {entry["value"] for entry in fetch_group(tenant, group_id).get("members", [])}


def assert_mappable(user: dict[str, Any]) -> None:
    """What UserAdapter.apply(User) reads with .get(): without one the mapping is lost."""
    assert isinstance(user.get("id"), str) and 0 < len(user["id"]) <= 36, user  # VARCHAR(36)
    assert isinstance(user.get("userName"), str) and user["userName"], user
    assert isinstance(user.get("displayName"), str) and user["displayName"], user
    assert isinstance(user.get("active"), bool), user


# Users


@pytest.mark.parametrize(
    "emails",
    [[{"value": ADA, "type": "work", "primary": True}], [{"value": ADA}], []],
    ids=["typed-email", "older-build-email", "no-email"],
)
def test_create_answers_what_the_adapter_reads(
    database: Database, keycloak: Replayer, emails: list[dict[str, Any]]
) -> None:
    """POST /Users answer read by UserAdapter.apply: https://github.com/mitodl/keycloak-scim"""
    body = keycloak_user(emails=emails)
    created = assert_created(keycloak.post("/Users", body), "User")
    assert_mappable(created)
    assert (created["userName"], created["displayName"], created["active"]) == (
        ADA,
        "Ada Lovelace",
        True,
    )
    assert created["externalId"] == ADA_KC_ID
    assert [email["value"] for email in created.get("emails", [])] == [e["value"] for e in emails]
    assert stored_state(database, created["id"]) == (True, "member")


def test_update_by_put_with_the_id_in_the_body(tenant: Tenant, keycloak: Replayer) -> None:
    """PUT of the create body plus id (ScimClient.replace): https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    body = keycloak_user(id=user_id, displayName="Ada King")
    body["name"] = {"givenName": "Ada", "familyName": "King"}
    updated = assert_resource(keycloak.put(f"/Users/{user_id}", body))
    assert updated["id"] == user_id
    assert updated["displayName"] == "Ada King"
    assert updated["name"]["familyName"] == "King"


def test_update_by_patch_answers_200_with_active_as_a_string(
    tenant: Tenant, database: Database, keycloak: Replayer
) -> None:
    """user-patchOp, "true" as a string (UserAdapter.toPatchBuilder): https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    body = patch_op(
        {"op": "replace", "path": "active", "value": "true"},
        {"op": "replace", "path": "userName", "value": ADA},
        {"op": "replace", "path": "displayName", "value": "Ada Lovelace"},
    )
    reply = keycloak.patch(f"/Users/{user_id}", body)
    # The SDK's PatchBuilder expects 200; a 204 counts as a failed update.
    updated = assert_resource(reply, 200)
    assert (updated["active"], updated["userName"], updated["displayName"]) == (
        True,
        ADA,
        "Ada Lovelace",
    )
    assert stored_state(database, user_id) == (True, "member")


def test_patch_with_a_non_email_user_name_is_refused_and_the_recreate_conflicts(
    tenant: Tenant, keycloak: Replayer
) -> None:
    """PATCH userName ignores username-source, then POST fallback: https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    body = patch_op(
        {"op": "replace", "path": "active", "value": "true"},
        {"op": "replace", "path": "userName", "value": "ada"},
        {"op": "replace", "path": "displayName", "value": "Ada Lovelace"},
    )
    error = assert_error(keycloak.patch(f"/Users/{user_id}", body), 400, "invalidValue")
    assert "'ada'" in error["detail"]
    # ScimClient.replace answers a 400 with a POST of the same user: a 409, only logged.
    assert_error(keycloak.post("/Users", keycloak_user()), 409, "uniqueness")
    (kept,) = assert_list(keycloak.get("/Users"), 1)
    assert (kept["id"], kept["userName"]) == (user_id, ADA)


def test_disable_by_put(tenant: Tenant, database: Database, keycloak: Replayer) -> None:
    """Disabling sends a replace with active false: https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    body = keycloak_user(id=user_id, active=False)
    assert assert_resource(keycloak.put(f"/Users/{user_id}", body))["active"] is False
    assert stored_state(database, user_id) == (False, None)


def test_disable_by_patch_with_active_as_a_string(
    tenant: Tenant, database: Database, keycloak: Replayer
) -> None:
    """user-patchOp disable, "false" as a string: https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    body = patch_op(
        {"op": "replace", "path": "active", "value": "false"},
        {"op": "replace", "path": "userName", "value": ADA},
        {"op": "replace", "path": "displayName", "value": "Ada Lovelace"},
    )
    # The 200 Keycloak needs is asserted once, by the PATCH update test above.
    assert_no_content_or_resource(keycloak.patch(f"/Users/{user_id}", body))
    assert stored_state(database, user_id) == (False, None)


def test_enable_by_put_gives_the_role_back(
    tenant: Tenant, database: Database, keycloak: Replayer
) -> None:
    """Enabling sends a replace with active true: https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID, active=False)
    assert stored_state(database, user_id) == (False, None)
    body = keycloak_user(id=user_id)
    assert assert_resource(keycloak.put(f"/Users/{user_id}", body))["active"] is True
    assert stored_state(database, user_id) == (True, "member")


def test_delete_mode_deactivate_puts_back_the_resource_it_read(
    tenant: Tenant, database: Database, keycloak: Replayer
) -> None:
    """delete-mode=deactivate: GET, then PUT it with active false: https://github.com/pelotech/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    current = assert_resource(keycloak.get(f"/Users/{user_id}"))
    # The returned resource goes back whole: id, meta and schemas included.
    current["active"] = False
    updated = assert_resource(keycloak.put(f"/Users/{user_id}", current))
    assert (updated["id"], updated["active"]) == (user_id, False)
    assert stored_state(database, user_id) == (False, None)


def test_delete_answers_204_then_404(tenant: Tenant, keycloak: Replayer) -> None:
    """DELETE with a Content-Type and no body (ScimClient.delete): https://github.com/mitodl/keycloak-scim"""
    user_id = seed(tenant, externalId=ADA_KC_ID)
    reply = keycloak.delete(f"/Users/{user_id}")
    assert (reply.status, reply.text) == (204, ""), reply
    assert_error(keycloak.get(f"/Users/{user_id}"), 404)
    assert_list(keycloak.get("/Users"), 0)


# Import (sync-import): one unpaged GET per resource type


def test_unpaged_user_import_reads_the_first_page(tenant: Tenant, keycloak: Replayer) -> None:
    """GET /Users with no query string (ScimClient.importResources): https://github.com/mitodl/keycloak-scim"""
    # One more user than the default page size (100): Keycloak reads only the first
    # page, and totalResults must still tell the truth.
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{number}",
            "data": user_body(f"user{number:03}@example.com", displayName=f"User {number}"),
        }
        for number in range(101)
    ]
    bulk = tenant.post("/Bulk", json={"schemas": [BULK_URN], "Operations": operations})
    assert bulk.status_code == 200, bulk.text
    assert {item["status"] for item in bulk.json()["Operations"]} == {"201"}
    resources = assert_list(keycloak.get("/Users"), 101)
    assert len(resources) == 100
    for user in resources:
        assert_mappable(user)


def test_unpaged_group_import(tenant: Tenant, keycloak: Replayer) -> None:
    """GET /Groups with no query string (ScimClient.importResources): https://github.com/mitodl/keycloak-scim"""
    ada = seed(tenant)
    group_id = seed_group(tenant, [ada])
    (group,) = assert_list(keycloak.get("/Groups"), 1)
    assert (group["id"], group["displayName"]) == (group_id, "Engineering")
    assert [entry["value"] for entry in group["members"]] == [ada]


# Groups


@pytest.mark.parametrize("ref", ["Users/{id}", "/Users/{id}"], ids=["relative", "rooted"])
def test_group_create_with_relative_member_refs(
    tenant: Tenant, keycloak: Replayer, ref: str
) -> None:
    """Members with $ref Users/<id> (GroupAdapter.toSCIM): https://github.com/mitodl/keycloak-scim"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    members = [{**member(user_id), "$ref": ref.format(id=user_id)} for user_id in (ada, bob)]
    created = assert_created(keycloak.post("/Groups", keycloak_group(members)), "Group")
    assert created["displayName"] == "Engineering"
    assert created["externalId"] == GROUP_KC_ID
    assert {entry["value"] for entry in created["members"]} == {ada, bob}
    assert member_ids(tenant, created["id"]) == {ada, bob}


@pytest.mark.parametrize("members", [[], None], ids=["empty-list", "no-key"])
def test_group_create_without_members(
    tenant: Tenant, keycloak: Replayer, members: list[dict[str, Any]] | None
) -> None:
    """Group POST with members [] or without the key: https://github.com/mitodl/keycloak-scim"""
    created = assert_created(keycloak.post("/Groups", keycloak_group(members)), "Group")
    assert created["displayName"] == "Engineering"
    assert created.get("members", []) == []


def test_gen_a_put_replaces_name_and_the_whole_member_list(
    tenant: Tenant, keycloak: Replayer
) -> None:
    """Gen A group PUT with id and the full list: https://github.com/mitodl/keycloak-scim"""
    ada, bob, eve = (seed(tenant, f"{name}@example.com") for name in ("ada", "bob", "eve"))
    group_id = seed_group(tenant, [ada, bob])
    body = keycloak_group([member(bob), member(eve)], id=group_id, displayName="Platform")
    replaced = assert_resource(keycloak.put(f"/Groups/{group_id}", body))
    assert replaced["displayName"] == "Platform"
    assert {entry["value"] for entry in replaced["members"]} == {bob, eve}
    assert member_ids(tenant, group_id) == {bob, eve}


def test_gen_a_patch_replaces_members_name_and_external_id(
    tenant: Tenant, keycloak: Replayer
) -> None:
    """Gen A group-patchOp (GroupAdapter.toPatchBuilder): https://github.com/mitodl/keycloak-scim"""
    ada, bob, eve = (seed(tenant, f"{name}@example.com") for name in ("ada", "bob", "eve"))
    group_id = seed_group(tenant, [ada, bob])
    body = patch_op(
        {
            "op": "replace",
            "path": "members",
            "value": [{"value": bob, "type": "User"}, {"value": eve, "type": "User"}],
        },
        {"op": "replace", "path": "displayName", "value": "Platform"},
        {"op": "replace", "path": "externalId", "value": GROUP_KC_ID},
    )
    assert_no_content_or_resource(keycloak.patch(f"/Groups/{group_id}", body))
    patched = fetch_group(tenant, group_id)
    assert (patched["displayName"], patched["externalId"]) == ("Platform", GROUP_KC_ID)
    assert member_ids(tenant, group_id) == {bob, eve}


def test_gen_a_patch_empties_a_group_with_a_valueless_remove(
    tenant: Tenant, keycloak: Replayer
) -> None:
    """Gen A: remove path members, no value, for no members: https://github.com/mitodl/keycloak-scim"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    group_id = seed_group(tenant, [ada, bob])
    body = patch_op(
        {"op": "remove", "path": "members"},
        {"op": "replace", "path": "displayName", "value": "Engineering"},
        {"op": "replace", "path": "externalId", "value": GROUP_KC_ID},
    )
    assert_no_content_or_resource(keycloak.patch(f"/Groups/{group_id}", body))
    assert member_ids(tenant, group_id) == set()


def test_gen_b_adds_one_member_per_patch(tenant: Tenant, keycloak: Replayer) -> None:
    """Gen B member add (toMembershipPatchBuilder): https://github.com/mitodl/keycloak-scim/blob/main/docs/roadmap.md"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    group_id = seed_group(tenant, [ada])
    body = patch_op({"op": "add", "path": "members", "value": [{"value": bob}]})
    # The SDK expects 200 from a group PATCH too (a 204 fails it); asserted here once.
    assert assert_resource(keycloak.patch(f"/Groups/{group_id}", body), 200)["id"] == group_id
    assert member_ids(tenant, group_id) == {ada, bob}


def test_gen_b_removes_one_member_by_filter(tenant: Tenant, keycloak: Replayer) -> None:
    """Gen B member remove (toMembershipPatchBuilder): https://github.com/mitodl/keycloak-scim/blob/main/docs/roadmap.md"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    group_id = seed_group(tenant, [ada, bob])
    body = patch_op({"op": "remove", "path": f'members[value eq "{bob}"]'})
    assert_no_content_or_resource(keycloak.patch(f"/Groups/{group_id}", body))
    assert member_ids(tenant, group_id) == {ada}


def test_gen_b_renames_without_touching_members(tenant: Tenant, keycloak: Replayer) -> None:
    """Gen B group update: displayName and externalId only: https://github.com/mitodl/keycloak-scim"""
    ada = seed(tenant)
    group_id = seed_group(tenant, [ada])
    body = patch_op(
        {"op": "replace", "path": "displayName", "value": "Platform"},
        {"op": "replace", "path": "externalId", "value": GROUP_KC_ID},
    )
    assert_no_content_or_resource(keycloak.patch(f"/Groups/{group_id}", body))
    assert fetch_group(tenant, group_id)["displayName"] == "Platform"
    assert member_ids(tenant, group_id) == {ada}


def test_a_member_id_never_provisioned_is_refused(tenant: Tenant, keycloak: Replayer) -> None:
    """ensureUserMapping invents a random member id: https://github.com/mitodl/keycloak-scim"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    group_id = seed_group(tenant, [ada])
    invented = str(uuid.uuid4())
    body = keycloak_group([member(ada), member(bob), member(invented)], id=group_id)
    error = assert_error(keycloak.put(f"/Groups/{group_id}", body), 400, "invalidValue")
    assert invented in error["detail"]
    assert member_ids(tenant, group_id) == {ada}


def test_group_delete(tenant: Tenant, database: Database, keycloak: Replayer) -> None:
    """DELETE /Groups/<id> with a Content-Type and no body: https://github.com/mitodl/keycloak-scim"""
    ada = seed(tenant)
    group_id = seed_group(tenant, [ada])
    reply = keycloak.delete(f"/Groups/{group_id}")
    assert (reply.status, reply.text) == (204, ""), reply
    assert_error(keycloak.get(f"/Groups/{group_id}"), 404)
    assert stored_state(database, ada) == (True, "member")


# Provider detection


def test_recorded_as_keycloak(tenant: Tenant, database: Database, keycloak: Replayer) -> None:
    """Detected from the Apache HttpClient User-Agent of a sync: https://github.com/mitodl/keycloak-scim"""
    assert detected_idp(database, tenant.name) is None
    assert_list(keycloak.get("/Users"), 0)
    assert_list(keycloak.get("/Groups"), 0)
    assert detected_idp(database, tenant.name) == "keycloak"
