"""Okta's provisioning traffic, replayed as Okta sends it (docs/idp/quirks-okta-entra.md, O0-O14).

Okta identifies itself as ``Okta SCIM Client 1.0.0`` (its Runscope spec test as ``OKTA
SCIM Integration``), URL-encodes filter values with ``%20``, looks users up with
``startIndex=1&count=100`` before creating them, never deletes a user, deactivates
and reactivates with a pathless ``replace`` (OIN apps) or a whole ``PUT`` (App
Integration Wizard apps), and pushes groups with PATCHes that carry the group's ``id``
in a pathless rename. Shape numbers (O1, O2, ...) refer to the note above.
"""

from typing import Any

import pytest

from scimgate.storage.database import Database
from tests.conftest import Tenant
from tests.idp.replay import (
    GROUP_URN,
    SCIM_JSON,
    USER_URN,
    Replayer,
    Reply,
    assert_created,
    assert_error,
    assert_list,
    assert_no_content,
    assert_resource,
    detected_idp,
    patch_op,
    query,
)

OKTA_AGENT = "Okta SCIM Client 1.0.0"
# Okta's SCIM spec test (Runscope) sends these on most requests.
SPEC_TEST_HEADERS = {
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "Accept": SCIM_JSON,
    "User-Agent": "OKTA SCIM Integration",
}
# The id Okta's spec test asks for to see a 404.
SPEC_TEST_UNKNOWN_ID = "010101001010101011001010101011"


@pytest.fixture
def okta(server_url: str, tenant: Tenant) -> Replayer:
    """Okta's provisioning engine, as the SCIM 1.1/2.0 references show its requests."""
    return Replayer(
        server_url,
        tenant.token,
        {"User-Agent": OKTA_AGENT, "Accept": SCIM_JSON},
        content_type="application/scim+json; charset=utf-8",
    )


def okta_user(user_name: str, given: str, family: str, okta_id: str) -> dict[str, Any]:
    """O3: the body Okta POSTs for a user assigned to the app."""
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": okta_id,
        "groups": [],
        "password": "t3mpPassw0rd",
        "active": True,
    }


def okta_put(current: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """O5: Okta's PUT, the resource it just read with its mapped attributes changed."""
    body = {
        "schemas": [USER_URN],
        "id": current["id"],
        "userName": current["userName"],
        "name": current["name"],
        "emails": current["emails"],
        "active": current["active"],
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    body.update(changes)
    return body


def lookup(okta: Replayer, user_name: str) -> Reply:
    """O2: the lookup Okta runs before every create and on re-assignment."""
    target = query(("filter", f'userName eq "{user_name}"'), ("startIndex", "1"), ("count", "100"))
    return okta.get("/Users" + target)


def provision(okta: Replayer, user_name: str, given: str, family: str) -> dict[str, Any]:
    """O2 then O3: look the user up, find nothing, create it; return the created user."""
    assert_list(lookup(okta, user_name), 0)
    okta_id = "00u" + user_name.split("@")[0]
    return assert_created(okta.post("/Users", okta_user(user_name, given, family, okta_id)), "User")


def provision_many(okta: Replayer, count: int) -> list[dict[str, Any]]:
    """Create ``count`` users as Okta does, less the password (hashing it dominates the run)."""
    created = []
    for index in range(count):
        user_name = f"user{index:03}@example.com"
        assert_list(lookup(okta, user_name), 0)
        body = okta_user(user_name, "User", f"N{index}", f"00u{index:017}")
        del body["password"]
        created.append(assert_created(okta.post("/Users", body), "User"))
    return created


def set_active(okta: Replayer, user_id: str, active: bool) -> dict[str, Any]:
    """O6/O7, OIN apps: a pathless replace of ``active``; return the user."""
    reply = okta.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "value": {"active": active}})
    )
    return assert_resource(reply)


