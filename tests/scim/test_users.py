"""The /Users endpoints over HTTP (RFC 7644 §3.3 to §3.6, RFC 7643 §4.1 and §4.3)."""

import re
from datetime import datetime
from typing import Any

import httpx2
import pytest

from scimgate.config import Settings
from tests.conftest import (
    Tenant,
    assert_scim_error,
    group_body,
    patch_body,
    user_body,
)

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# Every RFC 7643 §4.1 core attribute a client may write, as an IdP would send them.
CORE_ATTRIBUTES: dict[str, Any] = {
    "externalId": "00u1abcd",
    "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III",
    },
    "displayName": "Babs Jensen",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [
        {"value": "tel:+1-201-555-0123", "type": "work"},
        {"value": "tel:+1-201-555-0124", "type": "mobile"},
    ],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "photos": [
        {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}
    ],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": True,
        }
    ],
    "entitlements": [{"value": "Premium Support"}],
    "roles": [{"value": "Tour Guide"}],
    "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
}

ENTERPRISE_ATTRIBUTES: dict[str, Any] = {
    "employeeNumber": "701984",
    "costCenter": "4130",
    "organization": "Universal Studios",
    "division": "Theme Park",
    "department": "Tour Operations",
    "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
}


def _create(tenant: Tenant, user_name: str, **extra: Any) -> dict[str, Any]:
    response = tenant.post("/Users", json=user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _list(tenant: Tenant, **params: str) -> dict[str, Any]:
    response = tenant.get("/Users", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [LIST_URN]
    return body


def _user_names(tenant: Tenant, filter_text: str) -> set[str]:
    body = _list(tenant, filter=filter_text)
    assert body["totalResults"] == len(body["Resources"])
    return {resource["userName"] for resource in body["Resources"]}


def _full_body(user_name: str) -> dict[str, Any]:
    body = user_body(user_name, **CORE_ATTRIBUTES)
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    body[ENTERPRISE_URN] = ENTERPRISE_ATTRIBUTES
    return body


def _assert_contains(actual: Any, expected: Any, where: str = "") -> None:
    """Every value of ``expected`` appears in ``actual``; the server may add more."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            _assert_contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
            _assert_contains(got, wanted, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- POST /Users (RFC 7644 §3.3) ---------------------------------------------------------


def test_create_returns_201_with_location_etag_and_meta(tenant: Tenant) -> None:
    """POST answers 201 with an id, Location == meta.location and ETag == meta.version."""
    response = tenant.post("/Users", json=user_body("ada@example.com"))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert isinstance(body["id"], str) and body["id"]
    assert USER_URN in body["schemas"]
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"].endswith(f"/Users/{body['id']}")
    assert response.headers["location"] == meta["location"]
    assert meta["version"] == 'W/"1"'
    assert response.headers["etag"] == meta["version"]
    assert _time(meta["created"]) == _time(meta["lastModified"])


def test_create_keeps_user_name_exactly_as_sent(tenant: Tenant) -> None:
    """The userName comes back with the exact case the client sent."""
    body = _create(tenant, "Ada.Lovelace@Example.COM")
    assert body["userName"] == "Ada.Lovelace@Example.COM"
    fetched = tenant.get(f"/Users/{body['id']}").json()
    assert fetched["userName"] == "Ada.Lovelace@Example.COM"


def test_every_core_and_enterprise_attribute_round_trips(tenant: Tenant) -> None:
    """All RFC 7643 §4.1 core and §4.3 enterprise attributes come back from POST and GET."""
    response = tenant.post("/Users", json=_full_body("bjensen@example.com"))
    assert response.status_code == 201, response.text
    created = response.json()
    fetched = tenant.get(f"/Users/{created['id']}").json()
    for body in (created, fetched):
        assert set(body["schemas"]) == {USER_URN, ENTERPRISE_URN}
        assert body["userName"] == "bjensen@example.com"
        _assert_contains(body, CORE_ATTRIBUTES)
        _assert_contains(body[ENTERPRISE_URN], ENTERPRISE_ATTRIBUTES, ENTERPRISE_URN)


def test_password_is_accepted_but_never_returned(tenant: Tenant) -> None:
    """A password is accepted on POST and absent from the POST, GET and list responses."""
    # RFC 7643 §4.1.1: password is writeOnly, "returned": "never".
    created = _create(tenant, "ada@example.com", password="t1meMachine!")
    assert "password" not in created
    assert "password" not in tenant.get(f"/Users/{created['id']}").json()
    listed = _list(tenant)["Resources"]
    assert listed and all("password" not in resource for resource in listed)
    assert "t1meMachine" not in tenant.get("/Users").text


def test_client_id_and_meta_are_ignored(tenant: Tenant) -> None:
    """An id or meta in the POST body is ignored: the server assigns id and meta."""
    # RFC 7643 §3.1: id and meta are readOnly, issued by the service provider.
    body = user_body(
        "ada@example.com",
        id="client-chosen",
        meta={"resourceType": "Group", "version": 'W/"99"', "created": "2001-01-01T00:00:00Z"},
    )
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "client-chosen"
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["version"] == 'W/"1"'
    assert not created["meta"]["created"].startswith("2001")
    assert tenant.get(f"/Users/{created['id']}").status_code == 200
    assert_scim_error(tenant.get("/Users/client-chosen"), 404)


def test_unknown_extension_is_accepted_and_not_echoed(tenant: Tenant) -> None:
    """An extension the server does not define (key and schemas entry) is ignored, not refused."""
    body = user_body("ada@example.com", **{"urn:okta:custom:1.0": {"badge": "42"}})
    body["schemas"].append("urn:okta:custom:1.0")
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert "urn:okta:custom:1.0" not in created
    assert "urn:okta:custom:1.0" not in created["schemas"]
    fetched = tenant.get(f"/Users/{created['id']}").json()
    assert "urn:okta:custom:1.0" not in fetched
    assert "urn:okta:custom:1.0" not in fetched["schemas"]


# --- Bad input ---------------------------------------------------------------------------


def test_missing_user_name_is_400_invalid_value(tenant: Tenant) -> None:
    """A body without userName is refused with 400 invalidValue."""
    body = {"schemas": [USER_URN], "displayName": "Ada"}
    assert_scim_error(tenant.post("/Users", json=body), 400, "invalidValue")


def test_user_name_not_an_email_is_400(tenant: Tenant) -> None:
    """A userName that is not an email address is refused with a detail naming userName."""
    body = assert_scim_error(
        tenant.post("/Users", json=user_body("not an email")), 400, "invalidValue"
    )
    assert "userName" in body["detail"]


def test_duplicate_user_name_in_other_case_is_409(tenant: Tenant) -> None:
    """A userName differing from an existing one only in case is refused with 409 uniqueness."""
    # RFC 7643 §4.1.1: userName is unique and caseExact false.
    _create(tenant, "ada@example.com")
    response = tenant.post("/Users", json=user_body("ADA@Example.com"))
    assert_scim_error(response, 409, "uniqueness")
    assert _list(tenant)["totalResults"] == 1


def test_malformed_json_is_400_invalid_syntax(tenant: Tenant) -> None:
    """A body that is not JSON is refused with 400 invalidSyntax."""
    response = tenant.post(
        "/Users",
        content=b'{"userName": "ada@example.com",',
        headers={"Content-Type": "application/scim+json"},
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_json_array_body_is_400(tenant: Tenant) -> None:
    """A JSON array where a resource object belongs is refused with 400 invalidSyntax."""
    response = tenant.post("/Users", json=[user_body("ada@example.com")])
    assert_scim_error(response, 400, "invalidSyntax")


def test_active_not_a_boolean_is_400_naming_active(tenant: Tenant) -> None:
    """active: "notabool" is refused with 400 invalidValue and a detail naming active."""
    response = tenant.post("/Users", json=user_body("ada@example.com", active="notabool"))
    body = assert_scim_error(response, 400, "invalidValue")
    assert "active" in body["detail"]


def test_emails_not_a_list_is_400(tenant: Tenant) -> None:
    """emails given as a string instead of a list is refused with 400."""
    response = tenant.post("/Users", json=user_body("ada@example.com", emails="ada@example.com"))
    body = assert_scim_error(response, 400, "invalidValue")
    assert "emails" in body["detail"]


def test_wrong_content_type_is_415(tenant: Tenant) -> None:
    """A text/plain body is refused with 415."""
    response = tenant.post(
        "/Users",
        content=b'{"userName": "ada@example.com"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_scim_error(response, 415)


def test_plain_json_with_charset_is_accepted(tenant: Tenant) -> None:
    """application/json; charset=utf-8 is accepted as well as application/scim+json."""
    response = tenant.post(
        "/Users",
        json=user_body("ada@example.com"),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [USER_URN], "userName": 42},
        {"schemas": [USER_URN], "userName": None},
        {"schemas": [USER_URN], "userName": ""},
        {"schemas": [USER_URN], "userName": "ada@example.com", "name": "Ada"},
        {"schemas": [USER_URN], "userName": "ada@example.com", "emails": [{"value": 7}]},
        {"schemas": [USER_URN], "userName": "ada@example.com", "emails": ["ada@example.com"]},
        {"schemas": [USER_URN], "userName": "ada@example.com", "emails": [{"type": "work"}]},
        {"schemas": [USER_URN], "userName": "ada@example.com", "active": None},
        {"schemas": [USER_URN], "userName": "ada@example.com", "password": 123},
        {"schemas": [USER_URN], "userName": "ada@example.com", "groups": "x"},
        {"schemas": [USER_URN], "userName": "ada@example.com", ENTERPRISE_URN: "x"},
        {"schemas": [], "userName": "ada@example.com"},
        {"schemas": "nope", "userName": "ada@example.com"},
        {"userName": "ada@example.com"},
        {},
    ],
)
def test_odd_bodies_never_cause_a_500(tenant: Tenant, body: dict[str, Any]) -> None:
    """Wrongly typed or odd bodies get a 201 or a SCIM 4xx error, never a 500."""
    response = tenant.post("/Users", json=body)
    if response.status_code != 201:
        assert_scim_error(response, 400, response.json().get("scimType"))


@pytest.mark.parametrize(
    ("extra", "attribute"),
    [
        ({"displayName": "x" * 1001}, "displayName"),
        ({"externalId": "x" * 1001}, "externalId"),
        ({"name": {"givenName": "x" * 1001}}, "name.givenName"),
        ({"name": {"familyName": "x" * 1001}}, "name.familyName"),
        ({"emails": [{"value": "a@example.com", "type": "t" * 101}]}, "emails.type"),
        ({"emails": [{"value": "a@example.com", "display": "d" * 1001}]}, "emails.display"),
        ({"displayName": "Ada\u0000"}, "displayName"),
        ({"externalId": "\u0000"}, "externalId"),
        ({"name": {"familyName": "By\u0000ron"}}, "name.familyName"),
    ],
)
def test_values_a_column_cannot_hold_are_400(
    tenant: Tenant, extra: dict[str, Any], attribute: str
) -> None:
    """Over-long values and NUL characters are 400 invalidValue naming the attribute."""
    body = assert_scim_error(
        tenant.post("/Users", json=user_body("ada@example.com", **extra)), 400, "invalidValue"
    )
    assert attribute in body["detail"]
    bob = _create(tenant, "bob@example.com")
    response = tenant.put(f"/Users/{bob['id']}", json=user_body("bob@example.com", **extra))
    assert attribute in assert_scim_error(response, 400, "invalidValue")["detail"]
    operation = {"op": "replace", "value": extra}
    response = tenant.patch(f"/Users/{bob['id']}", json=patch_body(operation))
    assert attribute in assert_scim_error(response, 400, "invalidValue")["detail"]
    assert tenant.get(f"/Users/{bob['id']}").json()["meta"]["version"] == 'W/"1"'


def test_longest_accepted_values_are_stored(tenant: Tenant) -> None:
    """Values exactly as long as the limits are accepted and returned whole."""
    extra = {"displayName": "x" * 1000, "externalId": "e" * 1000, "title": "t" * 5000}
    created = _create(tenant, "ada@example.com", **extra)
    _assert_contains(tenant.get(f"/Users/{created['id']}").json(), extra)


# --- GET /Users/{id} (RFC 7644 §3.4.1) ---------------------------------------------------


def test_get_by_id_returns_the_user_with_etag(tenant: Tenant) -> None:
    """GET by id returns the user, with an ETag equal to meta.version."""
    created = _create(tenant, "ada@example.com", displayName="Ada")
    response = tenant.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["id"] == created["id"]
    assert body["displayName"] == "Ada"
    assert body["meta"] == created["meta"]
    assert response.headers["etag"] == body["meta"]["version"]


def test_get_unknown_id_is_404(tenant: Tenant) -> None:
    """GET of an id that does not exist is a SCIM 404."""
    assert_scim_error(tenant.get("/Users/0123456789abcdef0123456789abcdef"), 404)


def test_get_with_current_etag_is_304(tenant: Tenant) -> None:
    """If-None-Match with the current ETag answers 304 without a body; a stale one answers 200."""
    created = _create(tenant, "ada@example.com")
    path = f"/Users/{created['id']}"
    response = tenant.get(path, headers={"If-None-Match": created["meta"]["version"]})
    assert response.status_code == 304
    assert response.content == b""
    assert tenant.get(path, headers={"If-None-Match": 'W/"0"'}).status_code == 200


def test_if_none_match_lists_and_weak_comparison(tenant: Tenant) -> None:
    """If-None-Match matches within a list, compares weakly, and * matches (RFC 7232 §3.2)."""
    created = _create(tenant, "ada@example.com")
    path = f"/Users/{created['id']}"
    for header in ('W/"7", W/"1"', '"1"', "*"):
        response = tenant.get(path, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.headers["etag"] == 'W/"1"'


def test_id_with_nul_character_is_404(tenant: Tenant) -> None:
    """An id holding a NUL character is a 404 on every method, not a database error."""
    _create(tenant, "ada@example.com")
    assert_scim_error(tenant.get("/Users/a%00b"), 404)
    assert_scim_error(tenant.put("/Users/a%00b", json=user_body("ada@example.com")), 404)
    operation = {"op": "replace", "path": "active", "value": False}
    assert_scim_error(tenant.patch("/Users/a%00b", json=patch_body(operation)), 404)
    assert_scim_error(tenant.delete("/Users/a%00b"), 404)


def test_another_tenants_user_is_404(tenant: Tenant, make_tenant: Any) -> None:
    """A user of another organization is not visible: GET, PUT, PATCH and DELETE are 404."""
    created = _create(tenant, "ada@example.com")
    other: Tenant = make_tenant("other")
    path = f"/Users/{created['id']}"
    assert_scim_error(other.get(path), 404)
    assert_scim_error(other.put(path, json=user_body("ada@example.com")), 404)
    operation = {"op": "replace", "path": "active", "value": False}
    assert_scim_error(other.patch(path, json=patch_body(operation)), 404)
    assert_scim_error(other.delete(path), 404)
    assert _list(other)["totalResults"] == 0
    assert tenant.get(path).json()["active"] is True


# --- GET /Users: paging (RFC 7644 §3.4.2.4) ----------------------------------------------


def _five_users(tenant: Tenant) -> list[str]:
    return [_create(tenant, f"user{index}@example.com")["userName"] for index in range(1, 6)]


def test_list_without_parameters_returns_everything(tenant: Tenant) -> None:
    """A plain list returns every user with totalResults, itemsPerPage and startIndex 1."""
    names = _five_users(tenant)
    body = _list(tenant)
    assert body["totalResults"] == 5
    assert body["itemsPerPage"] == 5
    assert body["startIndex"] == 1
    assert [resource["userName"] for resource in body["Resources"]] == names


def test_list_pages_with_start_index_and_count(tenant: Tenant) -> None:
    """startIndex and count select a 1-based slice; totalResults counts all matches."""
    names = _five_users(tenant)
    body = _list(tenant, startIndex="3", count="2")
    assert body["totalResults"] == 5
    assert body["itemsPerPage"] == 2
    assert body["startIndex"] == 3
    assert [resource["userName"] for resource in body["Resources"]] == names[2:4]
    last = _list(tenant, startIndex="5", count="2")
    assert [resource["userName"] for resource in last["Resources"]] == names[4:]
    assert last["itemsPerPage"] == 1
    beyond = _list(tenant, startIndex="9", count="2")
    assert beyond["totalResults"] == 5
    assert beyond["itemsPerPage"] == 0
    assert beyond.get("Resources", []) == []


def test_list_with_count_zero_returns_only_the_total(tenant: Tenant) -> None:
    """count=0 returns totalResults and no resources (RFC 7644 §3.4.2.4)."""
    _five_users(tenant)
    body = _list(tenant, count="0")
    assert body["totalResults"] == 5
    assert body["itemsPerPage"] == 0
    assert body.get("Resources", []) == []


def test_count_above_maximum_is_capped(tenant: Tenant, settings: Settings) -> None:
    """A count above the server's maximum is cut to it rather than refused."""
    _five_users(tenant)
    settings.max_page_size = 3
    body = _list(tenant, count="1000000")
    assert body["totalResults"] == 5
    assert body["itemsPerPage"] == 3
    assert len(body["Resources"]) == 3


def test_start_index_below_one_is_read_as_one(tenant: Tenant) -> None:
    """startIndex=0 (or negative) is treated as 1."""
    names = _five_users(tenant)
    for start in ("0", "-4"):
        body = _list(tenant, startIndex=start, count="2")
        assert body["startIndex"] == 1
        assert [resource["userName"] for resource in body["Resources"]] == names[:2]


def test_non_integer_count_is_400_invalid_value(tenant: Tenant) -> None:
    """A count or startIndex that is not an integer is refused with 400 invalidValue."""
    assert_scim_error(tenant.get("/Users", params={"count": "ten"}), 400, "invalidValue")
    assert_scim_error(tenant.get("/Users", params={"startIndex": "1.5"}), 400, "invalidValue")


# --- GET /Users: filters (RFC 7644 §3.4.2.2) ---------------------------------------------


@pytest.fixture
def people(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Three users with distinct attributes to filter on."""
    return {
        "ada": _create(
            tenant,
            "Ada@Example.com",
            externalId="ext-ada",
            displayName="Ada Lovelace",
            emails=[
                {"value": "ada@work.example", "type": "work"},
                {"value": "ada@home.example", "type": "home"},
            ],
        ),
        "bob": _create(
            tenant,
            "bob@example.com",
            externalId="ext-bob",
            displayName="Bob Babbage",
            active=False,
            emails=[{"value": "bob@home.example", "type": "home"}],
        ),
        "cy": _create(tenant, "cy@example.org", name={"givenName": "Cy"}),
    }


def test_filter_user_name_eq_is_case_insensitive(tenant: Tenant, people: Any) -> None:
    """userName eq matches regardless of case (RFC 7643 §4.1.1 caseExact false)."""
    assert _user_names(tenant, 'userName eq "ada@example.com"') == {"Ada@Example.com"}
    assert _user_names(tenant, 'USERNAME eq "ADA@EXAMPLE.COM"') == {"Ada@Example.com"}
    assert _user_names(tenant, f'{USER_URN}:userName eq "bob@example.com"') == {"bob@example.com"}


def test_filter_external_id_eq(tenant: Tenant, people: Any) -> None:
    """externalId eq selects the user the IdP knows by that id."""
    assert _user_names(tenant, 'externalId eq "ext-bob"') == {"bob@example.com"}
    assert _user_names(tenant, 'externalId eq "nobody"') == set()


def test_filter_emails_value_co(tenant: Tenant, people: Any) -> None:
    """emails.value co matches a user any of whose emails contains the text."""
    assert _user_names(tenant, 'emails.value co "home.example"') == {
        "Ada@Example.com",
        "bob@example.com",
    }
    assert _user_names(tenant, 'emails co "WORK"') == {"Ada@Example.com"}


def test_filter_emails_value_path(tenant: Tenant, people: Any) -> None:
    """emails[type eq "work"] matches users having a work email."""
    assert _user_names(tenant, 'emails[type eq "work"]') == {"Ada@Example.com"}
    both = 'emails[type eq "home" and value sw "bob"]'
    assert _user_names(tenant, both) == {"bob@example.com"}


def test_filter_active_eq_false(tenant: Tenant, people: Any) -> None:
    """active eq false selects the deactivated users."""
    assert _user_names(tenant, "active eq false") == {"bob@example.com"}
    assert _user_names(tenant, "active eq true") == {"Ada@Example.com", "cy@example.org"}


def test_filter_meta_last_modified_gt(tenant: Tenant, people: Any) -> None:
    """meta.lastModified gt a user's timestamp selects the users changed after it."""
    after_bob = people["bob"]["meta"]["lastModified"]
    assert _user_names(tenant, f'meta.lastModified gt "{after_bob}"') == {"cy@example.org"}
    first = people["ada"]["meta"]["lastModified"]
    assert _user_names(tenant, f'meta.lastModified ge "{first}"') == {
        "Ada@Example.com",
        "bob@example.com",
        "cy@example.org",
    }


def test_filter_display_name_sw(tenant: Tenant, people: Any) -> None:
    """displayName sw matches a case-insensitive prefix."""
    assert _user_names(tenant, 'displayName sw "ada"') == {"Ada@Example.com"}
    assert _user_names(tenant, 'displayName sw "Lovelace"') == set()


def test_filter_logical_operators(tenant: Tenant, people: Any) -> None:
    """and, or, not and parentheses combine filters."""
    assert _user_names(tenant, 'active eq true and emails.type eq "home"') == {"Ada@Example.com"}
    assert _user_names(tenant, 'externalId eq "ext-ada" or externalId eq "ext-bob"') == {
        "Ada@Example.com",
        "bob@example.com",
    }
    assert _user_names(tenant, 'not (userName sw "ada")') == {
        "bob@example.com",
        "cy@example.org",
    }
    assert _user_names(
        tenant, '(displayName sw "bob" or name.givenName pr) and not (active eq false)'
    ) == {"cy@example.org"}


def test_filter_present(tenant: Tenant, people: Any) -> None:
    """pr selects users having a non-empty value of the attribute."""
    assert _user_names(tenant, "externalId pr") == {"Ada@Example.com", "bob@example.com"}
    assert _user_names(tenant, "emails pr") == {"Ada@Example.com", "bob@example.com"}
    assert _user_names(tenant, "name.givenName pr") == {"cy@example.org"}
    assert _user_names(tenant, "not (displayName pr)") == {"cy@example.org"}


def test_filter_combines_with_paging(tenant: Tenant, people: Any) -> None:
    """totalResults counts the filtered users, not all of them."""
    body = _list(tenant, filter="emails pr", count="1")
    assert body["totalResults"] == 2
    assert body["itemsPerPage"] == 1


def test_invalid_filter_is_400_with_position(tenant: Tenant) -> None:
    """A filter with a syntax error is 400 invalidFilter with the position in the detail."""
    response = tenant.get("/Users", params={"filter": 'userName eq "ada@example.com" and'})
    body = assert_scim_error(response, 400, "invalidFilter")
    assert re.search(r"(position|column) \d+", body["detail"]), body["detail"]
    for text in ('userName zz "x"', 'userName eq "unterminated', "(active eq true", "eq"):
        assert_scim_error(tenant.get("/Users", params={"filter": text}), 400, "invalidFilter")


def test_filter_on_unknown_attribute_is_400(tenant: Tenant) -> None:
    """A filter naming an attribute the server cannot filter on is 400 invalidFilter."""
    response = tenant.get("/Users", params={"filter": 'shoeSize eq "42"'})
    body = assert_scim_error(response, 400, "invalidFilter")
    assert "shoeSize" in body["detail"]


# --- attributes / excludedAttributes (RFC 7644 §3.9) -------------------------------------


def test_attributes_parameter_projects_the_response(tenant: Tenant, people: Any) -> None:
    """attributes=userName returns only id, schemas and userName (plus always-returned ones)."""
    for response in (
        tenant.get("/Users", params={"attributes": "userName"}),
        tenant.get(f"/Users/{people['ada']['id']}", params={"attributes": "userName"}),
    ):
        assert response.status_code == 200, response.text
        body = response.json()
        resources = body.get("Resources", [body])
        for resource in resources:
            assert set(resource) == {"id", "schemas", "userName"}, resource


def test_excluded_attributes_drops_emails(tenant: Tenant, people: Any) -> None:
    """excludedAttributes=emails removes emails and keeps the rest."""
    body = _list(tenant, excludedAttributes="emails")
    assert body["totalResults"] == 3
    for resource in body["Resources"]:
        assert "emails" not in resource
        assert "userName" in resource and "id" in resource
    single = tenant.get(f"/Users/{people['ada']['id']}", params={"excludedAttributes": "emails"})
    assert "emails" not in single.json()
    assert single.json()["displayName"] == "Ada Lovelace"


# --- PUT /Users/{id} (RFC 7644 §3.5.1) ---------------------------------------------------


def test_put_replaces_the_whole_user(tenant: Tenant) -> None:
    """PUT replaces: absent attributes go; id and created stay; version and lastModified advance."""
    response = tenant.post("/Users", json=_full_body("bjensen@example.com"))
    created = response.json()
    path = f"/Users/{created['id']}"
    replacement = user_body("Barbara.Jensen@example.com", displayName="Barbara", active=False)
    response = tenant.put(path, json=replacement)
    assert response.status_code == 200, response.text
    for body in (response.json(), tenant.get(path).json()):
        assert body["id"] == created["id"]
        assert body["userName"] == "Barbara.Jensen@example.com"
        assert body["displayName"] == "Barbara"
        assert body["active"] is False
        for gone in ("name", "emails", "title", "phoneNumbers", "externalId", ENTERPRISE_URN):
            assert gone not in body, gone
        assert ENTERPRISE_URN not in body["schemas"]
        assert body["meta"]["created"] == created["meta"]["created"]
        assert body["meta"]["version"] == 'W/"2"'
        assert _time(body["meta"]["lastModified"]) > _time(created["meta"]["lastModified"])
    assert response.headers["etag"] == 'W/"2"'


def test_put_unknown_id_is_404(tenant: Tenant) -> None:
    """PUT to an id that does not exist is 404 and creates nothing."""
    response = tenant.put("/Users/nope", json=user_body("ada@example.com"))
    assert_scim_error(response, 404)
    assert _list(tenant)["totalResults"] == 0


def test_put_with_taken_user_name_is_409(tenant: Tenant) -> None:
    """PUT that gives a user another user's userName (in any case) is 409 uniqueness."""
    _create(tenant, "ada@example.com")
    bob = _create(tenant, "bob@example.com")
    response = tenant.put(f"/Users/{bob['id']}", json=user_body("ADA@example.com"))
    assert_scim_error(response, 409, "uniqueness")
    assert tenant.get(f"/Users/{bob['id']}").json()["userName"] == "bob@example.com"


def test_put_may_change_the_case_of_its_own_user_name(tenant: Tenant) -> None:
    """PUT may keep a user's own userName or change only its case."""
    ada = _create(tenant, "ada@example.com")
    response = tenant.put(f"/Users/{ada['id']}", json=user_body("Ada@Example.com"))
    assert response.status_code == 200, response.text
    assert response.json()["userName"] == "Ada@Example.com"


def test_put_keeps_the_password_unless_a_new_one_is_sent(tenant: Tenant) -> None:
    """PUT without a password is accepted and still never shows one."""
    ada = _create(tenant, "ada@example.com", password="secret-1")
    response = tenant.put(f"/Users/{ada['id']}", json=user_body("ada@example.com"))
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    response = tenant.put(f"/Users/{ada['id']}", json=user_body("ada@example.com", password="s2"))
    assert response.status_code == 200, response.text
    assert "password" not in response.json()


def test_put_with_stale_if_match_is_412(tenant: Tenant) -> None:
    """PUT with an If-Match of an old version is refused with 412 and changes nothing."""
    ada = _create(tenant, "ada@example.com")
    path = f"/Users/{ada['id']}"
    assert tenant.put(path, json=user_body("ada@example.com", title="A")).status_code == 200
    response = tenant.put(
        path, json=user_body("ada@example.com", title="B"), headers={"If-Match": 'W/"1"'}
    )
    assert_scim_error(response, 412)
    assert tenant.get(path).json()["title"] == "A"


# --- PATCH /Users/{id} (RFC 7644 §3.5.2) -------------------------------------------------


def _patch(
    tenant: Tenant, user_id: str, *operations: dict[str, Any], **kwargs: Any
) -> httpx2.Response:
    return tenant.patch(f"/Users/{user_id}", json=patch_body(*operations), **kwargs)


def test_patch_replace_with_path(tenant: Tenant) -> None:
    """replace with path "active" deactivates the user; 200 with the full resource and new ETag."""
    ada = _create(tenant, "ada@example.com", displayName="Ada", title="Countess")
    response = _patch(tenant, ada["id"], {"op": "replace", "path": "active", "value": False})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is False
    assert body["userName"] == "ada@example.com"
    assert body["displayName"] == "Ada"
    assert body["title"] == "Countess"
    assert body["meta"]["version"] == 'W/"2"'
    assert response.headers["etag"] == 'W/"2"'
    assert tenant.get(f"/Users/{ada['id']}").json()["active"] is False


def test_patch_op_names_are_case_insensitive(tenant: Tenant) -> None:
    """Operation names are accepted in any case ("Replace", "ADD"), as Azure AD sends them."""
    ada = _create(tenant, "ada@example.com")
    response = _patch(
        tenant,
        ada["id"],
        {"op": "Replace", "path": "displayName", "value": "Ada"},
        {"op": "ADD", "path": "title", "value": "Countess"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Ada"
    assert response.json()["title"] == "Countess"


def test_patch_add_without_path_merges_the_value(tenant: Tenant) -> None:
    """add without a path merges the value object's attributes into the user."""
    ada = _create(tenant, "ada@example.com", displayName="Ada")
    value = {"title": "Countess", "nickName": "Ada", ENTERPRISE_URN: {"department": "Math"}}
    response = _patch(tenant, ada["id"], {"op": "add", "value": value})
    assert response.status_code == 200, response.text
    body = tenant.get(f"/Users/{ada['id']}").json()
    assert body["title"] == "Countess"
    assert body["nickName"] == "Ada"
    assert body["displayName"] == "Ada"
    assert body[ENTERPRISE_URN]["department"] == "Math"


def test_patch_replace_without_path(tenant: Tenant) -> None:
    """replace without a path sets each attribute of the value object, as Okta sends it."""
    ada = _create(tenant, "ada@example.com", displayName="Ada", title="Countess")
    value = {"active": False, "displayName": "Ada L.", "name": {"givenName": "Ada"}}
    response = _patch(tenant, ada["id"], {"op": "replace", "value": value})
    assert response.status_code == 200, response.text
    body = tenant.get(f"/Users/{ada['id']}").json()
    assert body["active"] is False
    assert body["displayName"] == "Ada L."
    assert body["name"]["givenName"] == "Ada"
    assert body["title"] == "Countess"


def test_patch_remove_with_path(tenant: Tenant) -> None:
    """remove with path "title" drops the title and keeps everything else."""
    ada = _create(tenant, "ada@example.com", displayName="Ada", title="Countess")
    response = _patch(tenant, ada["id"], {"op": "remove", "path": "title"})
    assert response.status_code == 200, response.text
    body = tenant.get(f"/Users/{ada['id']}").json()
    assert "title" not in body
    assert body["displayName"] == "Ada"


def test_patch_replace_value_path_sub_attribute(tenant: Tenant) -> None:
    """replace emails[type eq "work"].value changes only the work email."""
    emails = [
        {"value": "ada@work.example", "type": "work", "primary": True},
        {"value": "ada@home.example", "type": "home"},
    ]
    ada = _create(tenant, "ada@example.com", emails=emails)
    operation = {"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@new.example"}
    response = _patch(tenant, ada["id"], operation)
    assert response.status_code == 200, response.text
    got = {email["type"]: email for email in tenant.get(f"/Users/{ada['id']}").json()["emails"]}
    assert got["work"]["value"] == "a@new.example"
    assert got["work"].get("primary") is True
    assert got["home"]["value"] == "ada@home.example"
    found = _user_names(tenant, 'emails.value eq "a@new.example"')
    assert found == {"ada@example.com"}


def test_patch_replace_sub_attribute(tenant: Tenant) -> None:
    """replace name.givenName changes the given name and keeps the family name."""
    ada = _create(tenant, "ada@example.com", name={"givenName": "Ada", "familyName": "Byron"})
    operation = {"op": "replace", "path": "name.givenName", "value": "Augusta"}
    response = _patch(tenant, ada["id"], operation)
    assert response.status_code == 200, response.text
    name = tenant.get(f"/Users/{ada['id']}").json()["name"]
    assert name["givenName"] == "Augusta"
    assert name["familyName"] == "Byron"
    assert _user_names(tenant, 'name.givenName eq "augusta"') == {"ada@example.com"}


def test_patch_remove_filtered_value(tenant: Tenant) -> None:
    """remove emails[type eq "home"] removes the home email and leaves the work one."""
    emails = [
        {"value": "ada@work.example", "type": "work"},
        {"value": "ada@home.example", "type": "home"},
    ]
    ada = _create(tenant, "ada@example.com", emails=emails)
    response = _patch(tenant, ada["id"], {"op": "remove", "path": 'emails[type eq "home"]'})
    assert response.status_code == 200, response.text
    got = tenant.get(f"/Users/{ada['id']}").json()["emails"]
    assert [email["value"] for email in got] == ["ada@work.example"]


def test_patch_enterprise_attribute_by_urn_path(tenant: Tenant) -> None:
    """A path qualified by the enterprise URN changes that extension attribute."""
    ada = _create(tenant, "ada@example.com")
    path = f"{ENTERPRISE_URN}:department"
    response = _patch(tenant, ada["id"], {"op": "add", "path": path, "value": "Math"})
    assert response.status_code == 200, response.text
    body = tenant.get(f"/Users/{ada['id']}").json()
    assert body[ENTERPRISE_URN]["department"] == "Math"
    assert ENTERPRISE_URN in body["schemas"]


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "replace", "path": "nosuchattr", "value": "x"},
        {"op": "replace", "path": "active", "value": "notabool"},
        {"op": "replace", "path": "emails", "value": "not-a-list"},
        {"op": "frobnicate", "path": "title", "value": "x"},
    ],
)
def test_patch_is_atomic(tenant: Tenant, bad: dict[str, Any]) -> None:
    """When one operation is invalid the whole PATCH is refused with 400 and nothing changes."""
    ada = _create(tenant, "ada@example.com", displayName="Ada")
    response = _patch(
        tenant, ada["id"], {"op": "replace", "path": "displayName", "value": "Changed"}, bad
    )
    assert_scim_error(response, 400, response.json().get("scimType"))
    after = tenant.get(f"/Users/{ada['id']}").json()
    assert after["displayName"] == "Ada"
    assert after["meta"]["version"] == 'W/"1"'


def test_patch_invalid_value_detail_names_the_attribute(tenant: Tenant) -> None:
    """A PATCH writing a wrongly typed value gets a one-line detail naming the attribute."""
    ada = _create(tenant, "ada@example.com", name={"givenName": "Ada"})
    operation = {"op": "replace", "path": "name.givenName", "value": 5}
    body = assert_scim_error(_patch(tenant, ada["id"], operation), 400, "invalidValue")
    assert "givenName" in body["detail"]
    assert "\n" not in body["detail"]
    assert "pydantic" not in body["detail"]


def test_patch_ignores_foreign_extensions(tenant: Tenant) -> None:
    """PATCH operations on an extension the server does not define are ignored; the others apply."""
    # As POST and PUT ignore such an extension, so does PATCH: an IdP mapping custom
    # attributes must still be able to deactivate the user in the same request.
    ada = _create(tenant, "ada@example.com")
    response = _patch(
        tenant,
        ada["id"],
        {"op": "replace", "path": "urn:okta:custom:1.0:badge", "value": "42"},
        {"op": "replace", "value": {"urn:okta:custom:1.0:badge": "42", "title": "Countess"}},
        {"op": "replace", "path": "active", "value": False},
    )
    assert response.status_code == 200, response.text
    body = tenant.get(f"/Users/{ada['id']}").json()
    assert body["active"] is False
    assert body["title"] == "Countess"
    assert "urn:okta:custom:1.0" not in body["schemas"]
    only_foreign = {"op": "add", "path": "urn:okta:custom:1.0:badge", "value": "7"}
    response = _patch(tenant, ada["id"], only_foreign)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Countess"


def test_patch_with_empty_attributes_is_204(tenant: Tenant) -> None:
    """?attributes= (empty) asks for no body: 204, and the change is applied."""
    ada = _create(tenant, "ada@example.com")
    response = tenant.patch(
        f"/Users/{ada['id']}?attributes=",
        json=patch_body({"op": "replace", "path": "active", "value": False}),
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert tenant.get(f"/Users/{ada['id']}").json()["active"] is False


def test_patch_if_match(tenant: Tenant) -> None:
    """If-Match of an old version is 412 and changes nothing; of the current version, 200."""
    ada = _create(tenant, "ada@example.com")
    path_id = ada["id"]
    _patch(tenant, path_id, {"op": "replace", "path": "title", "value": "One"})
    stale = _patch(
        tenant,
        path_id,
        {"op": "replace", "path": "title", "value": "Two"},
        headers={"If-Match": 'W/"1"'},
    )
    assert_scim_error(stale, 412)
    assert tenant.get(f"/Users/{path_id}").json()["title"] == "One"
    current = _patch(
        tenant,
        path_id,
        {"op": "replace", "path": "title", "value": "Two"},
        headers={"If-Match": 'W/"2"'},
    )
    assert current.status_code == 200, current.text
    assert current.json()["title"] == "Two"


def test_patch_user_name_to_non_email_is_400(tenant: Tenant) -> None:
    """PATCH setting userName to something that is not an email is 400 and changes nothing."""
    ada = _create(tenant, "ada@example.com")
    response = _patch(tenant, ada["id"], {"op": "replace", "path": "userName", "value": "ada"})
    body = assert_scim_error(response, 400, "invalidValue")
    assert "userName" in body["detail"]
    assert tenant.get(f"/Users/{ada['id']}").json()["userName"] == "ada@example.com"


def test_patch_user_name_to_taken_one_is_409(tenant: Tenant) -> None:
    """PATCH setting userName to another user's is 409 uniqueness."""
    _create(tenant, "ada@example.com")
    bob = _create(tenant, "bob@example.com")
    operation = {"op": "replace", "path": "userName", "value": "Ada@example.com"}
    assert_scim_error(_patch(tenant, bob["id"], operation), 409, "uniqueness")


def test_patch_without_operations_is_400(tenant: Tenant) -> None:
    """A PatchOp body without Operations is refused with 400."""
    ada = _create(tenant, "ada@example.com")
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}
    response = tenant.patch(f"/Users/{ada['id']}", json=body)
    assert_scim_error(response, 400, response.json().get("scimType"))
    response = tenant.patch(f"/Users/{ada['id']}", json=patch_body())
    assert_scim_error(response, 400, response.json().get("scimType"))


def test_patch_unknown_id_is_404(tenant: Tenant) -> None:
    """PATCH of an id that does not exist is 404."""
    operation = {"op": "replace", "path": "active", "value": False}
    assert_scim_error(_patch(tenant, "nope", operation), 404)


def test_patch_keeps_the_password_hidden(tenant: Tenant) -> None:
    """PATCH setting a password is accepted and the password is never shown."""
    ada = _create(tenant, "ada@example.com")
    response = _patch(tenant, ada["id"], {"op": "replace", "path": "password", "value": "n3w!"})
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    assert "password" not in tenant.get(f"/Users/{ada['id']}").json()


# --- DELETE /Users/{id} (RFC 7644 §3.6) --------------------------------------------------


def test_delete_is_204_then_404(tenant: Tenant) -> None:
    """DELETE answers 204; afterwards GET and a second DELETE answer 404."""
    ada = _create(tenant, "ada@example.com")
    response = tenant.delete(f"/Users/{ada['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_scim_error(tenant.get(f"/Users/{ada['id']}"), 404)
    assert_scim_error(tenant.delete(f"/Users/{ada['id']}"), 404)
    assert _list(tenant)["totalResults"] == 0


def test_delete_with_stale_if_match_is_412(tenant: Tenant) -> None:
    """DELETE with an If-Match of an old version is 412 and the user stays."""
    ada = _create(tenant, "ada@example.com")
    _patch(tenant, ada["id"], {"op": "replace", "path": "title", "value": "One"})
    response = tenant.delete(f"/Users/{ada['id']}", headers={"If-Match": 'W/"1"'})
    assert_scim_error(response, 412)
    assert tenant.get(f"/Users/{ada['id']}").status_code == 200
    response = tenant.delete(f"/Users/{ada['id']}", headers={"If-Match": 'W/"2"'})
    assert response.status_code == 204


def test_deleted_user_name_can_be_reused(tenant: Tenant) -> None:
    """After DELETE the userName is free again, and the new user gets a new id."""
    ada = _create(tenant, "ada@example.com")
    assert tenant.delete(f"/Users/{ada['id']}").status_code == 204
    again = _create(tenant, "ada@example.com")
    assert again["id"] != ada["id"]


def test_deleted_user_leaves_its_groups(tenant: Tenant) -> None:
    """A deleted user no longer appears among the members of its groups."""
    ada = _create(tenant, "ada@example.com")
    bob = _create(tenant, "bob@example.com")
    response = tenant.post("/Groups", json=group_body("g", [ada["id"], bob["id"]]))
    assert response.status_code == 201, response.text
    group_id = response.json()["id"]
    assert tenant.delete(f"/Users/{ada['id']}").status_code == 204
    members = tenant.get(f"/Groups/{group_id}").json().get("members", [])
    assert [member["value"] for member in members] == [bob["id"]]
    assert tenant.delete(f"/Users/{bob['id']}").status_code == 204
    assert tenant.get(f"/Groups/{group_id}").json().get("members", []) == []


def test_groups_in_the_body_are_ignored(tenant: Tenant) -> None:
    """A groups value sent on POST is ignored: groups is readOnly (RFC 7643 §4.1.2)."""
    ada = _create(tenant, "ada@example.com", groups=[{"value": "made-up"}])
    assert "groups" not in ada or ada["groups"] == []
