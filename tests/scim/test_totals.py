"""Unfiltered lists report exact totals kept by the database, not by counting each time."""

from tests.conftest import Tenant, TenantFactory, group_body, user_body


def _total(tenant: Tenant, path: str) -> int:
    response = tenant.get(path, params={"count": 1})
    assert response.status_code == 200, response.text
    total: int = response.json()["totalResults"]
    return total


def test_totals_follow_creates_and_deletes_per_organization(
    tenant: Tenant, make_tenant: TenantFactory
) -> None:
    other = make_tenant("other")
    assert _total(tenant, "/Users") == _total(tenant, "/Groups") == 0
    ids = [
        tenant.post("/Users", json=user_body(f"u{i}@example.com")).json()["id"] for i in range(5)
    ]
    assert other.post("/Users", json=user_body("elsewhere@example.com")).status_code == 201
    group_id = tenant.post("/Groups", json=group_body("Team", ids[:2])).json()["id"]
    assert tenant.delete(f"/Users/{ids[0]}").status_code == 204
    assert tenant.delete(f"/Users/{ids[1]}").status_code == 204
    # A refused create (the userName is taken) changes nothing.
    assert tenant.post("/Users", json=user_body("u4@example.com")).status_code == 409

    assert _total(tenant, "/Users") == 3
    assert _total(other, "/Users") == 1
    assert _total(tenant, "/Groups") == 1
    # The filtered count agrees with the kept one.
    filtered = tenant.get("/Users", params={"filter": 'userName co "@example.com"'})
    assert filtered.json()["totalResults"] == 3
    assert tenant.delete(f"/Groups/{group_id}").status_code == 204
    assert _total(tenant, "/Groups") == 0


def test_totals_follow_bulk_and_root_search(tenant: Tenant) -> None:
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user_body(f"b{i}@x.co")}
        for i in range(4)
    ]
    operations.append({"method": "POST", "path": "/Users", "data": {"schemas": []}})
    bulk = tenant.post(
        "/Bulk",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations,
        },
    )
    assert bulk.status_code == 200, bulk.text
    assert _total(tenant, "/Users") == 4
    search = tenant.post(
        "/.search",
        json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1},
    )
    assert search.json()["totalResults"] == 4
