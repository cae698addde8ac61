"""The /Groups endpoints over HTTP (RFC 7644 §3.3 to §3.6), as an IdP drives them."""

from typing import Any

import pytest

from tests.conftest import (
    Tenant,
    TenantFactory,
    assert_scim_error,
    group_body,
    patch_body,
    user_body,
)

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _user(tenant: Tenant, user_name: str, **extra: Any) -> str:
    response = tenant.post("/Users", json=user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def _group(tenant: Tenant, display_name: str, members: list[str] | None = None) -> dict[str, Any]:
    response = tenant.post("/Groups", json=group_body(display_name, members))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _member_ids(body: dict[str, Any]) -> list[str]:
    return [member["value"] for member in body.get("members", [])]


def _fetch(tenant: Tenant, group_id: str) -> dict[str, Any]:
    response = tenant.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _patch(tenant: Tenant, group_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    """PATCH as IdPs do (no query): 204, no body, the new ETag; return the group read after."""
    before = _fetch(tenant, group_id)["meta"]["version"]
    response = tenant.patch(f"/Groups/{group_id}", json=patch_body(*operations))
    assert response.status_code == 204, response.text
    assert response.content == b""
    after = _fetch(tenant, group_id)
    assert response.headers["etag"] == after["meta"]["version"] != before
    return after


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [resource["displayName"] for resource in response.json()["Resources"]]


# POST /Groups


def test_create_returns_201_with_location_etag_and_members(tenant: Tenant) -> None:
    """POST is 201 with Location and ETag, and echoes members with value, type, display, $ref."""
    ada = _user(tenant, "ada@example.com", displayName="Ada Lovelace")
    bob = _user(tenant, "bob@example.com")
    response = tenant.post("/Groups", json=group_body("Engineering", [ada, bob], externalId="e-1"))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [GROUP_SCHEMA]
    assert body["displayName"] == "Engineering"
    assert body["externalId"] == "e-1"
    assert response.headers["location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Groups/{body['id']}")
    assert body["meta"]["location"].startswith("http")
    assert response.headers["etag"] == body["meta"]["version"]
    assert body["meta"]["resourceType"] == "Group"
    by_value = {member["value"]: member for member in body["members"]}
    assert set(by_value) == {ada, bob}
    assert by_value[ada]["type"] == "User"
    assert by_value[ada]["display"] == "Ada Lovelace"
    assert by_value[bob]["display"] == "bob@example.com"
    for user_id, member in by_value.items():
        assert member["$ref"].startswith("http")
        assert member["$ref"].endswith(f"/Users/{user_id}")


def test_create_with_nested_group_member(tenant: Tenant) -> None:
    """A group id as member value is stored as a nested member of type Group."""
    inner = _group(tenant, "Inner")
    response = tenant.post("/Groups", json=group_body("Outer", [inner["id"]]))
    assert response.status_code == 201, response.text
    [member] = response.json()["members"]
    assert member["value"] == inner["id"]
    assert member["type"] == "Group"
    assert member["display"] == "Inner"
    assert member["$ref"].endswith(f"/Groups/{inner['id']}")


def test_create_duplicate_name_in_other_case_is_409(tenant: Tenant) -> None:
    """displayName is unique per organization in any case: a second POST gets 409 uniqueness."""
    _group(tenant, "Engineering")
    assert_scim_error(tenant.post("/Groups", json=group_body("ENGINEERING")), 409, "uniqueness")
    assert tenant.get("/Groups").json()["totalResults"] == 1


def test_create_without_display_name_is_400(tenant: Tenant) -> None:
    """A Group without displayName, or with a blank one, is refused with 400 invalidValue."""
    body = group_body("x")
    del body["displayName"]
    assert_scim_error(tenant.post("/Groups", json=body), 400, "invalidValue")
    assert_scim_error(tenant.post("/Groups", json=group_body("   ")), 400, "invalidValue")


def test_create_with_unknown_member_is_400_naming_it(tenant: Tenant) -> None:
    """A member id that exists nowhere is 400 invalidValue, and the detail names the id."""
    ada = _user(tenant, "ada@example.com")
    response = tenant.post("/Groups", json=group_body("Eng", [ada, "no-such-id"]))
    body = assert_scim_error(response, 400, "invalidValue")
    assert "no-such-id" in body["detail"]
    assert tenant.get("/Groups").json()["totalResults"] == 0


def test_create_with_other_organizations_user_is_400_and_writes_nothing(
    tenant: Tenant, make_tenant: TenantFactory
) -> None:
    """A user of another organization is not a valid member: 400, and no group is left behind."""
    other = make_tenant("globex")
    stranger = _user(other, "eve@globex.example")
    body = assert_scim_error(
        tenant.post("/Groups", json=group_body("Eng", [stranger])), 400, "invalidValue"
    )
    assert stranger in body["detail"]
    listed = tenant.get("/Groups").json()
    assert listed["totalResults"] == 0
    assert listed["Resources"] == []
    # The name is still free, which it would not be had the group been half-written.
    assert tenant.post("/Groups", json=group_body("Eng")).status_code == 201


def test_group_cannot_contain_itself(tenant: Tenant) -> None:
    """PATCH adding a group's own id to its members is refused with 400."""
    group = _group(tenant, "Loop")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "add", "path": "members", "value": [{"value": group["id"]}]}),
    )
    assert_scim_error(response, 400, "invalidValue")
    assert "members" not in _fetch(tenant, group["id"])


