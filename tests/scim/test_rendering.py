"""Unprojected User responses are built straight from the row; projected ones by the model.

``password`` is never returned (RFC 7643 §4.1.1), so excluding it projects nothing
away: the answer must be the very document the fast rendering gives.
"""

from typing import Any

import pytest

from tests.conftest import Tenant, patch_body, user_body

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

SHAPES: list[dict[str, Any]] = [
    user_body("minimal@example.com"),
    user_body("formatted-only@example.com", name={"formatted": "Only Formatted"}),
    user_body("inactive@example.com", active=False, displayName="Gone"),
    {
        "schemas": [CORE, ENTERPRISE],
        "userName": "everything@example.com",
        "externalId": "ext-1",
        "displayName": "Every Thing",
        "nickName": "ev",
        "profileUrl": "https://people.example.com/ev",
        "name": {
            "givenName": "Every",
            "familyName": "Thing",
            "formatted": "Dr Every Thing",
            "honorificPrefix": "Dr",
        },
        "emails": [
            {"value": "everything@example.com", "type": "work", "primary": True},
            {"value": "home@example.com", "type": "home"},
        ],
        "phoneNumbers": [{"value": "+14155550100", "type": "work"}],
        "addresses": [{"streetAddress": "1 Main St", "type": "work", "primary": True}],
        "title": "Engineer",
        "userType": "Employee",
        "locale": "en-US",
        "timezone": "Europe/Paris",
        "preferredLanguage": "en",
        "ims": [{"value": "ev", "type": "xmpp"}],
        "photos": [{"value": "https://people.example.com/ev.png", "type": "photo"}],
        "roles": [{"value": "admin"}],
        "entitlements": [{"value": "beta"}],
        "password": "not-returned-1",
        ENTERPRISE: {"department": "R&D", "employeeNumber": "7", "manager": {"value": "m-1"}},
    },
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_unprojected_user_matches_the_model_rendering(tenant: Tenant, shape: int) -> None:
    created = tenant.post("/Users", json=SHAPES[shape])
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    fast = tenant.get(f"/Users/{user_id}")
    modelled = tenant.get(f"/Users/{user_id}", params={"excludedAttributes": "password"})

    assert fast.status_code == modelled.status_code == 200
    assert fast.json() == modelled.json() == created.json()
    assert "password" not in fast.json()
    assert fast.headers["etag"] == modelled.headers["etag"] == 'W/"1"'


def test_patched_and_listed_users_match_the_model_rendering(tenant: Tenant) -> None:
    for body in SHAPES:
        assert tenant.post("/Users", json=body).status_code == 201
    first = tenant.get("/Users", params={"filter": 'userName eq "everything@example.com"'})
    user_id = first.json()["Resources"][0]["id"]
    patched = tenant.patch(
        f"/Users/{user_id}",
        json=patch_body(
            {"op": "replace", "path": "name.givenName", "value": "Changed"},
            {"op": "remove", "path": "title"},
        ),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"]["givenName"] == "Changed"
    assert "title" not in patched.json()

    fast = tenant.get("/Users", params={"sortBy": "userName"})
    modelled = tenant.get("/Users", params={"sortBy": "userName", "excludedAttributes": "password"})
    assert fast.json()["totalResults"] == len(SHAPES)
    assert fast.json() == modelled.json()
    assert patched.json() in fast.json()["Resources"]
