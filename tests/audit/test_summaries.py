"""One-line summaries and classification, from method, path and bodies alone."""

from typing import Any

import pytest

from scimgate.audit.events import Classification, Event, ResourceType, classify
from scimgate.audit.summaries import MAX_LENGTH, summarize


def _ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"Operations": list(operations)}


def _say(method: str, path: str, request: Any = None, response: Any = None, **query: str) -> str:
    return summarize(classify(method, path), method, path, query, request, response)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/Users", Classification(ResourceType.USER, Event.LIST)),
        ("POST", "/Users", Classification(ResourceType.USER, Event.CREATE)),
        ("POST", "/users/.search", Classification(ResourceType.USER, Event.SEARCH)),
        ("PUT", "/Groups/g1", Classification(ResourceType.GROUP, Event.REPLACE, "g1")),
        ("DELETE", "/Groups/g1", Classification(ResourceType.GROUP, Event.DELETE, "g1")),
        ("POST", "/.search", Classification(ResourceType.SEARCH, Event.SEARCH)),
        ("POST", "/Bulk", Classification(ResourceType.BULK, Event.BULK)),
        ("GET", "/ResourceTypes/User", Classification(ResourceType.DISCOVERY, Event.READ)),
        ("GET", "/Me", Classification(ResourceType.ME, Event.READ)),
        ("GET", "/Nope", Classification(None, Event.OTHER)),
        ("GET", "/Users/ada@example.com", Classification(ResourceType.USER, Event.READ)),
        ("POST", "/Users/u1", Classification(ResourceType.USER, Event.OTHER, "u1")),
    ],
)
def test_classification(method: str, path: str, expected: Classification) -> None:
    """Resource type, event and target follow the path; odd ids are not targets."""
    assert classify(method, path) == expected


def test_user_patches() -> None:
    """Deactivation (also as Entra's "False" string and path-less), and attribute updates."""
    named = {"userName": "ada@example.com"}
    off = _ops({"op": "Replace", "path": "active", "value": "False"})
    assert _say("PATCH", "/Users/u1", off, named) == "deactivate user ada@example.com"
    on = _ops({"op": "replace", "value": {"active": True}})
    assert _say("PATCH", "/Users/u1", on) == "reactivate user u1"
    both = _ops({"op": "replace", "value": {"active": True, "name.givenName": "Ada"}})
    assert _say("PATCH", "/Users/u1", both, named) == (
        "reactivate user ada@example.com; update user ada@example.com: name.givenName"
    )
    emails = _ops({"op": "add", "path": 'emails[type eq "work"].value', "value": "a@b.c"})
    assert _say("PATCH", "/Users/u1", emails) == 'update user u1: emails[type eq "work"].value'


def test_put_with_active_false_is_a_deactivation() -> None:
    """Okta deactivates with a PUT carrying active: false."""
    body = {"userName": "ada@example.com", "active": False}
    assert _say("PUT", "/Users/u1", body) == "deactivate user ada@example.com"


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ({"op": "add", "path": "members", "value": [{"value": "a"}]}, "add 1 member to Eng"),
        ({"op": "remove", "path": 'members[value eq "a"]'}, "remove 1 member from Eng"),
        (
            {"op": "remove", "path": 'members[value eq "a" or value eq "b"]'},
            "remove 2 members from Eng",
        ),
        ({"op": "remove", "path": "members"}, "remove all members from Eng"),
        (
            {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            "set the members of Eng to 2 members",
        ),
        ({"op": "replace", "value": {"displayName": "Eng"}}, "rename group to Eng"),
        ({"op": "replace", "path": "externalId", "value": "x"}, "replace externalId of group Eng"),
    ],
)
def test_group_patches(operation: dict[str, Any], expected: str) -> None:
    """Member changes are counted; renames and other changes are named."""
    assert _say("PATCH", "/Groups/g1", _ops(operation), {"displayName": "Eng"}) == expected


def test_lists_searches_bulk_and_others() -> None:
    """Lists show their filter and total; bulk counts methods and failures."""
    found = {"totalResults": 2}
    listed = _say("GET", "/Groups", None, found, filter='displayName eq "Eng"')
    assert listed == 'list groups where displayName eq "Eng": 2 found'
    search = _say("POST", "/.search", {"filter": 'userName sw "a"'}, found)
    assert search == 'search users and groups where userName sw "a": 2 found'
    bulk = {"Operations": [{"method": "post"}, {"method": "PATCH"}, {"method": "POST"}]}
    results = {"Operations": [{"status": "201"}, {"status": "400"}, {"status": "409"}]}
    assert _say("POST", "/Bulk", bulk, results) == "bulk: 3 operations (2 POST, 1 PATCH), 2 failed"
    assert _say("DELETE", "/Nope") == "DELETE /Nope"
    assert _say("GET", "/Schemas/urn:x") == "read Schemas/urn:x"


def test_summaries_are_one_bounded_line() -> None:
    """A summary never exceeds its length limit."""
    long = _say("POST", "/Users", {"userName": "a" * 1000})
    assert len(long) == MAX_LENGTH and long.endswith("…")