def test_create_ignores_client_id_and_meta(tenant: Tenant) -> None:
    """id and meta sent by the client are read-only and ignored (RFC 7643 §3.1)."""
    body = group_body(
        "Eng",
        id="client-chosen",
        meta={"resourceType": "Group", "version": 'W/"99"', "location": "https://evil/x"},
    )
    response = tenant.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "client-chosen"
    assert created["meta"]["version"] != 'W/"99"'
    assert "evil" not in created["meta"]["location"]
    assert tenant.get("/Groups/client-chosen").status_code == 404


def test_create_ignores_unknown_extension(tenant: Tenant) -> None:
    """Attributes of an extension schema the server does not know are ignored, not refused."""
    urn = "urn:example:params:scim:schemas:extension:custom:2.0:Group"
    body = group_body("Eng")
    body[urn] = {"costCenter": "42"}
    body["schemas"] = [GROUP_SCHEMA, urn]
    response = tenant.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert urn not in created
    assert created["schemas"] == [GROUP_SCHEMA]


# GET /Groups/{id}


def test_get_by_id(tenant: Tenant) -> None:
    """GET by id returns the group, its members and its ETag."""
    ada = _user(tenant, "ada@example.com")
    created = _group(tenant, "Eng", [ada])
    response = tenant.get(f"/Groups/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == created["id"]
    assert body["displayName"] == "Eng"
    assert _member_ids(body) == [ada]
    assert response.headers["etag"] == body["meta"]["version"] == created["meta"]["version"]


def test_get_excluded_members(tenant: Tenant) -> None:
    """excludedAttributes=members leaves the members key out and keeps the rest."""
    created = _group(tenant, "Eng", [_user(tenant, "ada@example.com")])
    response = tenant.get(f"/Groups/{created['id']}", params={"excludedAttributes": "members"})
    assert response.status_code == 200
    body = response.json()
    assert "members" not in body
    assert body["displayName"] == "Eng"
    assert body["id"] == created["id"]


def test_get_attributes_display_name_only(tenant: Tenant) -> None:
    """attributes=displayName returns displayName and id, without members (RFC 7644 §3.9)."""
    created = _group(tenant, "Eng", [_user(tenant, "ada@example.com")])
    response = tenant.get(f"/Groups/{created['id']}", params={"attributes": "displayName"})
    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "Eng"
    assert body["id"] == created["id"]
    assert "members" not in body
    assert "externalId" not in body


def test_get_unknown_id_is_404(tenant: Tenant) -> None:
    """An id that names no group is a SCIM 404."""
    assert_scim_error(tenant.get("/Groups/does-not-exist"), 404)


def test_get_other_organizations_group_is_404(tenant: Tenant, make_tenant: TenantFactory) -> None:
    """A group of another organization is invisible: 404 on read, write and delete."""
    theirs = _group(make_tenant("globex"), "Theirs")
    path = f"/Groups/{theirs['id']}"
    assert_scim_error(tenant.get(path), 404)
    assert_scim_error(tenant.put(path, json=group_body("Mine")), 404)
    assert_scim_error(
        tenant.patch(path, json=patch_body({"op": "replace", "value": {"displayName": "M"}})), 404
    )
    assert_scim_error(tenant.delete(path), 404)


def test_get_if_none_match_current_version_is_304(tenant: Tenant) -> None:
    """If-None-Match with the current ETag gets 304 and no body; a stale one gets 200."""
    created = _group(tenant, "Eng")
    path = f"/Groups/{created['id']}"
    response = tenant.get(path, headers={"If-None-Match": created["meta"]["version"]})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == created["meta"]["version"]
    assert tenant.get(path, headers={"If-None-Match": 'W/"0"'}).status_code == 200


# GET /Groups


def test_list_paging_totals(tenant: Tenant) -> None:
    """totalResults counts every group while startIndex and count select one page."""
    for index in range(5):
        _group(tenant, f"Group {index}")
    body = tenant.get("/Groups", params={"startIndex": 2, "count": 2}).json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 5
    assert body["startIndex"] == 2
    assert body["itemsPerPage"] == 2
    assert [group["displayName"] for group in body["Resources"]] == ["Group 1", "Group 2"]
    last = tenant.get("/Groups", params={"startIndex": 5, "count": 10}).json()
    assert last["itemsPerPage"] == 1
    assert last["totalResults"] == 5
    empty = tenant.get("/Groups", params={"count": 0}).json()
    assert empty["totalResults"] == 5
    assert empty["Resources"] == []


def test_list_only_own_organization(tenant: Tenant, make_tenant: TenantFactory) -> None:
    """The list shows the token's organization's groups and no other."""
    _group(make_tenant("globex"), "Theirs")
    _group(tenant, "Mine")
    assert _names(tenant.get("/Groups")) == ["Mine"]


def test_filter_display_name_eq_is_case_insensitive(tenant: Tenant) -> None:
    """displayName eq matches regardless of case (RFC 7643 §4.2: caseExact false)."""
    _group(tenant, "Engineering")
    _group(tenant, "Sales")
    response = tenant.get("/Groups", params={"filter": 'displayName eq "engineering"'})
    assert _names(response) == ["Engineering"]
    assert response.json()["totalResults"] == 1


def test_filter_external_id_eq(tenant: Tenant) -> None:
    """externalId eq finds the group the IdP knows by that id."""
    tenant.post("/Groups", json=group_body("Engineering", externalId="ext-1"))
    tenant.post("/Groups", json=group_body("Sales", externalId="ext-2"))
    assert _names(tenant.get("/Groups", params={"filter": 'externalId eq "ext-2"'})) == ["Sales"]


def test_filter_members_value_eq_finds_groups_of_user(tenant: Tenant) -> None:
    """members.value eq "<user id>" lists exactly the groups that contain that user."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    _group(tenant, "Eng", [ada, bob])
    _group(tenant, "Ops", [bob])
    _group(tenant, "Sales", [ada])
    _group(tenant, "Empty")
    found = tenant.get("/Groups", params={"filter": f'members.value eq "{ada}"'})
    assert _names(found) == ["Eng", "Sales"]
    assert found.json()["totalResults"] == 2


def test_filter_members_value_path(tenant: Tenant) -> None:
    """members[value eq "<id>"] selects the same groups as members.value eq."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    _group(tenant, "Eng", [ada, bob])
    _group(tenant, "Ops", [bob])
    found = tenant.get("/Groups", params={"filter": f'members[value eq "{ada}"]'})
    assert _names(found) == ["Eng"]


def test_invalid_filter_is_400(tenant: Tenant) -> None:
    """A malformed filter or one on an unknown attribute is 400 invalidFilter."""
    for text in ('displayName eq "unterminated', 'nosuch eq "x"', "displayName zz 1"):
        assert_scim_error(tenant.get("/Groups", params={"filter": text}), 400, "invalidFilter")


def test_list_excluded_members(tenant: Tenant) -> None:
    """excludedAttributes=members on the list leaves members out of every resource."""
    _group(tenant, "Eng", [_user(tenant, "ada@example.com")])
    response = tenant.get("/Groups", params={"excludedAttributes": "members"})
    assert response.status_code == 200
    [resource] = response.json()["Resources"]
    assert "members" not in resource
    assert resource["displayName"] == "Eng"
    full = tenant.get("/Groups").json()["Resources"][0]
    assert len(full["members"]) == 1


# PUT /Groups/{id}


def test_put_replaces_everything(tenant: Tenant) -> None:
    """PUT replaces displayName, externalId and the whole member list; a member left out is gone."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    carol = _user(tenant, "carol@example.com")
    created = tenant.post("/Groups", json=group_body("Eng", [ada, bob], externalId="old")).json()
    response = tenant.put(
        f"/Groups/{created['id']}", json=group_body("Engineering", [bob, carol], externalId="new")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "Engineering"
    assert body["externalId"] == "new"
    assert sorted(_member_ids(body)) == sorted([bob, carol])
    assert response.headers["etag"] == body["meta"]["version"]
    stored = _fetch(tenant, created["id"])
    assert stored["displayName"] == "Engineering"
    assert stored["externalId"] == "new"
    assert sorted(_member_ids(stored)) == sorted([bob, carol])


def test_put_without_external_id_or_members_clears_them(tenant: Tenant) -> None:
    """A PUT body without externalId and members leaves the group with neither."""
    ada = _user(tenant, "ada@example.com")
    created = tenant.post("/Groups", json=group_body("Eng", [ada], externalId="old")).json()
    response = tenant.put(f"/Groups/{created['id']}", json=group_body("Eng"))
    assert response.status_code == 200, response.text
    stored = _fetch(tenant, created["id"])
    assert "externalId" not in stored
    assert "members" not in stored


def test_put_rename_to_taken_name_is_409(tenant: Tenant) -> None:
    """PUT renaming a group to another group's name (in any case) is 409 and changes nothing."""
    _group(tenant, "Sales")
    eng = _group(tenant, "Eng")
    response = tenant.put(f"/Groups/{eng['id']}", json=group_body("sales"))
    assert_scim_error(response, 409, "uniqueness")
    assert _fetch(tenant, eng["id"])["displayName"] == "Eng"


def test_put_with_unknown_member_changes_nothing(tenant: Tenant) -> None:
    """A PUT naming a missing member is 400 and leaves name and members as they were."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng", [ada])
    response = tenant.put(f"/Groups/{group['id']}", json=group_body("Renamed", ["ghost"]))
    body = assert_scim_error(response, 400, "invalidValue")
    assert "ghost" in body["detail"]
    stored = _fetch(tenant, group["id"])
    assert stored["displayName"] == "Eng"
    assert _member_ids(stored) == [ada]


# PATCH /Groups/{id} (RFC 7644 §3.5.2)


def test_patch_add_members(tenant: Tenant) -> None:
    """add with path "members" appends the listed members to the existing ones."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    carol = _user(tenant, "carol@example.com")
    group = _group(tenant, "Eng", [ada])
    body = _patch(
        tenant,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": bob}, {"value": carol}]},
    )
    assert sorted(_member_ids(body)) == sorted([ada, bob, carol])


def test_patch_add_present_member_is_idempotent(tenant: Tenant) -> None:
    """Adding a member already present succeeds and it is still listed once (RFC 7644 §3.5.2.1)."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng", [ada])
    body = _patch(
        tenant,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": ada}, {"value": ada}]},
    )
    assert _member_ids(body) == [ada]


def test_patch_remove_member_by_filter(tenant: Tenant) -> None:
    """remove with path members[value eq "<id>"] removes that member only."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng", [ada, bob])
    body = _patch(tenant, group["id"], {"op": "remove", "path": f'members[value eq "{ada}"]'})
    assert _member_ids(body) == [bob]