def push_group(okta: Replayer, name: str, members: list[str] | None = None) -> dict[str, Any]:
    """O9: Push Groups → create; return the created group."""
    body = {
        "schemas": [GROUP_URN],
        "displayName": name,
        "members": [{"value": member} for member in members or []],
    }
    created = assert_created(okta.post("/Groups", body), "Group")
    assert created["displayName"] == name
    return created


def patch_group(okta: Replayer, group_id: str, *operations: dict[str, Any]) -> None:
    """A group PATCH Okta counts as done: 200 with the group, or 204 (O11, O12); it gets 204."""
    assert_no_content(okta.patch(f"/Groups/{group_id}", patch_op(*operations)))


def rename_op(group_id: str, name: str) -> dict[str, Any]:
    """O11: the pathless rename carrying the group's id, sent with every push."""
    return {"op": "replace", "value": {"id": group_id, "displayName": name}}


def add_op(*members: tuple[str, str]) -> dict[str, Any]:
    """O12: an ``add`` of (id, userName) members."""
    value = [{"value": member_id, "display": display} for member_id, display in members]
    return {"op": "add", "path": "members", "value": value}


def remove_op(member_id: str) -> dict[str, Any]:
    """O12: a removal by value filter."""
    return {"op": "remove", "path": f'members[value eq "{member_id}"]'}


def member_ids(okta: Replayer, group_id: str) -> set[str]:
    """The member ids of a group, read as Okta reads a group (O10)."""
    group = assert_resource(okta.get(f"/Groups/{group_id}"))
    return {member["value"] for member in group.get("members") or []}


# --- Connection and the spec test (O0, O1) -------------------------------------------------


def test_test_connection_lists_with_constant_parameters(okta: Replayer) -> None:
    """Test Connector Configuration lists users and groups with fixed paging: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-11"""
    assert assert_list(okta.get("/Users?startIndex=1&count=2"), 0) == []
    assert assert_list(okta.get("/Groups?startIndex=1&count=100"), 0) == []
    for name in ("ada", "grace", "edsger"):
        provision(okta, f"{name}@example.com", name.title(), "Tester")
    users = assert_list(okta.get("/Users?startIndex=1&count=2"), 3)
    assert len(users) == 2


def test_spec_test_discovery_endpoints(okta: Replayer) -> None:
    """The spec test's optional discovery checks, 200 on GET and 405 on POST: https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json"""
    spec: dict[str, str | None] = dict(SPEC_TEST_HEADERS)
    config = okta.get("/ServiceProviderConfig", headers=spec)
    assert config.status == 200, config
    body = config.body
    assert "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig" in body["schemas"]
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert body[feature]["supported"] in (True, False), feature
    assert body["bulk"]["maxOperations"] and body["bulk"]["maxPayloadSize"]
    assert body["filter"]["maxResults"]
    assert body["authenticationSchemes"][0]["type"]
    assert body["authenticationSchemes"][0]["description"]
    # The read-only checks send the text "test" as the body, without a User-Agent.
    no_agent: dict[str, str | None] = {**spec, "User-Agent": None}
    assert_error(
        okta.send("POST", "/ServiceProviderConfig", b"test\r\n\r\n", headers=no_agent), 405
    )
    resource_types = okta.get("/ResourceTypes", headers=spec)
    assert resource_types.status == 200, resource_types
    first = resource_types.body["Resources"][0]
    assert first["name"] and first["endpoint"] and first["schema"]
    assert_error(okta.send("POST", "/ResourceTypes", b"test", headers=spec), 405)
    schemas = okta.get("/Schemas", headers=spec)
    assert schemas.status == 200, schemas
    assert schemas.body["Resources"][0]["id"] and schemas.body["Resources"][0]["attributes"]
    assert_error(okta.send("POST", "/Schemas", b"test", headers=spec), 405)


