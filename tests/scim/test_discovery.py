"""Discovery endpoints (RFC 7644 §4) describe exactly what the server supports."""

from tests.conftest import Tenant, assert_scim_error

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def test_service_provider_config(tenant: Tenant) -> None:
    """The config advertises PATCH, filtering with its maximum, ETags, and bearer tokens."""
    response = tenant.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    config = response.json()
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["bulk"]["supported"] is False
    assert config["sort"] == {"supported": False}
    assert config["changePassword"] == {"supported": False}
    assert config["etag"] == {"supported": True}
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