def test_patch_remove_members_with_or_filter(tenant: Tenant) -> None:
    """A remove whose filter joins two values with or removes both."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    carol = _user(tenant, "carol@example.com")
    group = _group(tenant, "Eng", [ada, bob, carol])
    _patch(
        tenant,
        group["id"],
        {"op": "remove", "path": f'members[value eq "{ada}" or value eq "{carol}"]'},
    )
    assert _member_ids(_fetch(tenant, group["id"])) == [bob]


def test_patch_remove_members_by_value_list(tenant: Tenant) -> None:
    """remove with path "members" and a value list removes those members only."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng", [ada, bob])
    _patch(tenant, group["id"], {"op": "remove", "path": "members", "value": [{"value": ada}]})
    assert _member_ids(_fetch(tenant, group["id"])) == [bob]


def test_patch_remove_members_with_empty_value_list_removes_nothing(tenant: Tenant) -> None:
    """remove with path "members" and an empty value list removes no member."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng", [ada])
    _patch(tenant, group["id"], {"op": "remove", "path": "members", "value": []})
    assert _member_ids(_fetch(tenant, group["id"])) == [ada]


def test_patch_replace_members(tenant: Tenant) -> None:
    """replace with path "members" makes the member list exactly the new list."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    carol = _user(tenant, "carol@example.com")
    group = _group(tenant, "Eng", [ada, bob])
    _patch(
        tenant,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": carol}, {"value": bob}]},
    )
    assert sorted(_member_ids(_fetch(tenant, group["id"]))) == sorted([bob, carol])