def test_spec_test_user_checks(okta: Replayer) -> None:
    """The spec test's required user checks, steps 7 to 16 in order: https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json"""
    spec: dict[str, str | None] = dict(SPEC_TEST_HEADERS)
    provision(okta, "ada@example.com", "Ada", "Lovelace")  # the suite needs one user
    push_group(okta, "Everyone")  # and, for its last step, one group
    # 7, 8: the first user of a one-item page, then that user by id.
    listed = assert_list(okta.get("/Users?count=1&startIndex=1", headers=spec), 1)
    first = listed[0]
    assert first["name"]["familyName"] and first["name"]["givenName"]
    assert first["userName"] and first["active"] is True and first["emails"][0]["value"]
    fetched = assert_resource(okta.get(f"/Users/{first['id']}", headers=spec))
    assert fetched["id"] == first["id"] and fetched["emails"][0]["value"]
    # 9, 11: unknown userNames are an empty list, not a 404.
    for unknown in ("invalid-user@example.com", "runscope1234@example.com"):
        target = "/Users" + query(("filter", f'userName eq "{unknown}"'))
        assert_list(okta.get(target, headers=spec), 0)
    # 10: an unknown id is a 404 Error with a detail.
    assert_error(okta.get(f"/Users/{SPEC_TEST_UNKNOWN_ID}", headers=spec), 404)
    # 12, 13: the create is sent without Content-Type or User-Agent.
    create_headers: dict[str, str | None] = {
        "Content-Type": None,
        "User-Agent": None,
        "Accept": "application/scim+json; charset=utf-8",
    }
    body = {
        "schemas": [USER_URN],
        "userName": "runscope1234@example.com",
        "name": {"givenName": "Run", "familyName": "Scope"},
        "emails": [{"primary": True, "value": "runscope1234@example.com", "type": "work"}],
        "displayName": "Run Scope",
        "active": True,
    }
    created = assert_resource(okta.post("/Users", body, headers=create_headers), 201)
    assert created["active"] is True
    assert USER_URN in created["schemas"]
    assert created["userName"] == "runscope1234@example.com"
    assert created["name"] == {"givenName": "Run", "familyName": "Scope"}
    again = assert_resource(okta.get(f"/Users/{created['id']}", headers=spec))
    assert again["userName"] == "runscope1234@example.com"
    assert again["name"]["givenName"] == "Run" and again["name"]["familyName"] == "Scope"
    # 14: the same create again is a conflict.
    assert_error(okta.post("/Users", body, headers=create_headers), 409, "uniqueness")
    # 15: the 2016 suite sends the upper-cased userName as the whole filter (400);
    # later suites send a proper eq filter and only check for 200.
    bare = okta.get("/Users?filter=RUNSCOPE1234%40EXAMPLE.COM", headers=spec)
    assert_error(bare, 400, "invalidFilter")
    upper = "/Users" + query(("filter", 'userName eq "RUNSCOPE1234@EXAMPLE.COM"'))
    assert [user["id"] for user in assert_list(okta.get(upper, headers=spec), 1)] == [created["id"]]
    # 16: the groups endpoint lists at least one group in an array.
    groups = okta.get("/Groups", headers=spec)
    assert groups.status == 200, groups
    assert groups.body["totalResults"] >= 1 and isinstance(groups.body["Resources"], list)


def test_malformed_bearer_prefixes_are_401_with_a_hint(server_url: str, tenant: Tenant) -> None:
    """Okta's HTTP Header auth without "Bearer", or with it twice: https://help.sourcegraph.com/article/troubleshooting-scim-authentication-errors-with-okta"""
    for authorization in (tenant.token, f"Bearer Bearer {tenant.token}"):
        okta = Replayer(
            server_url, tenant.token, {"User-Agent": OKTA_AGENT}, authorization=authorization
        )
        error = assert_error(okta.get("/Users?startIndex=1&count=2"), 401)
        assert "Bearer" in error["detail"]


# --- Users (O2 to O8) ---------------------------------------------------------------------


