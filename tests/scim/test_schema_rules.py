"""Schema rules over HTTP: attribute-name case, mutability, primary, canonical values,
required sub-attributes (RFC 7643 §2 and §7, RFC 7644 §3.5)."""

from typing import Any

import pytest

from tests.conftest import Tenant, assert_scim_error, group_body, patch_body, user_body

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _create(tenant: Tenant, user_name: str, **extra: Any) -> dict[str, Any]:
    response = tenant.post("/Users", json=user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _fetch(tenant: Tenant, path: str) -> dict[str, Any]:
    response = tenant.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _patch(tenant: Tenant, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    response = tenant.patch(f"/Users/{user_id}", json=patch_body(*operations))
    assert response.status_code == 200, response.text
    return _fetch(tenant, f"/Users/{user_id}")


def _primary(values: list[dict[str, Any]]) -> list[str]:
    return [value["value"] for value in values if value.get("primary")]


# --- Attribute names and schema URNs in any case (RFC 7643 §2.1) ---------------------


def test_core_attribute_names_in_any_case(tenant: Tenant) -> None:
    """POST reads attribute and sub-attribute names in any case (RFC 7643 §2.1)."""
    body = {
        "SCHEMAS": [USER_URN.upper()],
        "USERNAME": "ada@example.com",
        "Name": {"GivenName": "Ada", "FAMILYNAME": "Lovelace"},
        "EMAILS": [{"Value": "ada@work.example", "TYPE": "work", "Primary": True}],
        "displayname": "Ada L.",
    }
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created = _fetch(tenant, f"/Users/{response.json()['id']}")
    assert created["schemas"] == [USER_URN]
    assert created["userName"] == "ada@example.com"
    assert created["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert created["emails"] == [{"value": "ada@work.example", "type": "work", "primary": True}]
    assert created["displayName"] == "Ada L."


def test_enterprise_extension_urn_in_any_case(tenant: Tenant) -> None:
    """The extension key, schemas entry and attributes are read in any case (RFC 7643 §2.1)."""
    body = user_body(
        "ada@example.com",
        **{ENTERPRISE_URN.upper(): {"EmployeeNumber": "7", "DEPARTMENT": "Math"}},
    )
    body["schemas"] = [USER_URN.lower(), ENTERPRISE_URN.upper()]
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created = _fetch(tenant, f"/Users/{response.json()['id']}")
    assert created["schemas"] == [USER_URN, ENTERPRISE_URN]
    assert created[ENTERPRISE_URN] == {"employeeNumber": "7", "department": "Math"}


def test_put_reads_schemas_and_names_in_any_case(tenant: Tenant) -> None:
    """PUT reads schemas entries and attribute names in any case (RFC 7643 §2.1)."""
    ada = _create(tenant, "ada@example.com", title="Countess")
    body = {
        "Schemas": [USER_URN.upper(), ENTERPRISE_URN.lower()],
        "userNAME": "ada@example.com",
        "TITLE": "Analyst",
        ENTERPRISE_URN.lower(): {"Division": "Engines"},
    }
    response = tenant.put(f"/Users/{ada['id']}", json=body)
    assert response.status_code == 200, response.text
    replaced = _fetch(tenant, f"/Users/{ada['id']}")
    assert replaced["title"] == "Analyst"
    assert replaced[ENTERPRISE_URN] == {"division": "Engines"}


def test_group_names_and_schemas_in_any_case(tenant: Tenant) -> None:
    """POST /Groups reads schemas entries and attribute names in any case (RFC 7643 §2.1)."""
    ada = _create(tenant, "ada@example.com")
    body = {
        "SCHEMAS": [GROUP_URN.upper()],
        "DisplayName": "Engineering",
        "MEMBERS": [{"VALUE": ada["id"], "Type": "User"}],
    }
    response = tenant.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["schemas"] == [GROUP_URN]
    assert created["displayName"] == "Engineering"
    assert [member["value"] for member in created["members"]] == [ada["id"]]


def test_patch_paths_in_any_case(tenant: Tenant) -> None:
    """PATCH paths, value filters and extension URNs are read in any case (RFC 7643 §2.1)."""
    emails = [{"value": "ada@work.example", "type": "work"}]
    ada = _create(tenant, "ada@example.com", name={"givenName": "Ada"}, emails=emails)
    got = _patch(
        tenant,
        ada["id"],
        {"op": "replace", "path": "NAME.GIVENNAME", "value": "Augusta"},
        {"op": "replace", "path": 'Emails[Type eq "work"].Value', "value": "a@new.example"},
        {"op": "add", "path": f"{ENTERPRISE_URN.upper()}:Department", "value": "Math"},
    )
    assert got["name"]["givenName"] == "Augusta"
    assert got["emails"] == [{"value": "a@new.example", "type": "work"}]
    assert got[ENTERPRISE_URN] == {"department": "Math"}


def test_patch_value_keys_in_any_case(tenant: Tenant) -> None:
    """The keys of a PATCH value, extension URNs included, are read in any case (RFC 7643 §2.1)."""
    ada = _create(tenant, "ada@example.com", name={"givenName": "Ada"})
    value = {
        "NAME": {"GIVENNAME": "Augusta"},
        "NickName": "Ada",
        ENTERPRISE_URN.upper(): {"COSTCENTER": "42"},
    }
    got = _patch(tenant, ada["id"], {"op": "replace", "value": value})
    assert got["name"]["givenName"] == "Augusta"
    assert got["nickName"] == "Ada"
    assert got[ENTERPRISE_URN] == {"costCenter": "42"}


def test_patch_message_members_in_any_case(tenant: Tenant) -> None:
    """A PatchOp's schemas, Operations, op, path and value are read in any case (RFC 7643 §2.1)."""
    ada = _create(tenant, "ada@example.com")
    body = {
        "SCHEMAS": [PATCH_URN.upper()],
        "operations": [
            {"OP": "replace", "PATH": "title", "VALUE": "Countess"},
            # A foreign extension is ignored whatever the case of the member names.
            {"Op": "add", "Path": "urn:example:custom:2.0:User:badge", "Value": "7"},
        ],
    }
    response = tenant.patch(f"/Users/{ada['id']}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Countess"
    assert "badge" not in response.text


# --- readOnly attributes (RFC 7643 §7, RFC 7644 §3.5.1) -------------------------------


def test_read_only_attributes_in_any_case_are_ignored(tenant: Tenant) -> None:
    """POST and PUT ignore id, meta and groups whatever their case (RFC 7644 §3.5.1)."""
    read_only = {
        "ID": "client-chosen",
        "META": {"resourceType": "Group", "version": 'W/"99"'},
        "Groups": [{"value": "some-group", "display": "Admins"}],
    }
    response = tenant.post("/Users", json=user_body("ada@example.com", **read_only))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "client-chosen"
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["version"] == 'W/"1"'
    assert "groups" not in created
    response = tenant.put(f"/Users/{created['id']}", json=user_body("ada@example.com", **read_only))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]
    assert "groups" not in response.json()


def test_manager_display_name_is_ignored(tenant: Tenant) -> None:
    """manager.displayName is readOnly, so a value a client sends is not kept (RFC 7643 §4.3)."""
    boss = _create(tenant, "boss@example.com")
    manager = {"value": boss["id"], "displayName": "Made Up"}
    body = user_body("ada@example.com", **{ENTERPRISE_URN: {"manager": manager}})
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    got = _fetch(tenant, f"/Users/{response.json()['id']}")
    assert got[ENTERPRISE_URN]["manager"] == {"value": boss["id"]}


def test_patch_writing_a_read_only_attribute_is_400_mutability(tenant: Tenant) -> None:
    """A PATCH that targets a readOnly attribute is refused with mutability (RFC 7644 §3.5.2)."""
    ada = _create(tenant, "ada@example.com")
    operation = {"op": "add", "path": "groups", "value": [{"value": "some-group"}]}
    response = tenant.patch(f"/Users/{ada['id']}", json=patch_body(operation))
    assert_scim_error(response, 400, "mutability")
    assert "groups" not in _fetch(tenant, f"/Users/{ada['id']}")


def test_group_member_display_and_ref_are_not_errors(tenant: Tenant) -> None:
    """members.display is readWrite (RFC 7643 §4.2, as /Schemas says): it is kept as sent."""
    ada = _create(tenant, "ada@example.com", displayName="Ada Lovelace")
    member = {
        "value": ada["id"],
        "display": "Someone Else",
        "$ref": f"https://elsewhere.example/Users/{ada['id']}",
        "type": "User",
    }
    body = group_body("Engineering")
    body["members"] = [member]
    response = tenant.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    shown = response.json()["members"]
    assert len(shown) == 1
    assert shown[0]["display"] == "Someone Else"
    assert shown[0]["$ref"].startswith("http://testserver/")
    assert shown[0]["$ref"].endswith(f"/Users/{ada['id']}")


def test_put_may_resend_immutable_member_attributes_unchanged(tenant: Tenant) -> None:
    """PUT may resend members' immutable value, $ref and type unchanged (RFC 7644 §3.5.1)."""
    ada = _create(tenant, "ada@example.com")
    group = tenant.post("/Groups", json=group_body("Engineering", [ada["id"]])).json()
    shown = _fetch(tenant, f"/Groups/{group['id']}")
    body = group_body("Engineering")
    body["members"] = shown["members"]
    response = tenant.put(f"/Groups/{group['id']}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["members"] == shown["members"]


# --- primary (RFC 7643 §2.4, RFC 7644 §3.5.2) ----------------------------------------

TWO_PRIMARIES: dict[str, list[dict[str, Any]]] = {
    "emails": [
        {"value": "ada@work.example", "primary": True},
        {"value": "ada@home.example", "primary": True},
    ],
    "phoneNumbers": [{"value": "tel:+1-201-555-0123", "primary": True}] * 2,
    "addresses": [{"locality": "London", "primary": True}, {"locality": "Paris", "primary": True}],
    "ims": [{"value": "ada", "primary": True}, {"value": "lovelace", "primary": True}],
    "photos": [
        {"value": "https://photos.example/1", "primary": True},
        {"value": "https://photos.example/2", "primary": True},
    ],
    "entitlements": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
    "roles": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
    "x509Certificates": [{"value": "MIIB", "primary": True}, {"value": "MIIC", "primary": True}],
}


@pytest.mark.parametrize("attribute", sorted(TWO_PRIMARIES))
def test_two_primary_values_are_400_naming_the_attribute(tenant: Tenant, attribute: str) -> None:
    """POST and PUT with two primary values in an attribute are 400 invalidValue (RFC 7643 §2.4)."""
    extra = {attribute: TWO_PRIMARIES[attribute]}
    response = tenant.post("/Users", json=user_body("ada@example.com", **extra))
    assert attribute in assert_scim_error(response, 400, "invalidValue")["detail"]
    bob = _create(tenant, "bob@example.com")
    response = tenant.put(f"/Users/{bob['id']}", json=user_body("bob@example.com", **extra))
    assert attribute in assert_scim_error(response, 400, "invalidValue")["detail"]
    assert attribute not in _fetch(tenant, f"/Users/{bob['id']}")


def test_patch_adding_a_primary_email_unmarks_the_others(tenant: Tenant) -> None:
    """add of an email with primary true sets primary false on the others (RFC 7644 §3.5.2)."""
    emails = [{"value": "ada@work.example", "type": "work", "primary": True}]
    ada = _create(tenant, "ada@example.com", emails=emails)
    new = {"value": "ada@home.example", "type": "home", "primary": True}
    got = _patch(tenant, ada["id"], {"op": "add", "path": "emails", "value": [new]})
    assert _primary(got["emails"]) == ["ada@home.example"]
    assert len(got["emails"]) == 2


def test_patch_replacing_primary_by_filter_unmarks_the_others(tenant: Tenant) -> None:
    """replace emails[type eq "home"].primary true unmarks the work email (RFC 7644 §3.5.2)."""
    emails = [
        {"value": "ada@work.example", "type": "work", "primary": True},
        {"value": "ada@home.example", "type": "home"},
    ]
    ada = _create(tenant, "ada@example.com", emails=emails)
    operation = {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}
    got = _patch(tenant, ada["id"], operation)
    assert _primary(got["emails"]) == ["ada@home.example"]


def test_patch_primary_in_a_stored_attribute_unmarks_the_others(tenant: Tenant) -> None:
    """A phone number added as primary unmarks the others (RFC 7644 §3.5.2)."""
    phones = [{"value": "tel:+1-201-555-0123", "type": "work", "primary": True}]
    ada = _create(tenant, "ada@example.com", phoneNumbers=phones)
    new = {"value": "tel:+1-201-555-0124", "type": "mobile", "primary": True}
    got = _patch(tenant, ada["id"], {"op": "add", "path": "phoneNumbers", "value": [new]})
    assert _primary(got["phoneNumbers"]) == ["tel:+1-201-555-0124"]


def test_patch_marking_two_values_primary_is_400(tenant: Tenant) -> None:
    """An operation marking two values primary is 400 invalidValue (RFC 7643 §2.4)."""
    ada = _create(tenant, "ada@example.com")
    value = [
        {"value": "ada@work.example", "primary": True},
        {"value": "ada@home.example", "primary": True},
    ]
    response = tenant.patch(
        f"/Users/{ada['id']}", json=patch_body({"op": "add", "path": "emails", "value": value})
    )
    assert_scim_error(response, 400, "invalidValue")
    assert "emails" not in _fetch(tenant, f"/Users/{ada['id']}")


# --- canonical values (RFC 7643 §7 canonicalValues, §4.1.2) --------------------------


def test_canonical_values_are_stored_in_canonical_spelling(tenant: Tenant) -> None:
    """A type matching a canonical value in another case is stored canonically (RFC 7643 §4.1.2)."""
    ada = _create(
        tenant,
        "ada@example.com",
        emails=[{"value": "ada@work.example", "type": "Work"}],
        phoneNumbers=[{"value": "tel:+1-201-555-0123", "type": "MOBILE"}],
        addresses=[{"locality": "London", "type": "Home"}],
        ims=[{"value": "ada", "type": "Skype"}],
        photos=[{"value": "https://photos.example/1", "type": "Thumbnail"}],
    )
    got = _fetch(tenant, f"/Users/{ada['id']}")
    assert got["emails"][0]["type"] == "work"
    assert got["phoneNumbers"][0]["type"] == "mobile"
    assert got["addresses"][0]["type"] == "home"
    assert got["ims"][0]["type"] == "skype"
    assert got["photos"][0]["type"] == "thumbnail"


def test_other_values_are_kept_as_sent(tenant: Tenant) -> None:
    """Other values are accepted as sent: canonical values are no enumeration (RFC 7643 §7)."""
    emails = [{"value": "ada@work.example", "type": "Vacation"}]
    ims = [{"value": "ada", "type": "Matrix"}]
    ada = _create(tenant, "ada@example.com", emails=emails, ims=ims)
    got = _fetch(tenant, f"/Users/{ada['id']}")
    assert got["emails"][0]["type"] == "Vacation"
    assert got["ims"][0]["type"] == "Matrix"


def test_patch_stores_canonical_values_in_canonical_spelling(tenant: Tenant) -> None:
    """A PATCH writing a canonical value in another case stores it canonically (RFC 7643 §4.1.2)."""
    ada = _create(tenant, "ada@example.com", emails=[{"value": "ada@x.example", "type": "work"}])
    operation = {"op": "replace", "path": 'emails[type eq "work"].type', "value": "HOME"}
    got = _patch(tenant, ada["id"], operation)
    assert got["emails"][0]["type"] == "home"


def test_group_member_type_is_shown_canonically(tenant: Tenant) -> None:
    """A member's type sent as "user" is shown as the canonical "User" (RFC 7643 §4.2)."""
    ada = _create(tenant, "ada@example.com")
    body = group_body("Engineering")
    body["members"] = [{"value": ada["id"], "type": "user"}]
    response = tenant.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["members"][0]["type"] == "User"


# --- required (RFC 7643 §2.2, §4.1.1, §4.3) ------------------------------------------


def test_email_without_value_is_400_naming_emails_value(tenant: Tenant) -> None:
    """An email without a value is refused by POST, PUT and PATCH, not dropped (RFC 7643 §2.4)."""
    extra = {"emails": [{"type": "work", "primary": True}]}
    response = tenant.post("/Users", json=user_body("ada@example.com", **extra))
    assert "emails.value" in assert_scim_error(response, 400, "invalidValue")["detail"]
    bob = _create(tenant, "bob@example.com")
    response = tenant.put(f"/Users/{bob['id']}", json=user_body("bob@example.com", **extra))
    assert "emails.value" in assert_scim_error(response, 400, "invalidValue")["detail"]
    operation = {"op": "add", "path": "emails", "value": [{"type": "home"}]}
    response = tenant.patch(f"/Users/{bob['id']}", json=patch_body(operation))
    assert "emails.value" in assert_scim_error(response, 400, "invalidValue")["detail"]
    assert _fetch(tenant, f"/Users/{bob['id']}")["meta"]["version"] == 'W/"1"'


def test_manager_with_only_a_value_is_accepted(tenant: Tenant) -> None:
    """manager.value and manager.$ref are recommended, not required (RFC 7643 §4.3)."""
    body = user_body("ada@example.com", **{ENTERPRISE_URN: {"manager": {"value": "boss-id"}}})
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    assert response.json()[ENTERPRISE_URN]["manager"] == {"value": "boss-id"}


def test_user_name_is_required_in_any_spelling(tenant: Tenant) -> None:
    """An empty USERNAME counts as missing: 400 invalidValue (RFC 7643 §4.1.1)."""
    response = tenant.post("/Users", json={"schemas": [USER_URN], "USERNAME": ""})
    assert "userName" in assert_scim_error(response, 400, "invalidValue")["detail"]


def test_group_display_name_is_required(tenant: Tenant) -> None:
    """A Group without displayName is 400 invalidValue (RFC 7643 §4.2)."""
    response = tenant.post("/Groups", json={"schemas": [GROUP_URN], "members": []})
    assert "displayName" in assert_scim_error(response, 400, "invalidValue")["detail"]
