"""Microsoft Entra ID's provisioning traffic, replayed as Entra sends it.

The spec is docs/idp/quirks-okta-entra.md, shapes E0-E15. Entra sends no User-Agent
(none is documented; nothing may depend on one), bodies as ``application/scim+json;
charset=utf-8`` and query strings with ``+`` for spaces. It matches users and groups
by filter before creating them, caches the ``id`` of what it created, disables users
by PATCHing ``active`` and hard-deletes them only 30 days later; it creates groups
empty and sends members by PATCH.

Its PATCH dialect comes in two forms: the legacy one (capitalized ops, one operation per
attribute, booleans as the strings "True"/"False", member removal given as ``value``)
and the compliant one a tenant opts into with the ``aadOptscim062020`` flag (lower-case
ops, single-valued changes folded into one pathless operation keyed by attribute
paths). Both are replayed.

The life-cycle tests replay Entra's requests whole. The quirk tests (``test_quirk_*``)
each isolate one departure from RFC 7644 and send everything else in RFC form, so that
dropping one rule of the quirk layer fails one test.
"""

import uuid
from typing import Any

import pytest

from scimgate.storage.database import Database
from tests.conftest import Tenant
from tests.idp.replay import (
    ENTERPRISE_URN,
    GROUP_URN,
    USER_URN,
    Replayer,
    Reply,
    assert_created,
    assert_error,
    assert_list,
    assert_no_content,
    assert_no_content_or_resource,
    assert_resource,
    detected_idp,
    patch_op,
    query,
)

MICROSOFT_GROUP_URN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
# Test Connection looks up a random GUID as a userName (E1).
PROBE_GUID = "3f2c8f7e-5a41-4f0b-9d7e-2f6a1c9b0d12"
UNKNOWN_ID = "5c4e7b0a-1f0e-4a52-8f57-6d3b9a2f4e11"


@pytest.fixture
def entra(server_url: str, tenant: Tenant) -> Replayer:
    """Entra's provisioning service: no User-Agent, no Accept, SCIM JSON bodies."""
    return Replayer(
        server_url, tenant.token, {}, content_type="application/scim+json; charset=utf-8"
    )


def entra_user(user_name: str, given: str, family: str, object_id: str) -> dict[str, Any]:
    """E3: the body Entra POSTs for a user in scope, with Microsoft's example's extras."""
    return {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": object_id,
        "userName": user_name,
        "active": True,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "phoneNumbers": [{"type": "mobile", "value": "+1 206 555 0100"}],
        "roles": [],
        ENTERPRISE_URN: {"employeeNumber": "1042", "department": "R&D"},
    }


def lookup(entra: Replayer, attribute: str, value: str) -> Reply:
    """E2: ``GET /Users?filter=<attribute> eq "<value>"``, spaces sent as ``+``."""
    return entra.get("/Users" + query(("filter", f'{attribute} eq "{value}"'), plus=True))


def group_lookup(entra: Replayer, name: str) -> Reply:
    """E9: ``GET /Groups?excludedAttributes=members&filter=displayName eq "<name>"``."""
    pairs = (("excludedAttributes", "members"), ("filter", f'displayName eq "{name}"'))
    return entra.get("/Groups" + query(*pairs, plus=True))


def provision(entra: Replayer, user_name: str, given: str, family: str) -> dict[str, Any]:
    """E2 then E3: match on userName, find nothing, create; return the created user."""
    assert_list(lookup(entra, "userName", user_name), 0)
    object_id = str(uuid.uuid5(uuid.NAMESPACE_URL, user_name))  # stands for Entra's objectId
    return assert_created(
        entra.post("/Users", entra_user(user_name, given, family, object_id)), "User"
    )


