"""Sorting, cursor pagination and search requests (RFC 7644 §3.4.2-§3.4.3, RFC 9865)."""

from typing import Any

import pytest

from scimgate.scim import cursors
from tests.conftest import Tenant, assert_scim_error, group_body, patch_body, user_body

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
NAMES = [
    "carol@example.com",
    "Alice@example.com",
    "dave@example.com",
    "bob@example.com",
    "eve@example.com",
]


def _seed(tenant: Tenant) -> dict[str, str]:
    ids = {}
    for index, name in enumerate(NAMES):
        extra: dict[str, Any] = {"title": f"t{index % 2}"} if index != 2 else {}
        response = tenant.post("/Users", json=user_body(name, **extra))
        assert response.status_code == 201
        ids[name] = response.json()["id"]
    return ids


def _user_names(body: dict[str, Any]) -> list[str]:
    return [resource["userName"] for resource in body["Resources"]]


def test_sort_by_user_name_both_orders(tenant: Tenant) -> None:
    """RFC 7644 §3.4.2.3: sortBy orders results, case-insensitively for userName, both ways."""
    _seed(tenant)
    ascending = tenant.get("/Users", params={"sortBy": "userName"}).json()
    assert _user_names(ascending) == sorted(NAMES, key=str.lower)
    descending = tenant.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"})
    assert _user_names(descending.json()) == sorted(NAMES, key=str.lower, reverse=True)


def test_sort_is_stable_across_pages(tenant: Tenant) -> None:
    """RFC 7644 §3.4.2.3-4: pages of a sorted list neither repeat nor skip a resource."""
    _seed(tenant)
    seen: list[str] = []
    for start in (1, 3, 5):
        page = tenant.get("/Users", params={"sortBy": "title", "startIndex": start, "count": 2})
        seen += _user_names(page.json())
    assert sorted(seen) == sorted(NAMES)
    # The user without a title sorts last (the server's choice for missing values).
    assert seen[-1] == "dave@example.com"


def test_unknown_sort_attribute_and_order(tenant: Tenant) -> None:
    """RFC 7644 §3.4.2.3: an unknown sortBy or a sortOrder other than the two is a 400."""
    assert_scim_error(tenant.get("/Users", params={"sortBy": "nope"}), 400, "invalidValue")
    bad_order = tenant.get("/Users", params={"sortBy": "userName", "sortOrder": "up"})
    assert_scim_error(bad_order, 400, "invalidValue")