def test_patch_replace_members_with_empty_list_clears(tenant: Tenant) -> None:
    """replace members with [] leaves the group without members."""
    group = _group(tenant, "Eng", [_user(tenant, "ada@example.com")])
    _patch(tenant, group["id"], {"op": "replace", "path": "members", "value": []})
    assert "members" not in _fetch(tenant, group["id"])


def test_patch_remove_all_members(tenant: Tenant) -> None:
    """remove with path "members" and no value clears the member list (RFC 7644 §3.5.2.2)."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng", [ada, bob])
    _patch(tenant, group["id"], {"op": "remove", "path": "members"})
    assert "members" not in _fetch(tenant, group["id"])


def test_patch_pathless_replace_renames(tenant: Tenant) -> None:
    """A replace without path whose value is {"displayName": ...} renames the group."""
    group = _group(tenant, "Old")
    body = _patch(tenant, group["id"], {"op": "replace", "value": {"displayName": "New"}})
    assert body["displayName"] == "New"


def test_patch_pathless_replace_with_id_and_display_name(tenant: Tenant) -> None:
    """A pathless replace that echoes the group's own id (as Entra ID sends) still renames."""
    group = _group(tenant, "Old")
    body = _patch(
        tenant,
        group["id"],
        {"op": "replace", "value": {"id": group["id"], "displayName": "New"}},
    )
    assert body["displayName"] == "New"