def patch_user(entra: Replayer, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    """PATCH a user; Entra takes 200 (resource optional) or 204. Return the user as read back."""
    assert_no_content_or_resource(entra.patch(f"/Users/{user_id}", patch_op(*operations)))
    return assert_resource(entra.get(f"/Users/{user_id}"))


def create_group(entra: Replayer, name: str, object_id: str) -> dict[str, Any]:
    """E9 then E10: match on displayName, find nothing, create it empty; return it."""
    assert_list(group_lookup(entra, name), 0)
    body = {
        "schemas": [GROUP_URN, MICROSOFT_GROUP_URN],
        "externalId": object_id,
        "displayName": name,
        "meta": {"resourceType": "Group"},
    }
    created = assert_created(entra.post("/Groups", body), "Group")
    assert created["displayName"] == name and not created.get("members")
    return created


def patch_group(entra: Replayer, group_id: str, *operations: dict[str, Any]) -> None:
    """A group PATCH Entra counts as done: 204 (preferred, and what it gets) or 200."""
    assert_no_content(entra.patch(f"/Groups/{group_id}", patch_op(*operations)))


def member_ids(entra: Replayer, group_id: str) -> set[str]:
    """The member ids of a group, read in full."""
    group = assert_resource(entra.get(f"/Groups/{group_id}"))
    return {member["value"] for member in group.get("members") or []}


def work_email(user: dict[str, Any]) -> str:
    """The value of a user's work email."""
    values = [email["value"] for email in user.get("emails", []) if email.get("type") == "work"]
    assert len(values) == 1, user
    return str(values[0])


# --- Test connection (E0, E1) ----------------------------------------------------------


def test_test_connection_finds_no_user_and_no_group(entra: Replayer) -> None:
    """Test Connection looks up a random GUID and must get an empty 200 list: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    # As captured in https://github.com/MicrosoftDocs/azure-docs/issues/94189:
    # GET /scim/Users?filter=userName+eq+%22<guid>%22, with no Content-Type.
    assert assert_list(entra.get(f"/Users?filter=userName+eq+%22{PROBE_GUID}%22"), 0) == []
    assert assert_list(group_lookup(entra, PROBE_GUID), 0) == []


def test_missing_secret_token_sends_a_jwt_and_gets_401(entra: Replayer, server_url: str) -> None:
    """With Secret Token left empty Entra sends a JWT of its own: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiI4YWExYTBjMCJ9.c2lnbmF0dXJl"
    foreign = Replayer(server_url, "unused", {}, authorization=f"Bearer {jwt}")
    assert_error(foreign.get(f"/Users?filter=userName+eq+%22{PROBE_GUID}%22"), 401)


# --- Users (E2 to E8) ------------------------------------------------------------------


def test_match_create_and_match_again(entra: Replayer) -> None:
    """Entra matches on an attribute, creates on no match, and caches the id: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works"""
    assert assert_list(lookup(entra, "userName", "ada@example.com"), 0) == []
    object_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    created = assert_created(
        entra.post("/Users", entra_user("ada@example.com", "Ada", "Lovelace", object_id)), "User"
    )
    assert created["active"] is True
    assert created["userName"] == "ada@example.com"
    assert created["externalId"] == object_id
    assert created[ENTERPRISE_URN] == {"employeeNumber": "1042", "department": "R&D"}
    assert created["phoneNumbers"] == [{"type": "mobile", "value": "+1 206 555 0100"}]
    for attribute, value in (
        ("userName", "ada@example.com"),
        ("externalId", object_id),
        ('emails[type eq "work"].value', "ada@example.com"),
    ):
        found = assert_list(lookup(entra, attribute, value), 1)
        assert [user["id"] for user in found] == [created["id"]], attribute
    fetched = assert_resource(entra.get(f"/Users/{created['id']}"))
    assert fetched["id"] == created["id"] and fetched["userName"] == "ada@example.com"


def test_create_of_an_existing_user_is_409(entra: Replayer) -> None:
    """A create that collides with an existing userName is a 409 Error: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    provision(entra, "ada@example.com", "Ada", "Lovelace")
    body = entra_user("ada@example.com", "Ada", "Lovelace", "0a21f0f2-0000-4f8e-bf98-000000000001")
    assert_error(entra.post("/Users", body), 409, "uniqueness")


def test_invalid_value_is_400_with_a_detail_for_the_provisioning_log(entra: Replayer) -> None:
    """Entra shows the detail of a 4xx in its provisioning logs: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    body = entra_user("ada@example.com", "Ada", "Lovelace", "0a21f0f2-0000-4f8e-bf98-000000000002")
    body["userName"] = "ada.lovelace"  # mailNickname mapped to userName: not an email
    error = assert_error(entra.post("/Users", body), 400, "invalidValue")
    assert "userName" in error["detail"]


def test_unknown_ids_are_404(entra: Replayer) -> None:
    """A cached id that no longer exists answers 404 on every verb: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    disable = patch_op({"op": "Replace", "path": "active", "value": "False"})
    assert_error(entra.get(f"/Users/{UNKNOWN_ID}"), 404)
    assert_error(entra.patch(f"/Users/{UNKNOWN_ID}", disable), 404)
    assert_error(entra.delete(f"/Users/{UNKNOWN_ID}"), 404)
    rename = patch_op({"op": "Replace", "path": "displayName", "value": "Engineering"})
    assert_error(entra.get(f"/Groups/{UNKNOWN_ID}?excludedAttributes=members"), 404)
    assert_error(entra.patch(f"/Groups/{UNKNOWN_ID}", rename), 404)
    assert_error(entra.delete(f"/Groups/{UNKNOWN_ID}"), 404)


def test_legacy_update_sends_one_operation_per_attribute(entra: Replayer) -> None:
    """Without the flag: capitalized ops, Add for empty and Replace for changed attributes: https://github.com/limosa-io/laravel-scim-server/issues/34"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    updated = patch_user(
        entra,
        user["id"],
        {"op": "Replace", "path": "displayName", "value": "Ada King"},
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "ada.king@example.com",
        },
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "Replace", "path": "externalId", "value": "akl"},
        {"op": "Add", "path": f"{ENTERPRISE_URN}:department", "value": "Retail"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
    )
    assert updated["displayName"] == "Ada King"
    assert work_email(updated) == "ada.king@example.com"
    assert updated["name"]["givenName"] == "Augusta"
    assert updated["name"]["familyName"] == "Lovelace"
    assert updated["externalId"] == "akl"
    assert updated[ENTERPRISE_URN] == {"employeeNumber": "1042", "department": "Retail"}
    assert updated["nickName"] == "Babs"
    assert updated["userName"] == "ada@example.com"
    assert updated["active"] is True