def test_lookup_create_and_lookup_again(okta: Replayer) -> None:
    """Assignment: lookup (empty), create, and the next lookup finds the user: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    assert assert_list(lookup(okta, "ada@example.com"), 0) == []
    reply = okta.post(
        "/Users", okta_user("ada@example.com", "Ada", "Lovelace", "00u1abcdEFGH2345ij67")
    )
    created = assert_created(reply, "User")
    assert created["active"] is True
    assert created["userName"] == "ada@example.com"
    assert created["externalId"] == "00u1abcdEFGH2345ij67"
    assert created["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert created["emails"] == [{"value": "ada@example.com", "type": "work", "primary": True}]
    assert "password" not in created and not created.get("groups")
    found = assert_list(lookup(okta, "ada@example.com"), 1)
    assert found[0]["id"] == created["id"]
    assert found[0]["active"] is True
    assert "password" not in found[0]


def test_create_of_an_existing_user_is_409(okta: Replayer) -> None:
    """A duplicate create must be a 409 Error: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    provision(okta, "ada@example.com", "Ada", "Lovelace")
    reply = okta.post("/Users", okta_user("ada@example.com", "Ada", "Lovelace", "00u2"))
    assert_error(reply, 409, "uniqueness")


def test_unknown_ids_are_404_with_detail(okta: Replayer) -> None:
    """Okta reads a user or group by id to check it exists; unknown is a 404 Error: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    assert_error(okta.get("/Users/00000000-0000-4000-8000-000000000000"), 404)
    assert_error(okta.get("/Groups/00000000-0000-4000-8000-000000000000"), 404)


def test_profile_update_is_a_get_then_a_put(okta: Replayer) -> None:
    """Profile push: Okta reads the user, then PUTs it back changed: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    current = assert_resource(okta.get(f"/Users/{user['id']}"))
    name = {"givenName": "Ada", "middleName": "King", "familyName": "Lovelace"}
    emails = [
        {"primary": True, "value": "ada@example.com", "type": "work", "display": "ada@example.com"}
    ]
    reply = okta.put(f"/Users/{user['id']}", okta_put(current, name=name, emails=emails))
    updated = assert_resource(reply)
    assert updated["id"] == user["id"]
    assert updated["name"] == name
    assert updated["emails"] == [{**emails[0]}]
    assert updated["active"] is True
    # PUT replaces: the locale Okta no longer sends is gone.
    assert "locale" not in updated
    assert assert_resource(okta.get(f"/Users/{user['id']}")) == updated


def test_deactivate_then_reprovision_by_patch(okta: Replayer) -> None:
    """OIN apps: unassignment deactivates; re-assignment finds the user, reactivates: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    assert set_active(okta, user["id"], False)["active"] is False
    assert assert_resource(okta.get(f"/Users/{user['id']}"))["active"] is False
    # Re-assignment: the lookup still finds the deactivated user, so Okta links it.
    found = assert_list(lookup(okta, "ada@example.com"), 1)
    assert found[0]["id"] == user["id"] and found[0]["active"] is False
    assert set_active(okta, user["id"], True)["active"] is True
    assert assert_list(lookup(okta, "ada@example.com"), 1)[0]["active"] is True


def test_deactivate_then_reactivate_by_put(okta: Replayer) -> None:
    """App Integration Wizard apps send every user change, active included, as a PUT: https://developer.okta.com/docs/concepts/scim/faqs/"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    off = okta.put(f"/Users/{user['id']}", okta_put(user, active=False))
    assert assert_resource(off)["active"] is False
    assert assert_list(lookup(okta, "ada@example.com"), 1)[0]["active"] is False
    current = assert_resource(okta.get(f"/Users/{user['id']}"))
    on = okta.put(f"/Users/{user['id']}", okta_put(current, active=True))
    assert assert_resource(on)["active"] is True


