"""Tenant isolation: one organization's token never reaches another's resources."""

from tests.conftest import TenantFactory, assert_scim_error, group_body, patch_body, user_body


def test_users_of_another_org_are_invisible(make_tenant: TenantFactory) -> None:
    """B's token gets 404 (not 403) for every operation on A's user, and never lists it."""
    a, b = make_tenant("a"), make_tenant("b")
    user_id = a.post("/Users", json=user_body("ada@example.com")).json()["id"]

    assert_scim_error(b.get(f"/Users/{user_id}"), 404)
    assert_scim_error(b.put(f"/Users/{user_id}", json=user_body("x@example.com")), 404)
    replace = patch_body({"op": "replace", "path": "active", "value": False})
    assert_scim_error(b.patch(f"/Users/{user_id}", json=replace), 404)
    assert_scim_error(b.delete(f"/Users/{user_id}"), 404)
    assert b.get("/Users").json()["totalResults"] == 0
    filtered = b.get("/Users", params={"filter": 'userName eq "ada@example.com"'}).json()
    assert filtered["totalResults"] == 0
    by_id = b.get("/Users", params={"filter": f'id eq "{user_id}"'}).json()
    assert by_id["totalResults"] == 0

    still = a.get(f"/Users/{user_id}").json()
    assert still["active"] is True and still["userName"] == "ada@example.com"


def test_same_user_name_in_two_orgs(make_tenant: TenantFactory) -> None:
    """userName is unique per organization, so two organizations can hold the same one."""
    a, b = make_tenant("a"), make_tenant("b")
    assert a.post("/Users", json=user_body("ada@example.com")).status_code == 201
    assert b.post("/Users", json=user_body("ada@example.com")).status_code == 201
    assert a.post("/Groups", json=group_body("Engineering")).status_code == 201
    assert b.post("/Groups", json=group_body("Engineering")).status_code == 201


def test_groups_cannot_reach_across_orgs(make_tenant: TenantFactory) -> None:
    """B cannot read A's group, nor put A's user into its own group."""
    a, b = make_tenant("a"), make_tenant("b")
    user_id = a.post("/Users", json=user_body("ada@example.com")).json()["id"]
    group_id = a.post("/Groups", json=group_body("Eng", [user_id])).json()["id"]

    assert_scim_error(b.get(f"/Groups/{group_id}"), 404)
    assert_scim_error(b.delete(f"/Groups/{group_id}"), 404)
    add = patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
    assert_scim_error(b.patch(f"/Groups/{group_id}", json=add), 404)
    own = b.post("/Groups", json=group_body("Mine")).json()["id"]
    body = assert_scim_error(b.patch(f"/Groups/{own}", json=add), 400, "invalidValue")
    assert user_id in body["detail"]
    assert b.get(f"/Groups/{own}").json().get("members") is None
    listed = b.get("/Groups", params={"filter": f'members.value eq "{user_id}"'}).json()
    assert listed["totalResults"] == 0
    assert len(a.get(f"/Groups/{group_id}").json()["members"]) == 1
