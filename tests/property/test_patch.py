"""PATCH (RFC 7644 §3.5.2) under generated operations, on a user and on a group.

Whatever the operations, the answer is never a 5xx. A refused PATCH changes nothing
(the resource reads back identical, version included: operations apply all or none),
and an accepted one answers with what a following GET shows. A ``replace`` of a
simple attribute reads back as the value sent.
"""

from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.conftest import Tenant, assert_scim_error, group_body, patch_body, user_body

from .profiles import budget
from .strategies import ENTERPRISE_URN, GROUP_URN, PATCH_URN, cased, human_text, json_values

Operation = dict[str, Any]

emails_values = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from(["a@example.com", "b@example.org", "C@Example.NET"])},
        optional={"type": st.sampled_from(["work", "home"]), "primary": st.booleans()},
    ),
    max_size=3,
)
# Valid (path, value) pairs for a User; the value strategy fits the attribute's type.
USER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "active": st.booleans(),
    "userName": st.integers(0, 10**6).map(lambda n: f"renamed{n}@example.com"),
    "displayName": human_text,
    "title": human_text,
    "nickName": human_text,
    "externalId": human_text,
    "name.givenName": human_text,
    "name.familyName": human_text,
    "name": st.fixed_dictionaries({"givenName": human_text, "familyName": human_text}),
    "emails": emails_values,
    'emails[type eq "work"].value': st.sampled_from(["w@example.com", "W2@example.com"]),
    "phoneNumbers": st.just([{"value": "+1 415 555 0100", "type": "work"}]),
    f"{ENTERPRISE_URN}:employeeNumber": human_text,
    f"{ENTERPRISE_URN}:department": human_text,
    f"{ENTERPRISE_URN}:manager": st.just({"value": "someone"}),
}
BAD_PATHS = ["", "nope", "emails[", "name..givenName", "emails[type eq]", "urn:", "x" * 500]
BAD_OPS = ["move", "copy", "", "replace ", "REPLACEX", 1, None, True]