def test_compliant_update_folds_attributes_into_one_pathless_replace(entra: Replayer) -> None:
    """With aadOptscim062020: value paths apart, the rest in one pathless replace keyed by paths: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    updated = patch_user(
        entra,
        user["id"],
        {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": "ada.king@example.com",
        },
        {
            "op": "replace",
            "value": {
                "displayName": "Ada King",
                "name.givenName": "Augusta",
                "name.familyName": "King",
                f"{ENTERPRISE_URN}:employeeNumber": "1043",
            },
        },
    )
    assert updated["displayName"] == "Ada King"
    assert work_email(updated) == "ada.king@example.com"
    assert updated["name"]["givenName"] == "Augusta"
    assert updated["name"]["familyName"] == "King"
    assert updated[ENTERPRISE_URN] == {"employeeNumber": "1043", "department": "R&D"}
    # The dotted keys are paths, not attribute names of their own.
    assert "name.givenName" not in updated and "name.givenName" not in updated["name"]


# (op, value that disables, value that enables), as each form sends them.
ACTIVE_FORMS = [
    pytest.param("Replace", "False", "True", id="legacy"),
    pytest.param("Replace", "false", "true", id="legacy-lower-case"),
    pytest.param("Replace", False, True, id="tutorial"),
    pytest.param("replace", False, True, id="compliant"),
]


@pytest.mark.parametrize(("op", "off", "on"), ACTIVE_FORMS)
def test_disable_then_reactivate(entra: Replayer, op: str, off: Any, on: Any) -> None:
    """Unassignment disables and re-assignment re-enables by PATCH of active, in each form: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    disabled = patch_user(entra, user["id"], {"op": op, "path": "active", "value": off})
    assert disabled["active"] is False
    # Microsoft's validator, and Entra after a restart, still find the disabled user.
    found = assert_list(lookup(entra, "userName", "ada@example.com"), 1)
    assert found[0]["id"] == user["id"] and found[0]["active"] is False
    enabled = patch_user(entra, user["id"], {"op": op, "path": "active", "value": on})
    assert enabled["active"] is True
    assert enabled["userName"] == "ada@example.com" and enabled["displayName"] == "Ada Lovelace"