def test_reprovision_by_create_after_a_lookup_miss(okta: Replayer) -> None:
    """After a lookup miss, a create of a deactivated userName reactivates it: https://developer.okta.com/docs/guides/scim-provisioning-integration-connect/main/"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    set_active(okta, user["id"], False)
    reply = okta.post("/Users", okta_user("ada@example.com", "Ada", "Lovelace", "00u3"))
    again = assert_created(reply, "User")
    assert again["id"] == user["id"]
    assert again["active"] is True
    assert assert_list(lookup(okta, "ada@example.com"), 1)[0]["active"] is True


def test_import_pages_through_users_by_100(okta: Replayer) -> None:
    """Import lists users with startIndex=1, 101, ... and count=100 until totalResults: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    created = {user["id"] for user in provision_many(okta, 105)}
    seen: list[str] = []
    for start in (1, 101):
        reply = okta.get(f"/Users?startIndex={start}&count=100")
        page = assert_list(reply, 105, start_index=start)
        assert len(page) == (100 if start == 1 else 5)
        seen.extend(user["id"] for user in page)
    assert len(seen) == len(set(seen)) == 105
    assert set(seen) == created


# --- Groups (O9 to O13) ------------------------------------------------------------------


def test_group_push_life_cycle(okta: Replayer) -> None:
    """Push Groups: create, push members one PATCH at a time, rename, unlink and delete: https://help.okta.com/en-us/Content/Topics/users-groups-profiles/usgp-enable-group-push.htm"""
    ada = provision(okta, "ada@example.com", "Ada", "Lovelace")
    grace = provision(okta, "grace@example.com", "Grace", "Hopper")
    group = push_group(okta, "Engineering")
    gid = group["id"]
    assert not group.get("members")
    assert assert_resource(okta.get(f"/Groups/{gid}"))["displayName"] == "Engineering"
    # Each membership push carries the (unchanged) name with the group's id.
    patch_group(okta, gid, rename_op(gid, "Engineering"), add_op((ada["id"], ada["userName"])))
    assert member_ids(okta, gid) == {ada["id"]}
    patch_group(okta, gid, remove_op(ada["id"]), add_op((grace["id"], grace["userName"])))
    assert member_ids(okta, gid) == {grace["id"]}
    patch_group(okta, gid, rename_op(gid, "Engineering EU"))
    renamed = assert_resource(okta.get(f"/Groups/{gid}"))
    assert renamed["displayName"] == "Engineering EU"
    assert {member["value"] for member in renamed["members"]} == {grace["id"]}
    # Push Now of a group emptied in Okta.
    patch_group(okta, gid, {"op": "replace", "path": "members", "value": []})
    assert member_ids(okta, gid) == set()
    # Unlink → "Delete the group in the target app".
    assert okta.delete(f"/Groups/{gid}").status == 204
    assert_error(okta.get(f"/Groups/{gid}"), 404)
    assert assert_list(okta.get("/Groups?startIndex=1&count=100"), 0) == []
    # The members stay.
    for user in (ada, grace):
        assert assert_resource(okta.get(f"/Users/{user['id']}"))["active"] is True


def test_group_create_with_members(okta: Replayer) -> None:
    """Group Push may send members in the create body: https://github.com/oktadeveloper/okta-blog-archive/pull/701"""
    ada = provision(okta, "ada@example.com", "Ada", "Lovelace")
    grace = provision(okta, "grace@example.com", "Grace", "Hopper")
    group = push_group(okta, "Engineering", [ada["id"], grace["id"]])
    assert {member["value"] for member in group["members"]} == {ada["id"], grace["id"]}
    assert member_ids(okta, group["id"]) == {ada["id"], grace["id"]}


def test_group_create_with_a_taken_name_is_409(okta: Replayer) -> None:
    """A pushed group whose name exists must be linked instead; the create is a 409: https://help.okta.com/en-us/Content/Topics/users-groups-profiles/usgp-enable-group-push.htm"""
    push_group(okta, "Engineering")
    body = {"schemas": [GROUP_URN], "displayName": "Engineering", "members": []}
    assert_error(okta.post("/Groups", body), 409, "uniqueness")


