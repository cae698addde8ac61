"""Rippling's custom SCIM app, replayed from the note's template: UNVERIFIED SHAPES.

The spec is docs/idp/quirks-google-keycloak-rippling.md, section "Rippling". No request
log of Rippling is public. What is sourced: the connection test reads
``/ServiceProviderConfig`` (authn.sh guide), the attributes the app sends (``externalId``,
``emails.primary``, ``name.givenName``, ``name.familyName``, WorkOS; ``employeeNumber``,
Kombo) and the switches that pick the group requests (groups, create & delete groups,
PATCH to edit groups, pagination; WorkOS, Kombo). Unverified, replayed in every form
the switches allow until a capture replaces them:

- the User-Agent (``Rippling`` here is a placeholder) and the Content-Type (both JSON
  media types are replayed);
- the lookup (``userName`` or ``externalId`` filter, with ``startIndex``/``count`` as
  Supports Pagination implies);
- the user update (PATCH ``replace`` or PUT), termination and rehire (``active``
  false/true, by either method) and the DELETE after a termination;
- the group member PATCH dialect (a ``value`` list or a ``members[value eq]`` filter);
- which schema carries ``employeeNumber`` (the enterprise extension here).

Switch set of docs/idp/rippling.md: groups on, create & delete groups on, PATCH for
groups on (and off: PUT), pagination on (and off: one unpaged list), mutually exclusive
groups off.

State a test starts from is set up through the ``tenant`` fixture's plain SCIM client;
only the requests under test are Rippling's, so each test stands for one step. What
Rippling checks in our answers is unknown beyond keeping the ``id`` of a 201: a PATCH
may answer 200 with the resource or 204, and is read back.
"""

from typing import Any

import pytest

from scimgate.storage.database import Database
from tests.conftest import Tenant, group_body, user_body
from tests.idp.replay import (
    ENTERPRISE_URN,
    GROUP_URN,
    USER_URN,
    Replayer,
    assert_created,
    assert_error,
    assert_list,
    assert_no_content,
    assert_no_content_or_resource,
    assert_resource,
    assert_scim_json,
    detected_idp,
    patch_op,
    query,
    stored_state,
)

# Unverified placeholder: no public capture shows Rippling's User-Agent.
USER_AGENT = "Rippling"
SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
ADA = "ada@example.com"
ADA_EMPLOYEE_ID = "rippling-employee-id"


@pytest.fixture(params=["application/scim+json", "application/json"], ids=["scim+json", "json"])
def rippling(request: pytest.FixtureRequest, server_url: str, tenant: Tenant) -> Replayer:
    """Rippling's custom app with a Bearer token; its Content-Type is unknown, so both."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": str(request.param)}
    return Replayer(server_url, tenant.token, headers)


def rippling_user(user_name: str = ADA, **changes: Any) -> dict[str, Any]:
    """The note's first-capture template: the app's supported attributes."""
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "externalId": ADA_EMPLOYEE_ID,
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "primary": True}],
        "active": True,
    }
    body.update(changes)
    return body


def seed(tenant: Tenant, user_name: str = ADA, **extra: Any) -> str:
    """Provision a user through plain SCIM (not as Rippling); return its id."""
    response = tenant.post("/Users", json=user_body(user_name, **extra))
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def seed_group(tenant: Tenant, members: list[str], name: str = "Engineering") -> str:
    """Create a group through plain SCIM; return its id."""
    response = tenant.post("/Groups", json=group_body(name, members))
    assert response.status_code == 201, response.text
    group_id: str = response.json()["id"]
    return group_id


def member_ids(tenant: Tenant, group_id: str) -> set[str]:
    """The group's members, read back through plain SCIM."""
    response = tenant.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {entry["value"] for entry in response.json().get("members", [])}


def paged(filter_text: str | None = None, start: int = 1, count: int = 100) -> str:
    """A /Users list as Supports Pagination implies: startIndex and count."""
    pairs = [("filter", filter_text)] if filter_text else []
    return "/Users" + query(*pairs, ("startIndex", str(start)), ("count", str(count)))


