"""Discovery endpoints (RFC 7644 §4) describe exactly what the server supports."""

from tests.conftest import Tenant, assert_scim_error

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def test_service_provider_config(tenant: Tenant) -> None:
    """RFC 7643 §5: the config advertises exactly the features the server implements."""
    response = tenant.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    config = response.json()
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    assert config["sort"] == {"supported": True}
    assert config["changePassword"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    # RFC 9865 §4: cursor and index paging, with their sizes and the cursor timeout.
    assert config["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": 3600,
    }
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert config["meta"]["location"].endswith("/scim/v2/ServiceProviderConfig")


def test_resource_types(tenant: Tenant) -> None:
    """User (with the enterprise extension) and Group are the resource types."""
    listed = tenant.get("/ResourceTypes").json()
    assert listed["totalResults"] == 2
    by_id = {resource["id"]: resource for resource in listed["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schema"] == CORE_USER
    assert by_id["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_id["Group"]["endpoint"] == "/Groups"
    assert tenant.get("/ResourceTypes/Group").json()["schema"] == CORE_GROUP
    assert_scim_error(tenant.get("/ResourceTypes/Device"), 404)


def test_schemas_carry_attribute_characteristics(tenant: Tenant) -> None:
    """Each schema lists its attributes with RFC 7643 §7 characteristics."""
    listed = tenant.get("/Schemas").json()
    assert {schema["id"] for schema in listed["Resources"]} == {CORE_USER, ENTERPRISE, CORE_GROUP}
    user = tenant.get(f"/Schemas/{CORE_USER}").json()
    attributes = {attribute["name"]: attribute for attribute in user["attributes"]}
    assert attributes["userName"]["required"] is True
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["userName"]["caseExact"] is False
    assert attributes["password"]["returned"] == "never"
    assert attributes["groups"]["mutability"] == "readOnly"
    assert {"value", "type", "primary"} <= {
        a["name"] for a in attributes["emails"]["subAttributes"]
    }
    group = tenant.get(f"/Schemas/{CORE_GROUP}").json()
    members = next(a for a in group["attributes"] if a["name"] == "members")
    assert members["multiValued"] is True
    assert_scim_error(tenant.get("/Schemas/urn:nope"), 404)


def test_me_is_not_implemented(tenant: Tenant) -> None:
    """RFC 7644 §3.11: /Me answers 501 as a SCIM error, there being no end-user login."""
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert_scim_error(tenant.request(method, "/Me"), 501)


def test_unsupported_endpoints_are_scim_errors(tenant: Tenant) -> None:
    """RFC 7644 §3.12: unknown endpoints and methods answer with SCIM errors, never HTML."""
    assert_scim_error(tenant.get("/Devices"), 404)
    assert_scim_error(tenant.delete("/ServiceProviderConfig"), 405)
    assert_scim_error(tenant.request("PUT", "/Users"), 405)
    assert_scim_error(tenant.get("/Bulk"), 405)