def _walk(tenant: Tenant, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    cursor = ""
    while True:
        body = tenant.get(path, params={**params, "cursor": cursor}).json()
        pages.append(body)
        if "nextCursor" not in body:
            return pages
        cursor = body["nextCursor"]


def test_cursor_pagination_walks_every_resource_once(tenant: Tenant) -> None:
    """RFC 9865 §2: following nextCursor from an empty cursor yields each resource once."""
    _seed(tenant)
    pages = _walk(tenant, "/Users", {"count": 2})
    assert [len(page["Resources"]) for page in pages] == [2, 2, 1]
    names = [name for page in pages for name in _user_names(page)]
    assert sorted(names) == sorted(NAMES)
    assert all(page["totalResults"] == 5 for page in pages)
    assert all("startIndex" not in page for page in pages)


def test_cursor_pagination_with_sort_and_filter(tenant: Tenant) -> None:
    """RFC 9865 §2: cursors follow the requested order and filter."""
    _seed(tenant)
    params = {"count": 1, "sortBy": "userName", "sortOrder": "descending", "filter": "title pr"}
    names = [name for page in _walk(tenant, "/Users", params) for name in _user_names(page)]
    expected = sorted((n for n in NAMES if n != "dave@example.com"), key=str.lower, reverse=True)
    assert names == expected


def test_cursor_is_stable_while_resources_are_added(tenant: Tenant) -> None:
    """RFC 9865 §1: a resource created mid-walk does not shift the pages already agreed."""
    _seed(tenant)
    first = tenant.get("/Users", params={"count": 2, "cursor": ""}).json()
    tenant.post("/Users", json=user_body("zed@example.com"))
    rest = _walk_from(tenant, first["nextCursor"])
    names = _user_names(first) + rest
    assert sorted(names) == sorted([*NAMES, "zed@example.com"])
    assert len(names) == len(set(names))


def _walk_from(tenant: Tenant, cursor: str) -> list[str]:
    names: list[str] = []
    while cursor:
        body = tenant.get("/Users", params={"count": 2, "cursor": cursor}).json()
        names += _user_names(body)
        cursor = body.get("nextCursor", "")
    return names


def test_tampered_or_foreign_cursor_is_invalid(tenant: Tenant) -> None:
    """RFC 9865 §2: an altered cursor, or one from another query, gives 400 invalidCursor."""
    _seed(tenant)
    cursor = tenant.get("/Users", params={"count": 2, "cursor": ""}).json()["nextCursor"]
    body, _, signature = cursor.partition(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    assert_scim_error(tenant.get("/Users", params={"cursor": forged}), 400, "invalidCursor")
    assert_scim_error(tenant.get("/Users", params={"cursor": "garbage"}), 400, "invalidCursor")
    other_query = tenant.get("/Users", params={"cursor": cursor, "filter": "title pr"})
    assert_scim_error(other_query, 400, "invalidCursor")
    assert_scim_error(tenant.get("/Groups", params={"cursor": cursor}), 400, "invalidCursor")


def test_cursor_of_another_organization_is_invalid(tenant: Tenant, make_tenant: Any) -> None:
    """RFC 9865 §2: a cursor only resumes the query of the organization it was issued to."""
    _seed(tenant)
    cursor = tenant.get("/Users", params={"count": 2, "cursor": ""}).json()["nextCursor"]
    other = make_tenant("other")
    assert_scim_error(other.get("/Users", params={"cursor": cursor}), 400, "invalidCursor")


def test_expired_cursor(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 9865 §2: a cursor older than cursorTimeout gives 400 expiredCursor."""
    _seed(tenant)
    cursor = tenant.get("/Users", params={"count": 2, "cursor": ""}).json()["nextCursor"]
    later = cursors.now() + 3601
    monkeypatch.setattr(cursors, "now", lambda: later)
    assert_scim_error(tenant.get("/Users", params={"cursor": cursor}), 400, "expiredCursor")


def test_cursor_and_start_index_together_are_refused(tenant: Tenant) -> None:
    """RFC 9865 §2: a request pages by cursor or by index, not both."""
    response = tenant.get("/Users", params={"cursor": "", "startIndex": 1})
    assert_scim_error(response, 400, "invalidValue")


def test_group_cursor_pagination(tenant: Tenant) -> None:
    """RFC 9865 §2: cursor paging works on /Groups too."""
    for index in range(3):
        tenant.post("/Groups", json=group_body(f"g{index}"))
    pages = _walk(tenant, "/Groups", {"count": 2, "sortBy": "displayName"})
    names = [group["displayName"] for page in pages for group in page["Resources"]]
    assert names == ["g0", "g1", "g2"]


def test_search_endpoint_matches_get(tenant: Tenant) -> None:
    """RFC 7644 §3.4.3: POST /Users/.search answers as GET /Users with the same parameters."""
    _seed(tenant)
    body = {
        "schemas": [SEARCH],
        "filter": 'userName sw "b" or userName sw "c"',
        "sortBy": "userName",
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    searched = tenant.post("/Users/.search", json=body)
    assert searched.status_code == 200
    got = tenant.get(
        "/Users",
        params={"filter": body["filter"], "sortBy": "userName", "attributes": "userName"},
    )
    assert searched.json() == got.json()
    assert _user_names(searched.json()) == ["bob@example.com", "carol@example.com"]
    assert set(searched.json()["Resources"][0]) == {"schemas", "id", "userName"}


def test_search_with_cursor_and_groups(tenant: Tenant) -> None:
    """RFC 7644 §3.4.3 and RFC 9865 §2: .search accepts a cursor, per resource type."""
    tenant.post("/Groups", json=group_body("alpha"))
    tenant.post("/Groups", json=group_body("beta"))
    first = tenant.post("/Groups/.search", json={"schemas": [SEARCH], "count": 1, "cursor": ""})
    assert [g["displayName"] for g in first.json()["Resources"]] == ["alpha"]
    second = tenant.post(
        "/Groups/.search",
        json={"schemas": [SEARCH], "count": 1, "cursor": first.json()["nextCursor"]},
    )
    assert [g["displayName"] for g in second.json()["Resources"]] == ["beta"]
    assert "nextCursor" not in second.json()


def test_root_search_spans_resource_types(tenant: Tenant) -> None:
    """RFC 7644 §3.4.3: POST /.search at the root returns Users and Groups together."""
    _seed(tenant)
    tenant.post("/Groups", json=group_body("Engineering"))
    everything = tenant.post("/.search", json={"schemas": [SEARCH]}).json()
    assert everything["totalResults"] == 6
    schemas = [resource["schemas"][0] for resource in everything["Resources"]]
    assert schemas.count("urn:ietf:params:scim:schemas:core:2.0:Group") == 1
    page = tenant.post("/.search", json={"schemas": [SEARCH], "startIndex": 5, "count": 2}).json()
    assert page["totalResults"] == 6 and page["startIndex"] == 5
    assert len(page["Resources"]) == 2
    assert page["Resources"][1]["displayName"] == "Engineering"
    # §3.4.2.1: an attribute only Groups have matches no User.
    groups_only = tenant.post(
        "/.search", json={"schemas": [SEARCH], "filter": 'displayName eq "engineering"'}
    ).json()
    assert groups_only["totalResults"] == 1


def test_search_bad_requests(tenant: Tenant) -> None:
    """RFC 7644 §3.4.3: a malformed SearchRequest is a 400 SCIM error."""
    missing_schema = tenant.post("/Users/.search", json={"filter": "userName pr"})
    assert_scim_error(missing_schema, 400, "invalidValue")
    bad_count = tenant.post("/Users/.search", json={"schemas": [SEARCH], "count": "many"})
    assert_scim_error(bad_count, 400, "invalidValue")
    bad_filter = tenant.post("/.search", json={"schemas": [SEARCH], "filter": "userName eq"})
    assert_scim_error(bad_filter, 400, "invalidFilter")


def test_too_many_members_selected_by_a_remove_filter(tenant: Tenant, make_tenant: Any) -> None:
    """RFC 7644 §3.12: a PATCH filter selecting more than the server allows is 400 tooMany."""
    ids = [
        tenant.post("/Users", json=user_body(f"m{i}@example.com")).json()["id"] for i in range(3)
    ]
    group_id = tenant.post("/Groups", json=group_body("big", ids)).json()["id"]
    tenant.client.app.state.settings = tenant.client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"max_members_per_request": 2}
    )
    remove_all = patch_body({"op": "remove", "path": 'members[type eq "User"]'})
    assert_scim_error(tenant.patch(f"/Groups/{group_id}", json=remove_all), 400, "tooMany")
    assert len(tenant.get(f"/Groups/{group_id}").json()["members"]) == 3
    remove_one = patch_body({"op": "remove", "path": f'members[value eq "{ids[0]}"]'})
    assert tenant.patch(f"/Groups/{group_id}", json=remove_one).status_code == 204
    assert len(tenant.get(f"/Groups/{group_id}").json()["members"]) == 2