def fetch(tenant: Tenant, user_id: str) -> dict[str, Any]:
    """Read a user back through plain SCIM."""
    response = tenant.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def set_active(rippling: Replayer, user_id: str, active: bool, method: str) -> None:
    """Terminate or rehire with PATCH replace active, or with a PUT of the template."""
    target = f"/Users/{user_id}"
    if method == "PATCH":
        operation = {"op": "replace", "path": "active", "value": active}
        assert_no_content_or_resource(rippling.patch(target, patch_op(operation)))
    else:
        assert assert_resource(rippling.put(target, rippling_user(active=active)))["id"] == user_id


# Connection test


def test_connection_test_reads_the_service_provider_config(rippling: Replayer) -> None:
    """Test connection: GET /ServiceProviderConfig: https://authn-sh-docs.pages.dev/guides/scim/rippling/"""
    reply = rippling.get("/ServiceProviderConfig")
    assert reply.status == 200, reply
    assert_scim_json(reply)
    config = reply.body
    assert config["schemas"] == [SPC_URN]
    assert config["patch"]["supported"] is True
    assert config["filter"]["supported"] is True
    schemes = [scheme["type"] for scheme in config["authenticationSchemes"]]
    assert "oauthbearertoken" in schemes


def test_connection_test_without_a_token_is_refused(rippling: Replayer) -> None:
    """Test connection with no token: https://authn-sh-docs.pages.dev/guides/scim/rippling/"""
    reply = rippling.get("/ServiceProviderConfig", headers={"Authorization": None})
    assert_error(reply, 401)


# Lookup


def test_lookup_by_user_name(tenant: Tenant, rippling: Replayer) -> None:
    """userName filter, paged (unverified): https://workos.com/docs/integrations/rippling-scim"""
    target = paged(f'userName eq "{ADA}"')
    assert assert_list(rippling.get(target), 0) == []
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID)
    seed(tenant, "bob@example.com")
    (found,) = assert_list(rippling.get(target), 1)
    assert (found["id"], found["userName"], found["externalId"]) == (
        user_id,
        ADA,
        ADA_EMPLOYEE_ID,
    )


def test_lookup_by_external_id(tenant: Tenant, rippling: Replayer) -> None:
    """externalId filter, paged (unverified): https://workos.com/docs/integrations/rippling-scim"""
    target = paged(f'externalId eq "{ADA_EMPLOYEE_ID}"')
    assert assert_list(rippling.get(target), 0) == []
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID)
    seed(tenant, "bob@example.com", externalId="another-employee-id")
    (found,) = assert_list(rippling.get(target), 1)
    assert found["id"] == user_id


# Create