def test_patch_pathless_add_members(tenant: Tenant) -> None:
    """An add without path whose value holds members adds them."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng", [ada])
    _patch(tenant, group["id"], {"op": "add", "value": {"members": [{"value": bob}]}})
    assert sorted(_member_ids(_fetch(tenant, group["id"]))) == sorted([ada, bob])


def test_patch_replace_external_id(tenant: Tenant) -> None:
    """replace with path externalId sets it."""
    group = _group(tenant, "Eng")
    body = _patch(tenant, group["id"], {"op": "replace", "path": "externalId", "value": "ext-9"})
    assert body["externalId"] == "ext-9"


def test_patch_remove_external_id(tenant: Tenant) -> None:
    """remove with path externalId clears it."""
    created = tenant.post("/Groups", json=group_body("Eng", externalId="ext-1")).json()
    _patch(tenant, created["id"], {"op": "remove", "path": "externalId"})
    assert "externalId" not in _fetch(tenant, created["id"])


def test_patch_op_names_are_case_insensitive(tenant: Tenant) -> None:
    """Op names are case-insensitive: Add, ADD, Remove and Replace work (Entra ID sends them)."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng")
    _patch(tenant, group["id"], {"op": "Add", "path": "members", "value": [{"value": ada}]})
    _patch(tenant, group["id"], {"op": "ADD", "path": "members", "value": [{"value": bob}]})
    _patch(tenant, group["id"], {"op": "Remove", "path": f'members[value eq "{ada}"]'})
    _patch(tenant, group["id"], {"op": "Replace", "path": "displayName", "value": "Eng2"})
    stored = _fetch(tenant, group["id"])
    assert _member_ids(stored) == [bob]
    assert stored["displayName"] == "Eng2"