def test_link_group_lists_groups_by_pages(okta: Replayer) -> None:
    """Refresh App Groups pages through /Groups with count=100 to offer groups to link: https://help.okta.com/oie/en-us/Content/Topics/users-groups-profiles/usgp-configure-enhanced-group-push.htm"""
    ids = {push_group(okta, name)["id"] for name in ("Engineering", "Sales", "Support")}
    listed = assert_list(okta.get("/Groups?startIndex=1&count=100"), 3)
    assert {group["id"] for group in listed} == ids
    assert {group["displayName"] for group in listed} == {"Engineering", "Sales", "Support"}


def test_push_of_256_members_in_one_patch(okta: Replayer) -> None:
    """Pushing a large group sends up to 256 members in one PATCH: https://github.com/ory/polis/pull/4080"""
    users = provision_many(okta, 256)
    gid = push_group(okta, "Everyone")["id"]
    members = [(user["id"], user["userName"]) for user in users]
    patch_group(okta, gid, rename_op(gid, "Everyone"), add_op(*members))
    assert member_ids(okta, gid) == {user["id"] for user in users}


def test_aiw_group_updates_are_puts(okta: Replayer) -> None:
    """App Integration Wizard apps rename and change members with a whole PUT: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    ada = provision(okta, "ada@example.com", "Ada", "Lovelace")
    grace = provision(okta, "grace@example.com", "Grace", "Hopper")
    gid = push_group(okta, "Engineering", [ada["id"]])["id"]
    body = {
        "schemas": [GROUP_URN],
        "id": gid,
        "displayName": "Engineering EU",
        "members": [{"value": grace["id"], "display": grace["userName"]}],
    }
    replaced = assert_resource(okta.put(f"/Groups/{gid}", body))
    assert replaced["displayName"] == "Engineering EU"
    assert member_ids(okta, gid) == {grace["id"]}


# --- Provider detection -----------------------------------------------------------------


def test_organization_records_okta(okta: Replayer, database: Database, tenant: Tenant) -> None:
    """Okta's User-Agent marks the organization as provisioned by Okta: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-11"""
    assert detected_idp(database, tenant.name) is None
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    set_active(okta, user["id"], False)
    assert_resource(okta.get(f"/Users/{user['id']}"))
    push_group(okta, "Engineering")
    assert_list(okta.get("/Groups?startIndex=1&count=100"), 1)
    assert detected_idp(database, tenant.name) == "okta"


# --- One test per quirk -------------------------------------------------------------------


def test_quirk_pathless_replace_of_active_deactivates(okta: Replayer) -> None:
    """{"op": "replace", "value": {"active": false}} deactivates: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    body = patch_op({"op": "replace", "value": {"active": False}})
    deactivated = assert_resource(okta.patch(f"/Users/{user['id']}", body))
    assert deactivated["active"] is False
    assert deactivated["userName"] == "ada@example.com"
    assert deactivated["name"] == {"givenName": "Ada", "familyName": "Lovelace"}


def test_quirk_replace_members_with_an_empty_list_clears_the_group(okta: Replayer) -> None:
    """Push Now of an empty Okta group: replace members with []: https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/757"""
    ada = provision(okta, "ada@example.com", "Ada", "Lovelace")
    grace = provision(okta, "grace@example.com", "Grace", "Hopper")
    gid = push_group(okta, "Engineering", [ada["id"], grace["id"]])["id"]
    patch_group(okta, gid, {"op": "replace", "path": "members", "value": []})
    assert member_ids(okta, gid) == set()
    assert assert_resource(okta.get(f"/Groups/{gid}"))["displayName"] == "Engineering"


def test_quirk_one_member_per_patch(okta: Replayer) -> None:
    """Day-to-day membership changes arrive one member per PATCH: https://github.com/okta/okta-developer-docs/pull/2105"""
    users = [provision(okta, f"user{i}@example.com", "User", f"N{i}") for i in range(3)]
    gid = push_group(okta, "Engineering")["id"]
    # (Okta also repeats the rename of O11 in each; that quirk has its own test.)
    for user in users:
        patch_group(okta, gid, add_op((user["id"], user["userName"])))
        assert user["id"] in member_ids(okta, gid)
    assert member_ids(okta, gid) == {user["id"] for user in users}
    patch_group(okta, gid, remove_op(users[1]["id"]))
    assert member_ids(okta, gid) == {users[0]["id"], users[2]["id"]}
    # Removing someone who is not a member succeeds and changes nothing.
    patch_group(okta, gid, remove_op(users[1]["id"]))
    assert member_ids(okta, gid) == {users[0]["id"], users[2]["id"]}


