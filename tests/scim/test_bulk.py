"""The /Bulk endpoint over HTTP (RFC 7644 §3.7)."""

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimgate.app import create_app
from scimgate.config import Settings
from scimgate.domain import groups, organizations
from scimgate.storage.database import Database
from tests.conftest import (
    Tenant,
    TenantFactory,
    assert_scim_error,
    group_body,
    patch_body,
    user_body,
)

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _op(method: str, path: str, data: Any = None, **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"method": method, "path": path, **extra}
    if data is not None:
        operation["data"] = data
    return operation


def _request(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}


def _bulk(tenant: Tenant, *operations: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    response = tenant.post("/Bulk", json=_request(*operations, **extra))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [BULK_RESPONSE]
    results: list[dict[str, Any]] = body["Operations"]
    return results


def _succeeded(result: dict[str, Any], status: int) -> str:
    """Check a successful result and return the id at the end of its location."""
    assert result["status"] == str(status), result
    assert "response" not in result
    location: str = result["location"]
    return location.rsplit("/", 1)[1]


def _failed(result: dict[str, Any], status: int, scim_type: str | None = None) -> str:
    """Check a failed result, whose response is a SCIM Error; return its detail."""
    assert result["status"] == str(status), result
    error = result["response"]
    assert error["schemas"] == [ERROR]
    assert error["status"] == str(status)
    assert error.get("scimType") == scim_type
    detail: str = error["detail"]
    assert detail
    return detail


def _member_ids(tenant: Tenant, group_id: str) -> list[str]:
    response = tenant.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return [member["value"] for member in response.json().get("members", [])]


def _count(tenant: Tenant, endpoint: str) -> int:
    total: int = tenant.get(endpoint).json()["totalResults"]
    return total


@pytest.fixture
def limited(settings: Settings, database: Database, make_tenant: TenantFactory) -> Iterator[Tenant]:
    """A tenant on an app allowing 2 operations and 1000 bytes per bulk request."""
    strict = settings.model_copy(update={"bulk_max_operations": 2, "bulk_max_payload_bytes": 1000})
    with TestClient(create_app(strict, db=database), raise_server_exceptions=False) as client:
        yield dataclasses.replace(make_tenant("limited"), client=client)


# --- Operations and bulkId references (RFC 7644 §3.7, §3.7.2) ----------------------------


def test_user_and_group_referencing_it_in_one_request(tenant: Tenant) -> None:
    """A POST's bulkId stands for the new user's id in a later group's members (§3.7.2)."""
    results = _bulk(
        tenant,
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
        _op("POST", "/Groups", group_body("Eng", ["bulkId:ada"]), bulkId="eng"),
    )
    assert [(r["method"], r["bulkId"]) for r in results] == [("POST", "ada"), ("POST", "eng")]
    user_id, group_id = _succeeded(results[0], 201), _succeeded(results[1], 201)
    user = tenant.get(f"/Users/{user_id}").json()
    assert user["userName"] == "ada@example.com"
    assert results[0]["location"] == user["meta"]["location"]
    assert results[0]["version"] == user["meta"]["version"] == 'W/"1"'
    assert results[1]["location"].endswith(f"/scim/v2/Groups/{group_id}")
    assert _member_ids(tenant, group_id) == [user_id]


def test_forward_reference_to_a_later_post(tenant: Tenant) -> None:
    """A group naming a user created later in the request is deferred, then runs (§3.7.2)."""
    results = _bulk(
        tenant,
        _op("POST", "/Groups", group_body("Eng", ["bulkId:ada"]), bulkId="eng"),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
    )
    assert [r["bulkId"] for r in results] == ["eng", "ada"]
    group_id, user_id = _succeeded(results[0], 201), _succeeded(results[1], 201)
    assert _member_ids(tenant, group_id) == [user_id]


def test_bulk_id_reference_in_path(tenant: Tenant) -> None:
    """A path such as /Users/bulkId:ada addresses the user that POST created (§3.7.2)."""
    rename = patch_body({"op": "replace", "path": "displayName", "value": "Ada L."})
    results = _bulk(
        tenant,
        _op("PATCH", "/Users/bulkId:ada", rename),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
    )
    user_id = _succeeded(results[1], 201)
    assert _succeeded(results[0], 200) == user_id
    assert results[0]["version"] == 'W/"2"'
    assert tenant.get(f"/Users/{user_id}").json()["displayName"] == "Ada L."


def test_unknown_bulk_id_fails_only_that_operation(tenant: Tenant) -> None:
    """A reference no POST declares fails its operation with 409; the others run (§3.7.3)."""
    results = _bulk(
        tenant,
        _op("POST", "/Groups", group_body("Eng", ["bulkId:nobody"]), bulkId="eng"),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
    )
    assert "bulkId:nobody" in _failed(results[0], 409)
    assert "location" not in results[0]
    _succeeded(results[1], 201)
    assert _count(tenant, "/Groups") == 0
    assert _count(tenant, "/Users") == 1


def test_reference_to_a_failed_post_is_409(tenant: Tenant) -> None:
    """An operation naming the bulkId of a POST that failed fails with 409 (§3.7.3)."""
    results = _bulk(
        tenant,
        _op("POST", "/Users", user_body("not an email"), bulkId="ada"),
        _op("POST", "/Groups", group_body("Eng", ["bulkId:ada"]), bulkId="eng"),
    )
    _failed(results[0], 400, "invalidValue")
    assert "bulkId:ada" in _failed(results[1], 409)
    assert _count(tenant, "/Groups") == 0


def test_circular_reference_fails_both_operations(tenant: Tenant) -> None:
    """Two POSTs naming each other's bulkId both fail with 409; the rest still runs (§3.7.1)."""
    results = _bulk(
        tenant,
        _op("POST", "/Groups", group_body("A", ["bulkId:b"]), bulkId="a"),
        _op("POST", "/Groups", group_body("B", ["bulkId:a"]), bulkId="b"),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
    )
    assert "bulkId:b" in _failed(results[0], 409)
    assert "bulkId:a" in _failed(results[1], 409)
    assert "circular" in results[1]["response"]["detail"]
    _succeeded(results[2], 201)
    assert _count(tenant, "/Groups") == 0


def test_post_referring_to_its_own_bulk_id_is_409(tenant: Tenant) -> None:
    """A POST whose data names its own bulkId is a circular reference (§3.7.1)."""
    [result] = _bulk(tenant, _op("POST", "/Groups", group_body("A", ["bulkId:a"]), bulkId="a"))
    assert "bulkId:a" in _failed(result, 409)


# --- failOnErrors and atomicity (RFC 7644 §3.7, §3.7.3) -----------------------------------


def test_fail_on_errors_stops_after_that_many_failures(tenant: Tenant) -> None:
    """failOnErrors=1: after the first failure nothing more runs or is listed (§3.7.3)."""
    results = _bulk(
        tenant,
        _op("POST", "/Users", user_body("not an email"), bulkId="bad"),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
        failOnErrors=1,
    )
    assert len(results) == 1
    _failed(results[0], 400, "invalidValue")
    assert _count(tenant, "/Users") == 0


def test_fail_on_errors_counts_failures(tenant: Tenant) -> None:
    """failOnErrors=2 lets the operations between the first and second failure run (§3.7.3)."""
    results = _bulk(
        tenant,
        _op("POST", "/Users", user_body("bad"), bulkId="one"),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
        _op("POST", "/Users", user_body("also bad"), bulkId="two"),
        _op("POST", "/Users", user_body("bob@example.com"), bulkId="bob"),
        failOnErrors=2,
    )
    assert [r["status"] for r in results] == ["400", "201", "400"]
    assert _count(tenant, "/Users") == 1


def test_each_operation_is_atomic(tenant: Tenant) -> None:
    """A failing operation writes nothing, and the operations before it stay written (§3.7)."""
    missing = "0123456789abcdef0123456789abcdef"
    results = _bulk(
        tenant,
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
        _op("POST", "/Groups", group_body("Eng", ["bulkId:ada", missing]), bulkId="eng"),
        _op("POST", "/Users", user_body("ADA@example.com"), bulkId="again"),
    )
    user_id = _succeeded(results[0], 201)
    assert missing in _failed(results[1], 400, "invalidValue")
    _failed(results[2], 409, "uniqueness")
    assert _count(tenant, "/Groups") == 0
    assert tenant.get("/Users").json()["Resources"][0]["id"] == user_id


def test_put_patch_delete_with_versions(tenant: Tenant) -> None:
    """version is sent as If-Match: a stale one is 412 in that operation (§3.7, §3.14)."""
    user_id = tenant.post("/Users", json=user_body("ada@example.com")).json()["id"]
    path = f"/Users/{user_id}"
    deactivate = patch_body({"op": "replace", "path": "active", "value": False})
    results = _bulk(
        tenant,
        _op("PUT", path, user_body("ada@example.com", displayName="Ada"), version='W/"1"'),
        _op("PATCH", path, deactivate, version='W/"1"'),
        _op("DELETE", path, version='W/"2"'),
    )
    assert _succeeded(results[0], 200) == user_id
    assert results[0]["version"] == 'W/"2"'
    _failed(results[1], 412)
    assert results[1]["location"].endswith(f"/scim/v2{path}")
    assert _succeeded(results[2], 204) == user_id
    assert "version" not in results[2]
    assert_scim_error(tenant.get(path), 404)


def test_group_put_and_patch(tenant: Tenant) -> None:
    """PUT and PATCH on a group work as the single endpoints do, unversioned (§3.7).

    A group PATCH answers 204 on its own, so it does here; its result still carries
    the location and the new version (§3.7.3).
    """
    ada = tenant.post("/Users", json=user_body("ada@example.com")).json()["id"]
    group_id = tenant.post("/Groups", json=group_body("Eng")).json()["id"]
    add = patch_body({"op": "add", "path": "members", "value": [{"value": ada}]})
    results = _bulk(
        tenant,
        _op("PUT", f"/Groups/{group_id}", group_body("Engineering")),
        _op("PATCH", f"/Groups/{group_id}", add),
    )
    assert _succeeded(results[0], 200) == _succeeded(results[1], 204) == group_id
    assert results[0]["version"] == 'W/"2"'
    assert results[1]["version"] == 'W/"3"'
    assert tenant.get(f"/Groups/{group_id}").json()["displayName"] == "Engineering"
    assert _member_ids(tenant, group_id) == [ada]


def test_unexpected_error_is_a_500_in_that_operation_only(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server fault in one operation is its 500 result; the job goes on (§3.7.3)."""

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(groups, "create", broken)
    results = _bulk(
        tenant,
        _op("POST", "/Groups", group_body("Eng"), bulkId="eng"),
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"),
    )
    assert "disk on fire" not in _failed(results[0], 500)
    _succeeded(results[1], 201)


def test_locations_follow_the_base_url_used(tenant: Tenant) -> None:
    """Through /scim rather than /scim/v2, operations run and locations name /scim (§3.7)."""
    short = dataclasses.replace(tenant, prefix="/scim")
    [result] = _bulk(short, _op("POST", "/Users", user_body("ada@example.com"), bulkId="ada"))
    user_id = _succeeded(result, 201)
    assert result["location"] == f"http://testserver/scim/Users/{user_id}"


# --- Invalid operations and requests (RFC 7644 §3.7.3, §3.7.4, §3.12) ---------------------


@pytest.mark.parametrize(
    ("operation", "scim_type", "said"),
    [
        (_op("GET", "/Users"), "invalidValue", "method"),
        (
            {"path": "/Users", "data": user_body("a@example.com"), "bulkId": "x"},
            "invalidValue",
            "method",
        ),
        (_op("POST", "/Users", user_body("a@example.com")), "invalidValue", "bulkId"),
        (_op("POST", "/Users", bulkId="x"), "invalidValue", "data"),
        (_op("PATCH", "/Users/1", "replace"), "invalidValue", "data"),
        (_op("DELETE", "/Users/1", version=3), "invalidValue", "version"),
        (_op("POST", "/Bulk", _request(), bulkId="x"), "invalidPath", "/Bulk"),
        (_op("DELETE", "/Schemas/x"), "invalidPath", "/Schemas/x"),
        (_op("DELETE", "/Users/1/2"), "invalidPath", "/Users/1/2"),
        ({"method": "DELETE"}, "invalidPath", "path"),
    ],
)
def test_invalid_operation_fails_alone(
    tenant: Tenant, operation: dict[str, Any], scim_type: str, said: str
) -> None:
    """An operation that cannot run is a 400 in its result; the next one still runs (§3.7.3)."""
    results = _bulk(
        tenant, operation, _op("POST", "/Users", user_body("ok@example.com"), bulkId="ok")
    )
    assert said in _failed(results[0], 400, scim_type)
    _succeeded(results[1], 201)


def test_duplicate_bulk_id_is_refused(tenant: Tenant) -> None:
    """A second POST declaring the same bulkId fails; references use the first (§3.7)."""
    results = _bulk(
        tenant,
        _op("POST", "/Users", user_body("ada@example.com"), bulkId="u"),
        _op("POST", "/Users", user_body("bob@example.com"), bulkId="u"),
        _op("POST", "/Groups", group_body("Eng", ["bulkId:u"]), bulkId="eng"),
    )
    ada = _succeeded(results[0], 201)
    assert "Operations[0]" in _failed(results[1], 400, "invalidValue")
    assert _member_ids(tenant, _succeeded(results[2], 201)) == [ada]


def test_method_on_the_wrong_path_gets_the_endpoints_answer(tenant: Tenant) -> None:
    """DELETE /Users (no id) is a 405 in the result, as the endpoint itself answers (§3.7)."""
    [result] = _bulk(tenant, _op("DELETE", "/Users"))
    _failed(result, 405)


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": []}, "invalidSyntax"),
        (
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
            "invalidSyntax",
        ),
        ({"schemas": [BULK_REQUEST]}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST], "Operations": {"method": "POST"}}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST], "Operations": ["POST /Users"]}, "invalidSyntax"),
        (_request(failOnErrors="1"), "invalidValue"),
        (_request(failOnErrors=0), "invalidValue"),
        (_request(failOnErrors=True), "invalidValue"),
    ],
)
def test_malformed_bulk_request_is_400(
    tenant: Tenant, body: dict[str, Any], scim_type: str
) -> None:
    """A body that is not a BulkRequest is refused as a whole with 400 (§3.7, §3.12)."""
    assert_scim_error(tenant.post("/Bulk", json=body), 400, scim_type)


def test_bulk_body_not_json_is_400(tenant: Tenant) -> None:
    """A body that is not JSON is 400 invalidSyntax (RFC 7644 §3.7, §3.12)."""
    response = tenant.post(
        "/Bulk", content=b'{"schemas": [', headers={"Content-Type": "application/scim+json"}
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_empty_operations_answers_an_empty_list(tenant: Tenant) -> None:
    """A BulkRequest with no operations answers a BulkResponse with none (§3.7)."""
    assert _bulk(tenant) == []


def test_attribute_names_are_case_insensitive(tenant: Tenant) -> None:
    """operations, METHOD and bulkid are read as Operations, method and bulkId (RFC 7643 §2.1)."""
    body = {
        "schemas": [BULK_REQUEST],
        "operations": [
            {"METHOD": "post", "Path": "/Users", "bulkid": "a", "DATA": user_body("a@example.com")}
        ],
    }
    response = tenant.post("/Bulk", json=body)
    assert response.status_code == 200, response.text
    [result] = response.json()["Operations"]
    assert (result["method"], result["bulkId"], result["status"]) == ("POST", "a", "201")


def test_too_many_operations_is_413(limited: Tenant) -> None:
    """More operations than maxOperations is 413 naming the limit, and nothing runs (§3.7.4)."""
    operations = [
        _op("POST", "/Users", user_body(f"u{n}@example.com"), bulkId=f"u{n}") for n in range(3)
    ]
    response = limited.post("/Bulk", json=_request(*operations))
    assert "at most 2 operations" in assert_scim_error(response, 413)["detail"]
    assert _count(limited, "/Users") == 0
    assert len(_bulk(limited, *operations[:2])) == 2


def test_payload_too_large_is_413(limited: Tenant) -> None:
    """A body larger than maxPayloadSize is 413 naming the limit, and nothing runs (§3.7.4)."""
    big = user_body("ada@example.com", displayName="x" * 1000)
    response = limited.post("/Bulk", json=_request(_op("POST", "/Users", big, bulkId="a")))
    assert "1000 bytes" in assert_scim_error(response, 413)["detail"]
    assert _count(limited, "/Users") == 0


# --- Authentication and tenancy (RFC 7644 §2, §3.7) ---------------------------------------


def test_no_authorization_is_401(tenant: Tenant) -> None:
    """Without a bearer token the whole bulk request is 401 and nothing runs (§3.7, §2)."""
    body = _request(_op("POST", "/Users", user_body("ada@example.com"), bulkId="a"))
    response = tenant.client.post("/scim/v2/Bulk", json=body)
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _count(tenant, "/Users") == 0


def test_bulk_cannot_touch_another_organizations_user(make_tenant: TenantFactory) -> None:
    """B's bulk operations on A's user are each 404 and change nothing (§3.7)."""
    a, b = make_tenant("a"), make_tenant("b")
    user_id = a.post("/Users", json=user_body("ada@example.com")).json()["id"]
    path = f"/Users/{user_id}"
    deactivate = patch_body({"op": "replace", "path": "active", "value": False})
    results = _bulk(
        b,
        _op("PUT", path, user_body("x@example.com")),
        _op("PATCH", path, deactivate),
        _op("DELETE", path),
        _op("POST", "/Groups", group_body("Mine", [user_id]), bulkId="g"),
    )
    for result in results[:3]:
        _failed(result, 404)
    assert user_id in _failed(results[3], 400, "invalidValue")
    still = a.get(path).json()
    assert (still["userName"], still["active"], still["meta"]["version"]) == (
        "ada@example.com",
        True,
        'W/"1"',
    )


def test_operations_are_seen_as_coming_from_the_client_that_sent_the_bulk(
    tenant: Tenant, database: Database
) -> None:
    """Each operation carries the request's User-Agent: the IdP is recognized from it.

    Without it every operation looked like a client sending none (Entra's one sign), so a
    bulk from a client no User-Agent names made the organization's detected IdP "entra".
    """
    plain = _request(_op("POST", "/Users", user_body("bob@example.com"), bulkId="b"))
    assert tenant.post("/Bulk", json=plain, headers={"User-Agent": "curl/8.0"}).status_code == 200
    with database.transaction() as session:
        assert organizations.get(session, tenant.org_id).detected_idp is None
    request = _request(_op("POST", "/Users", user_body("ada@example.com"), bulkId="a"))
    answer = tenant.post("/Bulk", json=request, headers={"User-Agent": "Okta SCIM Client 1.0.0"})
    assert answer.status_code == 200, answer.text
    with database.transaction() as session:
        org = organizations.get(session, tenant.org_id)
        assert (org.detected_idp, org.detected_user_agent) == ("okta", "Okta SCIM Client 1.0.0")