def test_patch_is_atomic_over_members(tenant: Tenant) -> None:
    """If one add names a missing member the whole PATCH fails and no member is added."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body(
            {"op": "add", "path": "members", "value": [{"value": ada}]},
            {"op": "add", "path": "members", "value": [{"value": "ghost"}]},
        ),
    )
    body = assert_scim_error(response, 400, "invalidValue")
    assert "ghost" in body["detail"]
    stored = _fetch(tenant, group["id"])
    assert "members" not in stored
    assert stored["meta"]["version"] == group["meta"]["version"]


def test_patch_is_atomic_over_rename(tenant: Tenant) -> None:
    """A rename followed by a failing add is undone: the name stays as it was."""
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": "ghost"}]},
        ),
    )
    assert_scim_error(response, 400, "invalidValue")
    assert _fetch(tenant, group["id"])["displayName"] == "Eng"


def test_patch_remove_display_name_is_400(tenant: Tenant) -> None:
    """displayName is required, so removing it is refused with 400 mutability."""
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}", json=patch_body({"op": "remove", "path": "displayName"})
    )
    # RFC 7644 §3.5.2: an operation incompatible with the attribute's schema (here
    # "required") fails; §3.12 names that case "mutability".
    assert_scim_error(response, 400, "mutability")
    assert _fetch(tenant, group["id"])["displayName"] == "Eng"


def test_patch_replace_display_name_with_blank_is_400(tenant: Tenant) -> None:
    """A blank displayName is not a name: 400 invalidValue."""
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "replace", "path": "displayName", "value": "  "}),
    )
    assert_scim_error(response, 400, "invalidValue")


def test_patch_remove_without_path_is_400(tenant: Tenant) -> None:
    """A remove without path has no target: 400 noTarget (RFC 7644 §3.5.2.2)."""
    group = _group(tenant, "Eng", [_user(tenant, "ada@example.com")])
    response = tenant.patch(f"/Groups/{group['id']}", json=patch_body({"op": "remove"}))
    assert_scim_error(response, 400, "noTarget")
    assert len(_fetch(tenant, group["id"])["members"]) == 1


def test_patch_add_with_filter_path_is_400(tenant: Tenant) -> None:
    """add may not select members with a filter: 400 invalidPath."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body(
            {"op": "add", "path": f'members[value eq "{ada}"]', "value": [{"value": ada}]}
        ),
    )
    assert_scim_error(response, 400, "invalidPath")
    assert "members" not in _fetch(tenant, group["id"])


def test_patch_unknown_attribute_is_400(tenant: Tenant) -> None:
    """A path naming no attribute of a Group is refused with 400, with or without a path."""
    group = _group(tenant, "Eng")
    path = f"/Groups/{group['id']}"
    response = tenant.patch(
        path, json=patch_body({"op": "replace", "path": "nickName", "value": "x"})
    )
    assert_scim_error(response, 400, "invalidPath")
    # Without a path the unknown name is part of the value, so the value is what is invalid.
    response = tenant.patch(path, json=patch_body({"op": "replace", "value": {"nickName": "x"}}))
    assert_scim_error(response, 400, "invalidValue")
    assert _fetch(tenant, group["id"])["meta"]["version"] == group["meta"]["version"]