@st.composite
def valid_user_operation(draw: st.DrawFn) -> Operation:
    path = draw(st.sampled_from(sorted(USER_VALUES)))
    op = draw(st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove"]))
    operation: Operation = {"op": op, "path": draw(cased(path))}
    if op.lower() != "remove":
        operation["value"] = draw(USER_VALUES[path])
    return operation


@st.composite
def pathless_user_operation(draw: st.DrawFn) -> Operation:
    """``{"op": "replace", "value": {...}}``: several attributes at once (RFC 7644 §3.5.2.3)."""
    names = draw(
        st.lists(
            st.sampled_from(["displayName", "title", "active", "nickName"]), min_size=1, unique=True
        )
    )
    value = {name: draw(USER_VALUES[name]) for name in names}
    return {"op": draw(st.sampled_from(["add", "replace"])), "value": value}


@st.composite
def invalid_operation(draw: st.DrawFn, paths: list[str]) -> Operation:
    """An operation wrong in one way: its op, its path, its value's type, or no value."""
    flaw = draw(st.sampled_from(["op", "path", "type", "missing", "junk"]))
    operation: Operation = {"op": "replace", "path": draw(st.sampled_from(paths))}
    operation["value"] = draw(json_values)
    if flaw == "op":
        operation["op"] = draw(st.sampled_from(BAD_OPS))
    elif flaw == "path":
        operation["path"] = draw(st.one_of(st.sampled_from(BAD_PATHS), json_values))
    elif flaw == "missing":
        del operation["value"]
    elif flaw == "junk":
        operation = draw(
            st.dictionaries(st.sampled_from(["op", "path", "value", "x"]), json_values)
        )
    return operation


def _patch_bodies(operations: st.SearchStrategy[Operation]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(operations, min_size=1, max_size=4).map(lambda ops: patch_body(*ops)),
        # The envelope itself broken now and then.
        st.fixed_dictionaries(
            {"schemas": st.sampled_from([[PATCH_URN], [], ["urn:x"], PATCH_URN])},
            optional={"Operations": st.one_of(json_values, st.lists(operations, max_size=2))},
        ),
    )


user_patches = _patch_bodies(
    st.one_of(
        valid_user_operation(),
        valid_user_operation(),
        pathless_user_operation(),
        invalid_operation(sorted(USER_VALUES)),
    )
)


def _read(tenant: Tenant, path: str, **params: str) -> dict[str, Any]:
    response = tenant.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _check_outcome(
    tenant: Tenant, path: str, response: Any, before: dict[str, Any], **params: str
) -> dict[str, Any]:
    """The rules every PATCH answer keeps; returns the resource as it now reads."""
    assert response.status_code < 500, response.text
    event(f"answered {response.status_code}")
    after = _read(tenant, path, **params)
    if response.status_code >= 400:
        assert_scim_error(response, response.status_code, response.json().get("scimType"))
        assert after == before, "a refused PATCH changed the resource"
    elif response.status_code == 204:
        assert response.headers["etag"] == after["meta"]["version"]
    else:
        assert response.status_code == 200, response.text
        assert response.json() == after
        assert response.headers["etag"] == after["meta"]["version"]
    return after


@pytest.fixture
def user_path(tenant: Tenant) -> str:
    body = user_body(
        "target@example.com",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        displayName="Ada",
        title="Countess",
        emails=[{"value": "ada@example.com", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "+1 415 555 0100", "type": "work"}],
    )
    body["schemas"].append(ENTERPRISE_URN)
    body[ENTERPRISE_URN] = {"employeeNumber": "7", "department": "Research"}
    response = tenant.post("/Users", json=body)
    assert response.status_code == 201, response.text
    return f"/Users/{response.json()['id']}"


def test_user_patch_is_all_or_nothing(tenant: Tenant, user_path: str, dialect: str) -> None:
    """Random PatchOp bodies on a user: never 5xx; refused ones change nothing."""

    @budget(dialect, 1.0)
    @given(user_patches)
    def check(body: Any) -> None:
        before = _read(tenant, user_path)
        _check_outcome(tenant, user_path, tenant.patch(user_path, json=body), before)

    check()


SIMPLE = [
    "displayName",
    "title",
    "nickName",
    "externalId",
    "userType",
    "name.givenName",
    "name.familyName",
    f"{ENTERPRISE_URN}:employeeNumber",
    f"{ENTERPRISE_URN}:costCenter",
]


def _value_at(resource: dict[str, Any], path: str) -> Any:
    if path.startswith(ENTERPRISE_URN):
        return resource.get(ENTERPRISE_URN, {}).get(path.rsplit(":", 1)[1])
    head, _, sub = path.partition(".")
    value = resource.get(head)
    return value.get(sub) if sub and isinstance(value, dict) else value


def test_replace_reads_back(tenant: Tenant, user_path: str, dialect: str) -> None:
    """``replace`` of a simple attribute, then GET: the attribute holds the value sent."""

    @budget(dialect, 0.6)
    @given(
        st.sampled_from(SIMPLE),
        human_text,
        st.one_of(
            st.none(), st.booleans(), st.integers(0, 10**6).map(lambda n: f"r{n}@example.com")
        ),
    )
    def check(path: str, value: str, extra: Any) -> None:
        operations: list[Operation] = [{"op": "replace", "path": path, "value": value}]
        if isinstance(extra, bool):
            operations.append({"op": "replace", "path": "active", "value": extra})
        elif isinstance(extra, str):
            operations.append({"op": "replace", "path": "userName", "value": extra})
        response = tenant.patch(user_path, json=patch_body(*operations))
        assert response.status_code == 200, response.text
        after = _read(tenant, user_path)
        assert _value_at(after, path) == value
        if extra is not None:
            assert after["active" if isinstance(extra, bool) else "userName"] == extra
        assert response.json() == after

    check()


# --- groups -------------------------------------------------------------------------------


@pytest.fixture
def group_setup(tenant: Tenant) -> tuple[str, list[str]]:
    """A group of two users, and four users (members or not) to name in operations."""
    users = [
        tenant.post("/Users", json=user_body(f"m{n}@example.com")).json()["id"] for n in range(4)
    ]
    response = tenant.post("/Groups", json=group_body("Engineering", users[:2]))
    assert response.status_code == 201, response.text
    return f"/Groups/{response.json()['id']}", users


def _group_operations(users: list[str]) -> st.SearchStrategy[Operation]:
    ids = st.one_of(st.sampled_from(users), st.sampled_from(["nope", "", "bulkId:x", "\x00"]))
    member_lists = st.lists(st.fixed_dictionaries({"value": ids}), max_size=3)
    valid = st.one_of(
        st.builds(
            lambda op, members: {"op": op, "path": "members", "value": members},
            st.sampled_from(["add", "replace", "Add"]),
            member_lists,
        ),
        st.builds(lambda member: {"op": "remove", "path": f'members[value eq "{member}"]'}, ids),
        # Entra removes members with a value on a remove (see scim.groups).
        st.builds(
            lambda members: {"op": "Remove", "path": "members", "value": members}, member_lists
        ),
        st.builds(lambda name: {"op": "replace", "path": "displayName", "value": name}, human_text),
        st.builds(
            lambda name: {"op": "replace", "value": {"id": "x", "displayName": name}}, human_text
        ),
        st.builds(lambda ext: {"op": "replace", "path": "externalId", "value": ext}, human_text),
        st.just({"op": "remove", "path": "externalId"}),
    )
    paths = ["members", "displayName", "externalId", f"{GROUP_URN}:displayName", "id"]
    return st.one_of(valid, valid, invalid_operation(paths))


def test_group_patch_is_all_or_nothing(
    tenant: Tenant, group_setup: tuple[str, list[str]], dialect: str
) -> None:
    """Random PatchOp bodies on a group, answered 204 or (when asked) 200: never 5xx;
    refused ones change nothing; a 200 shows what GET shows."""
    group_path, users = group_setup

    @budget(dialect, 0.8)
    @given(
        _patch_bodies(_group_operations(users)),
        st.sampled_from([{}, {"excludedAttributes": "externalId"}]),
    )
    def check(body: Any, params: dict[str, str]) -> None:
        before = _read(tenant, group_path, **params)
        response = tenant.patch(group_path, json=body, params=params)
        _check_outcome(tenant, group_path, response, before, **params)

    check()
