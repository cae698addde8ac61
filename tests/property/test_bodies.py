"""Request bodies under generated input: any JSON, any bytes, on every writing endpoint.

Whatever arrives, the answer is never a 5xx, and an error is an RFC 7644 §3.12 Error
body whose ``status`` is the HTTP status as a string, bulk operation results
included. Valid User bodies read back as sent.
"""

import itertools
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.conftest import SCIM_JSON, Tenant, assert_scim_error, group_body, user_body

from .profiles import budget
from .strategies import (
    BULK_URN,
    ENTERPRISE_URN,
    PATCH_URN,
    SEARCH_URN,
    json_values,
    random_bytes,
    user_bodies,
    with_known_keys,
)

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
KNOWN_KEYS = [
    "schemas",
    "userName",
    "name",
    "emails",
    "active",
    "displayName",
    "members",
    "externalId",
    "Operations",
    "op",
    "path",
    "value",
    "filter",
    "startIndex",
    "count",
    "sortBy",
    "method",
    "bulkId",
    "data",
    "failOnErrors",
    "attributes",
    "phoneNumbers",
    ENTERPRISE_URN,
]
ENVELOPES = [
    [],
    [BULK_URN],
    [SEARCH_URN],
    [PATCH_URN],
    ["urn:ietf:params:scim:schemas:core:2.0:User"],
]


@pytest.fixture
def targets(tenant: Tenant) -> list[tuple[str, str]]:
    """(method, path) of every endpoint that reads a body, with real ids."""
    user = tenant.post("/Users", json=user_body("body@example.com")).json()["id"]
    group = tenant.post("/Groups", json=group_body("Body", [user])).json()["id"]
    return [
        ("POST", "/Users"),
        ("POST", "/Groups"),
        ("PUT", f"/Users/{user}"),
        ("PUT", f"/Groups/{group}"),
        ("PATCH", f"/Users/{user}"),
        ("PATCH", f"/Groups/{group}"),
        ("POST", "/Bulk"),
        ("POST", "/.search"),
        ("POST", "/Users/.search"),
        ("POST", "/Groups/.search"),
    ]


def _check_error_body(status: int, body: Any) -> None:
    assert isinstance(body, dict) and body.get("schemas") == [ERROR_URN], body
    assert body.get("status") == str(status), body


def _check_answer(response: Any) -> None:
    """Never a 5xx; errors are SCIM Errors, bulk operation results too."""
    assert response.status_code < 500, response.text
    event(f"answered {response.status_code}")
    if response.status_code >= 400:
        assert_scim_error(response, response.status_code, response.json().get("scimType"))
        return
    body = response.json() if response.content else None
    if isinstance(body, dict) and isinstance(body.get("Operations"), list):
        for result in body["Operations"]:
            status = int(result["status"])
            assert status < 500, result
            if status >= 400:
                _check_error_body(status, result.get("response"))


documents = st.one_of(
    json_values,
    with_known_keys(KNOWN_KEYS),
    # A right envelope around wrong content, so the parser goes past the schemas check.
    st.builds(
        lambda urns, rest: {**rest, "schemas": urns},
        st.sampled_from(ENVELOPES),
        with_known_keys(KNOWN_KEYS),
    ),
)


def test_any_json_body_gets_a_scim_answer(
    tenant: Tenant, targets: list[tuple[str, str]], dialect: str
) -> None:
    """Random JSON documents on every endpoint that reads a body."""

    @budget(dialect, 1.0)
    @given(st.sampled_from(targets), documents)
    def check(target: tuple[str, str], document: Any) -> None:
        method, path = target
        _check_answer(tenant.request(method, path, json=document))

    check()


def test_any_bytes_get_a_scim_answer(
    tenant: Tenant, targets: list[tuple[str, str]], dialect: str
) -> None:
    """Random bytes (not JSON, not UTF-8, NaN, lone surrogates, deep nesting) as bodies."""

    @budget(dialect, 0.6)
    @given(
        st.sampled_from(targets),
        random_bytes,
        st.sampled_from([SCIM_JSON, "application/json", "text/plain", ""]),
    )
    def check(target: tuple[str, str], raw: bytes, content_type: str) -> None:
        method, path = target
        headers = {"Content-Type": content_type} if content_type else {}
        _check_answer(tenant.request(method, path, content=raw, headers=headers))

    check()


def _without_phones(resource: dict[str, Any]) -> dict[str, Any]:
    # docs/concepts.md: phone numbers are normalized to E.164 for the person; what SCIM
    # returns is compared apart, on the values' types only.
    return {key: value for key, value in resource.items() if key != "phoneNumbers"}


def test_valid_user_bodies_read_back_as_sent(tenant: Tenant, dialect: str) -> None:
    """POST a valid User, then GET: every attribute sent reads back as sent."""

    serial = itertools.count()

    @budget(dialect, 0.8)
    @given(user_bodies())
    def check(body: dict[str, Any]) -> None:
        # Hypothesis replays and shrinks examples: each one is a new user to provision.
        number = next(serial)
        body["userName"] = f"{number}.{body['userName']}"
        if "externalId" in body:
            body["externalId"] += f" {number}"
        created = tenant.post("/Users", json=body)
        assert created.status_code == 201, created.text
        read = tenant.get(f"/Users/{created.json()['id']}")
        assert read.json() == created.json()
        shown = read.json()
        for key, value in _without_phones(body).items():
            if key == "schemas":
                assert set(shown["schemas"]) == set(value)
            else:
                assert shown[key] == value, key
        if "phoneNumbers" in body:
            assert [p.get("type") for p in shown["phoneNumbers"]] == ["work"]
        assert shown.get("active", True) is body.get("active", True)

    check()