def test_patch_members_value_must_be_objects(tenant: Tenant) -> None:
    """members given as bare strings instead of {"value": ...} objects is 400 invalidValue."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "add", "path": "members", "value": [ada]}),
    )
    assert_scim_error(response, 400, "invalidValue")


def test_patch_versions_and_if_match(tenant: Tenant) -> None:
    """Each PATCH moves the ETag on, in its 204 or 200 answer; a stale If-Match gets 412."""
    group = _group(tenant, "Eng")
    path = f"/Groups/{group['id']}"
    first = group["meta"]["version"]
    response = tenant.patch(
        path,
        json=patch_body({"op": "replace", "path": "displayName", "value": "Eng2"}),
        headers={"If-Match": first},
    )
    assert response.status_code == 204, response.text
    second = response.headers["etag"]
    assert second != first
    # A client that asks for attributes gets the 200 answer, with the ETag in it too.
    response = tenant.patch(
        path,
        json=patch_body({"op": "replace", "path": "externalId", "value": "ext-2"}),
        headers={"If-Match": second},
        params={"attributes": "externalId"},
    )
    assert response.status_code == 200, response.text
    third = response.headers["etag"]
    assert third not in (first, second)
    assert response.json()["externalId"] == "ext-2"
    rename = patch_body({"op": "replace", "path": "displayName", "value": "Eng3"})
    assert_scim_error(tenant.patch(path, json=rename, headers={"If-Match": first}), 412)
    stale = tenant.patch(
        path, json=rename, headers={"If-Match": second}, params={"excludedAttributes": "members"}
    )
    assert_scim_error(stale, 412)
    stored = _fetch(tenant, group["id"])
    assert (stored["displayName"], stored["meta"]["version"]) == ("Eng2", third)
    assert_scim_error(tenant.put(path, json=group_body("X"), headers={"If-Match": first}), 412)
    assert_scim_error(tenant.delete(path, headers={"If-Match": first}), 412)


def test_patch_answers_204_with_the_new_etag(tenant: Tenant) -> None:
    """By default a group PATCH answers 204 without a body, its ETag the version a GET shows.

    RFC 7644 §3.5.2 allows it; Entra ID asks for it, since a 200 would carry every member.
    """
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "add", "path": "members", "value": [{"value": ada}]}),
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert "content-type" not in response.headers
    stored = _fetch(tenant, group["id"])
    assert response.headers["etag"] == stored["meta"]["version"]
    assert stored["meta"]["version"] != group["meta"]["version"]
    assert stored["meta"]["version"].startswith('W/"')
    assert _member_ids(stored) == [ada]


def test_patch_with_excluded_attributes_answers_200_without_members(tenant: Tenant) -> None:
    """?excludedAttributes=members asks for the group back: 200, everything but members."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng", [ada])
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "add", "path": "members", "value": [{"value": bob}]}),
        params={"excludedAttributes": "members"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert "members" not in body
    assert (body["id"], body["displayName"]) == (group["id"], "Eng")
    assert body["schemas"] == [GROUP_SCHEMA]
    stored = _fetch(tenant, group["id"])
    assert response.headers["etag"] == body["meta"]["version"] == stored["meta"]["version"]
    assert body["meta"]["version"] != group["meta"]["version"]
    assert sorted(_member_ids(stored)) == sorted([ada, bob])


def test_patch_with_attributes_answers_200_with_them(tenant: Tenant) -> None:
    """?attributes=displayName asks for the group back: 200 with id and displayName only."""
    group = _group(tenant, "Eng", [_user(tenant, "ada@example.com")])
    response = tenant.patch(
        f"/Groups/{group['id']}",
        json=patch_body({"op": "replace", "path": "displayName", "value": "Platform"}),
        params={"attributes": "displayName"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "Platform"
    assert body["id"] == group["id"]
    assert "members" not in body
    stored = _fetch(tenant, group["id"])
    assert response.headers["etag"] == stored["meta"]["version"] != group["meta"]["version"]
    assert stored["displayName"] == "Platform"


@pytest.mark.parametrize(
    ("content", "scim_type"),
    [
        (
            b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [',
            "invalidSyntax",
        ),
        (
            b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": 3}',
            "invalidValue",
        ),
        (
            b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}',
            "invalidValue",
        ),
        (
            b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], '
            b'"Operations": [{"op": "move", "path": "displayName", "value": "X"}]}',
            "invalidValue",
        ),
    ],
    ids=["truncated-json", "operations-not-a-list", "no-operations", "unknown-op"],
)
def test_patch_with_a_bad_body_is_a_scim_error_not_204(
    tenant: Tenant, content: bytes, scim_type: str
) -> None:
    """A PATCH body that cannot be read or applied is a SCIM 400, and changes nothing."""
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}",
        content=content,
        headers={"Content-Type": "application/scim+json"},
    )
    assert_scim_error(response, 400, scim_type)
    assert "etag" not in response.headers
    stored = _fetch(tenant, group["id"])
    assert (stored["displayName"], stored["meta"]["version"]) == ("Eng", group["meta"]["version"])


def test_bulk_patch_of_a_group_is_204_with_version_and_location(tenant: Tenant) -> None:
    """In a bulk request the group PATCH answers 204 too, with version and location (§3.7.3)."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng")
    add = patch_body({"op": "add", "path": "members", "value": [{"value": ada}]})
    response = tenant.post(
        "/Bulk",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "PATCH", "path": f"/Groups/{group['id']}", "data": add}],
        },
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["Operations"]
    assert result["status"] == "204"
    assert "response" not in result
    stored = _fetch(tenant, group["id"])
    assert result["version"] == stored["meta"]["version"] != group["meta"]["version"]
    assert result["location"] == stored["meta"]["location"]
    assert _member_ids(stored) == [ada]


def test_patch_with_empty_attributes_is_204(tenant: Tenant) -> None:
    """?attributes= (empty) asks for no body: 204, and the change is applied."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{group['id']}?attributes=",
        json=patch_body({"op": "add", "path": "members", "value": [{"value": ada}]}),
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    stored = _fetch(tenant, group["id"])
    assert response.headers["etag"] == stored["meta"]["version"]
    assert _member_ids(stored) == [ada]