def test_create_from_the_template(tenant: Tenant, database: Database, rippling: Replayer) -> None:
    """POST with the app's supported attributes: https://workos.com/docs/integrations/rippling-scim"""
    created = assert_created(rippling.post("/Users", rippling_user()), "User")
    assert (created["userName"], created["externalId"], created["active"]) == (
        ADA,
        ADA_EMPLOYEE_ID,
        True,
    )
    assert created["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert created["emails"] == [{"value": ADA, "primary": True}]
    assert stored_state(database, created["id"]) == (True, "member")
    fetched = tenant.get(f"/Users/{created['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["externalId"] == ADA_EMPLOYEE_ID


def test_create_with_an_employee_number(tenant: Tenant, rippling: Replayer) -> None:
    """employeeNumber, schema unverified: https://help.kombo.dev/hc/en-us/articles/35612530773521-Rippling-SCIM-How-do-I-link-my-account"""
    body = rippling_user(schemas=[USER_URN, ENTERPRISE_URN])
    body[ENTERPRISE_URN] = {"employeeNumber": "1042"}
    created = assert_created(rippling.post("/Users", body), "User")
    assert created[ENTERPRISE_URN] == {"employeeNumber": "1042"}
    fetched = tenant.get(f"/Users/{created['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()[ENTERPRISE_URN] == {"employeeNumber": "1042"}


# Update, terminate, rehire, delete


def test_update_by_patch_replace(tenant: Tenant, rippling: Replayer) -> None:
    """PATCH replace of mapped attributes (unverified): https://workos.com/docs/integrations/rippling-scim"""
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID)
    body = patch_op(
        {"op": "replace", "path": "name.familyName", "value": "King"},
        {"op": "replace", "path": "emails", "value": [{"value": ADA, "primary": True}]},
    )
    assert_no_content_or_resource(rippling.patch(f"/Users/{user_id}", body))
    updated = fetch(tenant, user_id)
    assert updated["name"]["familyName"] == "King"
    assert updated["emails"] == [{"value": ADA, "primary": True}]


def test_update_by_put(tenant: Tenant, rippling: Replayer) -> None:
    """PUT of the template (unverified): https://workos.com/docs/integrations/rippling-scim"""
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID)
    body = rippling_user(name={"givenName": "Augusta", "familyName": "King"})
    updated = assert_resource(rippling.put(f"/Users/{user_id}", body))
    assert updated["name"] == {"givenName": "Augusta", "familyName": "King"}
    assert updated["externalId"] == ADA_EMPLOYEE_ID


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_termination_deactivates(
    tenant: Tenant, database: Database, rippling: Replayer, method: str
) -> None:
    """Termination as active false (unverified): https://workos.com/docs/integrations/rippling-scim"""
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID)
    set_active(rippling, user_id, False, method)
    assert fetch(tenant, user_id)["active"] is False
    assert stored_state(database, user_id) == (False, None)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_rehire_reactivates(
    tenant: Tenant, database: Database, rippling: Replayer, method: str
) -> None:
    """Rehire as active true (unverified): https://workos.com/docs/integrations/rippling-scim"""
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID, active=False)
    assert stored_state(database, user_id) == (False, None)
    set_active(rippling, user_id, True, method)
    assert fetch(tenant, user_id)["active"] is True
    assert stored_state(database, user_id) == (True, "member")


def test_delete_after_termination(tenant: Tenant, rippling: Replayer) -> None:
    """DELETE of a terminated user (unverified): https://workos.com/docs/integrations/rippling-scim"""
    user_id = seed(tenant, externalId=ADA_EMPLOYEE_ID, active=False)
    reply = rippling.delete(f"/Users/{user_id}")
    assert (reply.status, reply.text) == (204, ""), reply
    assert_error(rippling.get(f"/Users/{user_id}"), 404)
    assert assert_list(rippling.get(paged(f'externalId eq "{ADA_EMPLOYEE_ID}"')), 0) == []


# Lists


def test_pagination_walks_every_page(tenant: Tenant, rippling: Replayer) -> None:
    """Supports Pagination: startIndex and count: https://workos.com/docs/integrations/rippling-scim"""
    ids = [seed(tenant, f"{name}@example.com") for name in ("ada", "bob", "eve")]
    first = assert_list(rippling.get(paged(count=2)), 3)
    second = assert_list(rippling.get(paged(start=3, count=2)), 3, start_index=3)
    assert [user["id"] for user in first + second] == ids


def test_without_pagination_one_list_holds_everyone(tenant: Tenant, rippling: Replayer) -> None:
    """Supports Pagination off: a bare GET /Users: https://workos.com/docs/integrations/rippling-scim"""
    ids = [seed(tenant, f"{name}@example.com") for name in ("ada", "bob", "eve")]
    assert [user["id"] for user in assert_list(rippling.get("/Users"), 3)] == ids


# Groups, with "Use PATCH to edit Groups" on unless a test says otherwise