def test_quirk_lookup_with_start_index_and_count(okta: Replayer) -> None:
    """userName eq "..." URL-encoded with %20, %22 and %40, plus startIndex=1&count=100: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    target = "/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100"
    assert assert_list(okta.get(target), 0) == []
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    provision(okta, "grace@example.com", "Grace", "Hopper")
    found = assert_list(okta.get(target), 1)
    assert [match["id"] for match in found] == [user["id"]]


def test_quirk_reprovision_of_a_deactivated_user(okta: Replayer) -> None:
    """After deactivation the lookup still finds the user; a create reactivates it: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    set_active(okta, user["id"], False)
    found = assert_list(lookup(okta, "ada@example.com"), 1)
    assert found[0]["id"] == user["id"] and found[0]["active"] is False
    reply = okta.post("/Users", okta_user("ada@example.com", "Ada", "Lovelace", "00u4"))
    assert assert_created(reply, "User")["id"] == user["id"]


def test_quirk_pathless_rename_carrying_the_group_id(okta: Replayer) -> None:
    """The rename carries the read-only id, and is repeated unchanged with each push: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    gid = push_group(okta, "Engineering")["id"]
    for _ in range(2):
        patch_group(okta, gid, rename_op(gid, "Engineering EU"))
        group = assert_resource(okta.get(f"/Groups/{gid}"))
        assert group["id"] == gid and group["displayName"] == "Engineering EU"


def test_quirk_read_only_attributes_in_a_put_are_ignored(okta: Replayer) -> None:
    """Okta's PUT echoes id, meta and an empty groups list: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    body = okta_put(user, meta={"resourceType": "User", "version": 'W/"999"'}, groups=[])
    updated = assert_resource(okta.put(f"/Users/{user['id']}", body))
    assert updated["id"] == user["id"]
    assert updated["meta"]["resourceType"] == "User"
    assert updated["meta"]["version"] != 'W/"999"'
    assert not updated.get("groups")


def test_quirk_password_is_never_echoed(okta: Replayer) -> None:
    """Okta sends a (random or synced) password on create and on password push: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20"""
    user = provision(okta, "ada@example.com", "Ada", "Lovelace")
    assert "password" not in user
    push = patch_op({"op": "replace", "value": {"password": "n3wPassw0rd"}})
    replies = [
        okta.patch(f"/Users/{user['id']}", push),
        okta.get(f"/Users/{user['id']}"),
        lookup(okta, "ada@example.com"),
    ]
    for reply in replies:
        assert reply.status == 200, reply
        assert "password" not in reply.text
        assert "Passw0rd" not in reply.text


def test_quirk_body_with_a_charset_parameter(server_url: str, tenant: Tenant) -> None:
    """Okta's bodies are application/scim+json; charset=utf-8: https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json"""
    okta = Replayer(server_url, tenant.token, {"User-Agent": OKTA_AGENT})
    content_types = ("application/scim+json; charset=utf-8", "application/json; charset=UTF-8")
    for index, content_type in enumerate(content_types):
        user_name = f"ada{index}@example.com"
        body = okta_user(user_name, "Ada", "Lovelace", f"00u5{index}")
        reply = okta.post("/Users", body, headers={"Content-Type": content_type})
        assert assert_created(reply, "User")["userName"] == user_name