def test_patch_rename_to_taken_name_is_409(tenant: Tenant) -> None:
    """PATCH renaming a group to another group's name is 409 uniqueness."""
    _group(tenant, "Sales")
    eng = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{eng['id']}",
        json=patch_body({"op": "replace", "value": {"displayName": "SALES"}}),
    )
    assert_scim_error(response, 409, "uniqueness")
    assert _fetch(tenant, eng["id"])["displayName"] == "Eng"


def test_patch_rename_to_taken_name_with_member_change_is_409(tenant: Tenant) -> None:
    """A rename to a taken name is 409 even when the same PATCH also changes members."""
    ada = _user(tenant, "ada@example.com")
    _group(tenant, "Sales")
    eng = _group(tenant, "Eng")
    response = tenant.patch(
        f"/Groups/{eng['id']}",
        json=patch_body(
            {"op": "replace", "path": "displayName", "value": "Sales"},
            {"op": "add", "path": "members", "value": [{"value": ada}]},
        ),
    )
    assert_scim_error(response, 409, "uniqueness")
    stored = _fetch(tenant, eng["id"])
    assert stored["displayName"] == "Eng"
    assert "members" not in stored


def test_patch_only_final_name_must_be_free(tenant: Tenant) -> None:
    """Operations apply in order (RFC 7644 §3.5.2): only the final name must be free."""
    ada = _user(tenant, "ada@example.com")
    _group(tenant, "Sales")
    eng = _group(tenant, "Eng")
    body = _patch(
        tenant,
        eng["id"],
        {"op": "replace", "path": "displayName", "value": "Sales"},
        {"op": "add", "path": "members", "value": [{"value": ada}]},
        {"op": "replace", "path": "displayName", "value": "Engineering"},
    )
    assert body["displayName"] == "Engineering"
    assert _member_ids(body) == [ada]


def test_patch_rename_in_case_only(tenant: Tenant) -> None:
    """Renaming a group to its own name in another case is not a conflict with itself."""
    eng = _group(tenant, "Eng")
    body = _patch(tenant, eng["id"], {"op": "replace", "path": "displayName", "value": "ENG"})
    assert body["displayName"] == "ENG"


# DELETE /Groups/{id}


def test_delete_group_keeps_member_users(tenant: Tenant) -> None:
    """DELETE answers 204, the group is then 404, and its member users still exist."""
    ada = _user(tenant, "ada@example.com")
    group = _group(tenant, "Eng", [ada])
    response = tenant.delete(f"/Groups/{group['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_scim_error(tenant.get(f"/Groups/{group['id']}"), 404)
    assert_scim_error(tenant.delete(f"/Groups/{group['id']}"), 404)
    assert tenant.get(f"/Users/{ada}").status_code == 200


def test_delete_nested_group_removes_it_from_parent(tenant: Tenant) -> None:
    """Deleting a group that is a member of another removes it from that member list."""
    inner = _group(tenant, "Inner")
    outer = _group(tenant, "Outer", [inner["id"]])
    assert tenant.delete(f"/Groups/{inner['id']}").status_code == 204
    assert "members" not in _fetch(tenant, outer["id"])


def test_deleting_user_removes_membership(tenant: Tenant) -> None:
    """Deleting a user takes it out of every group it was a member of."""
    ada = _user(tenant, "ada@example.com")
    bob = _user(tenant, "bob@example.com")
    group = _group(tenant, "Eng", [ada, bob])
    assert tenant.delete(f"/Users/{ada}").status_code == 204
    assert _member_ids(_fetch(tenant, group["id"])) == [bob]
    found = tenant.get("/Groups", params={"filter": f'members.value eq "{ada}"'})
    assert found.json()["totalResults"] == 0