def test_hard_delete(entra: Replayer) -> None:
    """30 days after a soft delete (or at once) Entra deletes the user; 204, then 404: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    patch_user(entra, user["id"], {"op": "Replace", "path": "active", "value": "False"})
    reply = entra.delete(f"/Users/{user['id']}")
    assert reply.status == 204, reply
    assert reply.text == ""
    assert_error(entra.get(f"/Users/{user['id']}"), 404)
    assert assert_list(lookup(entra, "userName", "ada@example.com"), 0) == []
    assert_error(entra.delete(f"/Users/{user['id']}"), 404)


# --- Groups (E9 to E14) ----------------------------------------------------------------


def test_group_life_cycle(entra: Replayer) -> None:
    """Match, create empty, add and remove members, rename, delete: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    ada = provision(entra, "ada@example.com", "Ada", "Lovelace")
    grace = provision(entra, "grace@example.com", "Grace", "Hopper")
    edsger = provision(entra, "edsger@example.com", "Edsger", "Dijkstra")
    group = create_group(entra, "Engineering", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
    gid = group["id"]
    found = assert_list(group_lookup(entra, "Engineering"), 1)
    assert found[0]["id"] == gid
    # E11: several members in one Add, "$ref" null.
    patch_group(
        entra,
        gid,
        {
            "op": "Add",
            "path": "members",
            "value": [
                {"$ref": None, "value": ada["id"]},
                {"$ref": None, "value": grace["id"]},
                {"value": edsger["id"]},
            ],
        },
    )
    assert member_ids(entra, gid) == {ada["id"], grace["id"], edsger["id"]}
    # Adding a member already there succeeds.
    patch_group(
        entra, gid, {"op": "Add", "path": "members", "value": [{"$ref": None, "value": ada["id"]}]}
    )
    assert member_ids(entra, gid) == {ada["id"], grace["id"], edsger["id"]}
    # E9: reads that leave the members out.
    assert "members" not in assert_resource(entra.get(f"/Groups/{gid}?excludedAttributes=members"))
    assert "members" not in assert_list(group_lookup(entra, "Engineering"), 1)[0]
    # E12 legacy: the members to remove are the value of a Remove.
    patch_group(
        entra,
        gid,
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": ada["id"]}]},
    )
    assert member_ids(entra, gid) == {grace["id"], edsger["id"]}
    # E12 with the flag: a value filter.
    patch_group(entra, gid, {"op": "remove", "path": f'members[value eq "{grace["id"]}"]'})
    assert member_ids(entra, gid) == {edsger["id"]}
    # E13
    patch_group(entra, gid, {"op": "Replace", "path": "displayName", "value": "Engineering EU"})
    assert assert_list(group_lookup(entra, "Engineering EU"), 1)[0]["id"] == gid
    assert assert_list(group_lookup(entra, "Engineering"), 0) == []
    # E14: the users stay.
    reply = entra.delete(f"/Groups/{gid}")
    assert reply.status == 204, reply
    assert_error(entra.get(f"/Groups/{gid}?excludedAttributes=members"), 404)
    assert assert_list(group_lookup(entra, "Engineering EU"), 0) == []
    for user in (ada, grace, edsger):
        assert assert_resource(entra.get(f"/Users/{user['id']}"))["active"] is True


def test_group_name_taken_is_409(entra: Replayer) -> None:
    """Entra matches groups on displayName, so names are unique: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    create_group(entra, "Engineering", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
    body = {
        "schemas": [GROUP_URN, MICROSOFT_GROUP_URN],
        "externalId": "9bb2b1d1-d5d4-4cd1-c5b6-3f0787a1026a",
        "displayName": "Engineering",
        "meta": {"resourceType": "Group"},
    }
    assert_error(entra.post("/Groups", body), 409, "uniqueness")


# --- Provider detection ----------------------------------------------------------------


def test_organization_records_entra(entra: Replayer, database: Database, tenant: Tenant) -> None:
    """Entra, which sends no User-Agent, is recorded on the organization: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    assert detected_idp(database, tenant.name) is None
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    patch_user(entra, user["id"], {"op": "Replace", "path": "active", "value": "False"})
    gid = create_group(entra, "Engineering", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")["id"]
    patch_group(entra, gid, {"op": "Add", "path": "members", "value": [{"value": user["id"]}]})
    assert detected_idp(database, tenant.name) == "entra"


# --- One test per quirk ----------------------------------------------------------------


def test_quirk_booleans_sent_as_strings(entra: Replayer) -> None:
    """active arrives as "True" / "False": https://github.com/AzureAD/SCIMReferenceCode/issues/21"""
    body = entra_user("ada@example.com", "Ada", "Lovelace", "0a21f0f2-0000-4f8e-bf98-000000000003")
    body["active"] = "True"
    user = assert_created(entra.post("/Users", body), "User")
    assert user["active"] is True
    for sent, stored in (("False", False), ("True", True)):
        operation = {"op": "replace", "path": "active", "value": sent}
        assert patch_user(entra, user["id"], operation)["active"] is stored


def test_quirk_capitalized_op_names(entra: Replayer) -> None:
    """op is "Add", "Replace" or "Remove": https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    updated = patch_user(
        entra,
        user["id"],
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": "title", "value": "Countess"},
    )
    assert updated["nickName"] == "Babs" and updated["title"] == "Countess"
    removed = patch_user(entra, user["id"], {"op": "Remove", "path": "nickName"})
    assert "nickName" not in removed and removed["title"] == "Countess"


def test_quirk_add_sets_single_valued_attributes(entra: Replayer) -> None:
    """An add on a single-valued attribute, active included, sets it: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    updated = patch_user(
        entra,
        user["id"],
        {"op": "add", "path": "displayName", "value": "Ada King"},
        {"op": "add", "path": "active", "value": False},
        {"op": "add", "path": f"{ENTERPRISE_URN}:department", "value": "Retail"},
    )
    assert updated["displayName"] == "Ada King"
    assert updated["active"] is False
    assert updated[ENTERPRISE_URN]["department"] == "Retail"


def test_quirk_pathless_operation_keyed_by_attribute_paths(entra: Replayer) -> None:
    """Pathless replace and add whose keys are dotted paths, active among them: https://github.com/pond/scimitar/issues/123"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    replaced = patch_user(
        entra,
        user["id"],
        {"op": "replace", "value": {"name.givenName": "Augusta", "name.familyName": "King"}},
    )
    assert replaced["name"]["givenName"] == "Augusta"
    assert replaced["name"]["familyName"] == "King"
    # https://github.com/AzureAD/SCIMReferenceCode/issues/97: active among the keys.
    added = patch_user(
        entra,
        user["id"],
        {
            "op": "add",
            "value": {"name.formatted": "Augusta Ada King", "title": "Countess", "active": False},
        },
    )
    assert added["name"]["formatted"] == "Augusta Ada King"
    assert added["name"]["givenName"] == "Augusta"
    assert added["title"] == "Countess"
    assert added["active"] is False


def test_quirk_pathless_operation_keyed_by_a_value_path(entra: Replayer) -> None:
    """A pathless replace whose key is a value path, emails[type eq "work"].value: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility"""
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    updated = patch_user(
        entra,
        user["id"],
        {
            "op": "replace",
            "value": {'emails[type eq "work"].value': "ada.king@example.com", "title": "Countess"},
        },
    )
    assert work_email(updated) == "ada.king@example.com"
    assert len(updated["emails"]) == 1
    assert updated["title"] == "Countess"


@pytest.mark.parametrize(
    ("path", "value", "attribute", "entry"),
    [
        pytest.param(
            'emails[type eq "work"].value',
            "ada.work@example.com",
            "emails",
            {"type": "work", "value": "ada.work@example.com"},
            id="work-email",
        ),
        pytest.param(
            'phoneNumbers[type eq "mobile"].value',
            "+1 206 555 0100",
            "phoneNumbers",
            {"type": "mobile", "value": "+1 206 555 0100"},
            id="mobile-phone",
        ),
        pytest.param(
            'addresses[type eq "work"].formatted',
            "1 Microsoft Way, Redmond, WA 98052",
            "addresses",
            {"type": "work", "formatted": "1 Microsoft Way, Redmond, WA 98052"},
            id="work-address",
        ),
    ],
)
def test_quirk_add_to_a_value_path_creates_the_missing_entry(
    entra: Replayer, path: str, value: str, attribute: str, entry: dict[str, Any]
) -> None:
    """An add to a value path that selects no entry yet creates that entry: https://github.com/wireapp/wire-server/pull/5419"""
    body = {"schemas": [USER_URN], "userName": "ada@example.com", "active": True}
    user = assert_created(entra.post("/Users", body), "User")
    assert attribute not in user
    updated = patch_user(entra, user["id"], {"op": "add", "path": path, "value": value})
    entries = updated[attribute]
    assert len(entries) == 1, updated
    assert {key: entries[0].get(key) for key in entry} == entry


def test_quirk_member_removal_given_as_value(entra: Replayer) -> None:
    """remove members with the members to remove as value removes only those: https://github.com/simpleidserver/SimpleIdServer/issues/244"""
    ada = provision(entra, "ada@example.com", "Ada", "Lovelace")
    grace = provision(entra, "grace@example.com", "Grace", "Hopper")
    gid = create_group(entra, "Engineering", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")["id"]
    value = [{"value": ada["id"]}, {"value": grace["id"]}]
    patch_group(entra, gid, {"op": "add", "path": "members", "value": value})
    patch_group(entra, gid, {"op": "remove", "path": "members", "value": [{"value": ada["id"]}]})
    assert member_ids(entra, gid) == {grace["id"]}


def test_quirk_manager_as_a_plain_string_in_a_patch(entra: Replayer) -> None:
    """The enterprise manager arrives as the manager's id alone: https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/686"""
    boss = provision(entra, "grace@example.com", "Grace", "Hopper")
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    path = f"{ENTERPRISE_URN}:manager"
    updated = patch_user(entra, user["id"], {"op": "add", "path": path, "value": boss["id"]})
    assert updated[ENTERPRISE_URN]["manager"]["value"] == boss["id"]


def test_quirk_manager_as_a_plain_string_in_a_create(entra: Replayer) -> None:
    """A create whose enterprise manager is the manager's id alone: https://github.com/apache/directory-scimple/pull/1244"""
    boss = provision(entra, "grace@example.com", "Grace", "Hopper")
    body = entra_user("ada@example.com", "Ada", "Lovelace", "0a21f0f2-0000-4f8e-bf98-000000000004")
    body[ENTERPRISE_URN]["manager"] = boss["id"]
    created = assert_created(entra.post("/Users", body), "User")
    assert created[ENTERPRISE_URN]["manager"]["value"] == boss["id"]
    fetched = assert_resource(entra.get(f"/Users/{created['id']}"))
    assert fetched[ENTERPRISE_URN]["manager"]["value"] == boss["id"]


def test_quirk_requests_without_a_user_agent(entra: Replayer) -> None:
    """Entra documents no User-Agent; every request works without one: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    assert "User-Agent" not in entra.headers
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    assert assert_resource(entra.get(f"/Users/{user['id']}"))["id"] == user["id"]
    disable = {"op": "replace", "path": "active", "value": False}
    assert patch_user(entra, user["id"], disable)["active"] is False
    assert entra.delete(f"/Users/{user['id']}").status == 204


def test_quirk_excluded_attributes_members_on_group_reads(entra: Replayer) -> None:
    """Group reads ask for excludedAttributes=members: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    ada = provision(entra, "ada@example.com", "Ada", "Lovelace")
    gid = create_group(entra, "Engineering", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")["id"]
    patch_group(entra, gid, {"op": "add", "path": "members", "value": [{"value": ada["id"]}]})
    one = assert_resource(entra.get(f"/Groups/{gid}?excludedAttributes=members"))
    assert "members" not in one and one["displayName"] == "Engineering"
    listed = assert_list(group_lookup(entra, "Engineering"), 1)
    assert "members" not in listed[0] and listed[0]["id"] == gid
    assert member_ids(entra, gid) == {ada["id"]}


def test_quirk_plus_for_spaces_in_the_query(entra: Replayer) -> None:
    """Filters arrive form-encoded, spaces as +: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    # Captured: GET /scim/Users?filter=userName+eq+%22<guid>%22
    # (https://github.com/MicrosoftDocs/azure-docs/issues/94189).
    user = provision(entra, "ada@example.com", "Ada", "Lovelace")
    found = assert_list(entra.get("/Users?filter=userName+eq+%22ada%40example.com%22"), 1)
    assert found[0]["id"] == user["id"]
    none = entra.get("/Groups?excludedAttributes=members&filter=displayName+eq+%22No+Such+Group%22")
    assert assert_list(none, 0) == []


def test_quirk_microsoft_group_schema_is_ignored(entra: Replayer) -> None:
    """Group creates carry Microsoft's ADSCIM schema URN besides the core one: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    body = {
        "schemas": [GROUP_URN, MICROSOFT_GROUP_URN],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Engineering",
    }
    created = assert_created(entra.post("/Groups", body), "Group")
    assert created["schemas"] == [GROUP_URN]
    assert created["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"


def test_quirk_meta_and_empty_roles_in_a_create(entra: Replayer) -> None:
    """Microsoft's create body carries meta and an empty roles list: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    body = {
        "schemas": [USER_URN],
        "userName": "ada@example.com",
        "active": True,
        "meta": {"resourceType": "User"},
        "roles": [],
    }
    created = assert_created(entra.post("/Users", body), "User")
    assert created["meta"]["resourceType"] == "User" and created["meta"]["version"]
    assert not created.get("roles")


def test_quirk_compliance_flag_in_the_query_is_ignored(entra: Replayer) -> None:
    """aadOptscim062020 is appended to the tenant URL as a query parameter: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility"""
    target = "/Users?aadOptscim062020&filter=userName+eq+%22ada%40example.com%22"
    assert assert_list(entra.get(target), 0) == []
    body = entra_user("ada@example.com", "Ada", "Lovelace", "0a21f0f2-0000-4f8e-bf98-000000000005")
    user = assert_created(entra.post("/Users?aadOptscim062020", body), "User")
    assert [found["id"] for found in assert_list(entra.get(target), 1)] == [user["id"]]
    disable = patch_op({"op": "replace", "path": "active", "value": False})
    reply = entra.patch(f"/Users/{user['id']}?aadOptscim062020", disable)
    assert_no_content_or_resource(reply)
    assert assert_resource(entra.get(f"/Users/{user['id']}"))["active"] is False


def test_quirk_null_ref_in_members(entra: Replayer) -> None:
    """Member values carry "$ref": null: https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups"""
    ada = provision(entra, "ada@example.com", "Ada", "Lovelace")
    gid = create_group(entra, "Engineering", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")["id"]
    value = [{"$ref": None, "value": ada["id"]}]
    patch_group(entra, gid, {"op": "add", "path": "members", "value": value})
    assert member_ids(entra, gid) == {ada["id"]}
