"""RFC 7644 protocol rules not tied to one endpoint: ETags and projection on every verb."""

from typing import Any

import pytest

from tests.conftest import Tenant, assert_scim_error, group_body, patch_body, user_body

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _user(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    body = user_body("ada@example.com", title="Countess", password="s3cret!", **extra)
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_etag_on_every_resource_response(tenant: Tenant, kind: str) -> None:
    """RFC 7644 §3.14: every resource response carries a weak ETag equal to meta.version."""
    body = user_body("ada@example.com") if kind == "Users" else group_body("Eng")
    created = tenant.post(f"/{kind}", json=body)
    path = f"/{kind}/{created.json()['id']}"
    replaced = tenant.put(path, json=body)
    # A group PATCH answers 200 with the resource only when the client names what it
    # wants back (else 204, tests/scim/test_groups.py); a user PATCH always does.
    asked = {"excludedAttributes": "members"} if kind == "Groups" else {}
    patched = tenant.patch(
        path, json=patch_body({"op": "replace", "path": "externalId", "value": "x"}), params=asked
    )
    read = tenant.get(path)
    versions = []
    for response in (created, replaced, patched, read):
        etag = response.headers["etag"]
        assert etag.startswith('W/"') and etag == response.json()["meta"]["version"]
        versions.append(etag)
    assert len(set(versions[:3])) == 3 and versions[2] == versions[3]


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_if_match_guards_every_change(tenant: Tenant, kind: str) -> None:
    """RFC 7644 §3.14: PUT, PATCH and DELETE with a stale If-Match get 412 and change nothing."""
    body = user_body("ada@example.com") if kind == "Users" else group_body("Eng")
    created = tenant.post(f"/{kind}", json=body).json()
    path, stale = f"/{kind}/{created['id']}", created["meta"]["version"]
    current = tenant.patch(path, json=patch_body({"op": "add", "path": "externalId", "value": "1"}))
    headers = {"If-Match": stale}
    assert_scim_error(tenant.put(path, json=body, headers=headers), 412)
    change = patch_body({"op": "replace", "path": "externalId", "value": "2"})
    assert_scim_error(tenant.patch(path, json=change, headers=headers), 412)
    assert_scim_error(tenant.delete(path, headers=headers), 412)
    assert tenant.get(path).json()["externalId"] == "1"
    fresh = {"If-Match": current.headers["etag"]}
    # A user PATCH answers 200 with the user; a group PATCH 204 (RFC 7644 §3.5.2).
    answered = tenant.patch(path, json=change, headers=fresh)
    assert answered.status_code == (200 if kind == "Users" else 204), answered.text
    assert tenant.get(path).json()["externalId"] == "2"
    assert tenant.delete(path, headers={"If-Match": "*"}).status_code == 204


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_if_none_match_gives_304(tenant: Tenant, kind: str) -> None:
    """RFC 7644 §3.14: GET with If-None-Match naming the current version answers 304."""
    body = user_body("ada@example.com") if kind == "Users" else group_body("Eng")
    created = tenant.post(f"/{kind}", json=body).json()
    path, version = f"/{kind}/{created['id']}", created["meta"]["version"]
    unchanged = tenant.get(path, headers={"If-None-Match": version})
    assert unchanged.status_code == 304 and unchanged.content == b""
    tenant.patch(path, json=patch_body({"op": "add", "path": "externalId", "value": "1"}))
    assert tenant.get(path, headers={"If-None-Match": version}).status_code == 200


def test_projection_on_create_replace_and_patch(tenant: Tenant) -> None:
    """RFC 7644 §3.9: attributes/excludedAttributes shape POST, PUT and PATCH responses too."""
    created = tenant.post(
        "/Users", json=user_body("ada@example.com", title="C"), params={"attributes": "userName"}
    )
    assert created.status_code == 201
    assert set(created.json()) == {"schemas", "id", "userName"}
    path = f"/Users/{created.json()['id']}"
    replaced = tenant.put(
        path, json=user_body("ada@example.com", title="D"), params={"excludedAttributes": "title"}
    )
    assert "title" not in replaced.json() and replaced.json()["userName"] == "ada@example.com"
    patched = tenant.patch(
        path,
        json=patch_body({"op": "replace", "path": "title", "value": "E"}),
        params={"attributes": "title"},
    )
    assert set(patched.json()) == {"schemas", "id", "title"}


def test_returned_characteristics(tenant: Tenant) -> None:
    """RFC 7643 §2.4: "always" (id) survives exclusion; "never" (password) is never shown."""
    user = _user(tenant)
    assert "password" not in user
    path = f"/Users/{user['id']}"
    asked = tenant.get(path, params={"attributes": "password,userName"}).json()
    assert "password" not in asked and asked["userName"] == "ada@example.com"
    excluded = tenant.get(path, params={"excludedAttributes": "id,userName"}).json()
    assert excluded["id"] == user["id"] and "userName" not in excluded
    listed = tenant.get("/Users", params={"attributes": "password"}).json()["Resources"][0]
    assert set(listed) == {"schemas", "id"}
    searched = tenant.post(
        "/Users/.search", json={"schemas": [SEARCH], "excludedAttributes": ["title"]}
    ).json()["Resources"][0]
    assert "title" not in searched and "password" not in searched and "userName" in searched


def test_attributes_and_excluded_together_are_refused(tenant: Tenant) -> None:
    """RFC 7644 §3.9: attributes and excludedAttributes are mutually exclusive."""
    response = tenant.get(
        "/Users", params={"attributes": "userName", "excludedAttributes": "title"}
    )
    assert_scim_error(response, 400, "invalidValue")


def test_password_change_is_accepted_and_never_returned(tenant: Tenant) -> None:
    """RFC 7643 §5 changePassword: a PATCH or PUT may set the password; it is never echoed."""
    user = _user(tenant)
    path = f"/Users/{user['id']}"
    changed = tenant.patch(
        path, json=patch_body({"op": "replace", "path": "password", "value": "n3w-secret"})
    )
    assert changed.status_code == 200 and "password" not in changed.json()
    replaced = tenant.put(path, json=user_body("ada@example.com", password="another-one"))
    assert replaced.status_code == 200 and "password" not in replaced.json()
    assert "n3w-secret" not in changed.text and "another-one" not in replaced.text