def test_group_create(tenant: Tenant, rippling: Replayer) -> None:
    """Create & Delete Groups: POST /Groups: https://workos.com/docs/integrations/rippling-scim"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    body = {
        "schemas": [GROUP_URN],
        "displayName": "Engineering",
        "members": [{"value": ada}, {"value": bob}],
    }
    created = assert_created(rippling.post("/Groups", body), "Group")
    assert created["displayName"] == "Engineering"
    assert member_ids(tenant, created["id"]) == {ada, bob}


def test_group_member_add_by_patch(tenant: Tenant, rippling: Replayer) -> None:
    """Use PATCH to edit Groups: add members: https://workos.com/docs/integrations/rippling-scim"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    group_id = seed_group(tenant, [ada])
    body = patch_op({"op": "add", "path": "members", "value": [{"value": bob}]})
    assert_no_content(rippling.patch(f"/Groups/{group_id}", body))
    assert member_ids(tenant, group_id) == {ada, bob}


@pytest.mark.parametrize("form", ["value-list", "filter"])
def test_group_member_remove_by_patch(tenant: Tenant, rippling: Replayer, form: str) -> None:
    """Use PATCH to edit Groups: remove members: https://workos.com/docs/integrations/rippling-scim"""
    ada, bob = seed(tenant), seed(tenant, "bob@example.com")
    group_id = seed_group(tenant, [ada, bob])
    if form == "filter":
        operation: dict[str, Any] = {"op": "remove", "path": f'members[value eq "{bob}"]'}
    else:
        operation = {"op": "remove", "path": "members", "value": [{"value": bob}]}
    assert_no_content(rippling.patch(f"/Groups/{group_id}", patch_op(operation)))
    assert member_ids(tenant, group_id) == {ada}


def test_group_rename_by_patch(tenant: Tenant, rippling: Replayer) -> None:
    """Use PATCH to edit Groups: rename: https://workos.com/docs/integrations/rippling-scim"""
    ada = seed(tenant)
    group_id = seed_group(tenant, [ada])
    body = patch_op({"op": "replace", "path": "displayName", "value": "Platform"})
    assert_no_content(rippling.patch(f"/Groups/{group_id}", body))
    fetched = tenant.get(f"/Groups/{group_id}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["displayName"] == "Platform"
    assert member_ids(tenant, group_id) == {ada}


def test_group_edit_by_put_when_patch_is_off(tenant: Tenant, rippling: Replayer) -> None:
    """Use PATCH to edit Groups off: PUT: https://help.kombo.dev/hc/en-us/articles/35612530773521-Rippling-SCIM-How-do-I-link-my-account"""
    ada, bob, eve = (seed(tenant, f"{name}@example.com") for name in ("ada", "bob", "eve"))
    group_id = seed_group(tenant, [ada, bob])
    body = {
        "schemas": [GROUP_URN],
        "displayName": "Platform",
        "members": [{"value": bob}, {"value": eve}],
    }
    replaced = assert_resource(rippling.put(f"/Groups/{group_id}", body))
    assert replaced["displayName"] == "Platform"
    assert member_ids(tenant, group_id) == {bob, eve}


def test_group_delete(tenant: Tenant, database: Database, rippling: Replayer) -> None:
    """Create & Delete Groups: DELETE /Groups/<id>: https://workos.com/docs/integrations/rippling-scim"""
    ada = seed(tenant)
    group_id = seed_group(tenant, [ada])
    reply = rippling.delete(f"/Groups/{group_id}")
    assert (reply.status, reply.text) == (204, ""), reply
    assert_error(rippling.get(f"/Groups/{group_id}"), 404)
    assert stored_state(database, ada) == (True, "member")


# Provider detection


def test_recorded_as_rippling(tenant: Tenant, database: Database, rippling: Replayer) -> None:
    """Detected after the connection test (User-Agent unverified): https://authn-sh-docs.pages.dev/guides/scim/rippling/"""
    assert detected_idp(database, tenant.name) is None
    assert rippling.get("/ServiceProviderConfig").status == 200
    assert_list(rippling.get(paged(f'userName eq "{ADA}"')), 0)
    assert detected_idp(database, tenant.name) == "rippling"
