"""GET /Users?filter= on attributes kept in the stored document (RFC 7644 §3.4.2.2)."""

from typing import Any

import pytest

from tests.conftest import Tenant, assert_scim_error, user_body

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADA, BOB, CY = "ada@example.com", "bob@example.com", "cy@example.org"


def _create(tenant: Tenant, user_name: str, **attributes: Any) -> str:
    body = user_body(user_name, **attributes)
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


@pytest.fixture
def ada_id(tenant: Tenant) -> str:
    """Three users whose document-held attributes differ; returns Ada's id."""
    ada = _create(
        tenant,
        ADA,
        name={"givenName": "Ada", "familyName": "Lovelace"},
        title="Senior Analyst",
        phoneNumbers=[{"value": "+1 555 0100", "type": "work"}],
        addresses=[{"type": "work", "locality": "Paris", "country": "FR"}],
        **{ENTERPRISE_URN: {"employeeNumber": "7", "department": "Research"}},
    )
    _create(
        tenant,
        BOB,
        name={"givenName": "Bob", "familyName": "Babbage"},
        title="Engineer",
        # A 555 number and a work number, but not one 555 work number.
        phoneNumbers=[
            {"value": "+1 555 0199", "type": "home"},
            {"value": "+1 444 0100", "type": "work"},
        ],
        addresses=[{"type": "home", "locality": "Lyon", "country": "FR"}],
        **{ENTERPRISE_URN: {"employeeNumber": "70", "manager": {"value": ada}}},
    )
    _create(tenant, CY, name={"familyName": "Lovell"}, title="analyst")
    return ada


def _user_names(tenant: Tenant, filter_text: str) -> set[str]:
    response = tenant.get("/Users", params={"filter": filter_text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["totalResults"] == len(body["Resources"])
    return {resource["userName"] for resource in body["Resources"]}


def test_enterprise_employee_number_fully_qualified(tenant: Tenant, ada_id: str) -> None:
    """RFC 7644 §3.10: an extension attribute may be named by its schema URN."""
    assert _user_names(tenant, f'{ENTERPRISE_URN}:employeeNumber eq "7"') == {ADA}


def test_phone_numbers_value_filter_holds_for_one_value(tenant: Tenant, ada_id: str) -> None:
    """RFC 7644 §3.4.2.2: all terms of a [valFilter] apply to the same value."""
    assert _user_names(tenant, 'phoneNumbers[type eq "work" and value co "555"]') == {ADA}


def test_title_co_is_case_insensitive(tenant: Tenant, ada_id: str) -> None:
    """RFC 7643 §4.1.1: title has caseExact false, so co ignores case."""
    assert _user_names(tenant, 'title co "ANALYST"') == {ADA, CY}


def test_addresses_value_filter_on_locality(tenant: Tenant, ada_id: str) -> None:
    """RFC 7644 §3.4.2.2: a value filter selects addresses by a sub-attribute."""
    assert _user_names(tenant, 'addresses[locality eq "Paris"]') == {ADA}


def test_name_family_name_sw(tenant: Tenant, ada_id: str) -> None:
    """RFC 7644 §3.4.2.2: sw matches a prefix of a sub-attribute."""
    assert _user_names(tenant, 'name.familyName sw "LOVE"') == {ADA, CY}


def test_manager_value_eq(tenant: Tenant, ada_id: str) -> None:
    """RFC 7643 §4.3: manager.value holds the manager's id and is filterable."""
    assert _user_names(tenant, f'manager.value eq "{ada_id}"') == {BOB}


def test_unknown_attribute_is_invalid_filter(tenant: Tenant, ada_id: str) -> None:
    """RFC 7644 §3.4.2.2: an unknown attribute in a filter is 400 invalidFilter."""
    response = tenant.get("/Users", params={"filter": 'favouriteColour eq "red"'})
    body = assert_scim_error(response, 400, "invalidFilter")
    assert "favouriteColour" in body["detail"]
