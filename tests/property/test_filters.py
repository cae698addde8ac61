"""Filters (RFC 7644 §3.4.2.2) under generated input, through GET and ``.search``.

Grammatical, type-correct filters are always answered with a ListResponse; anything
else is answered with one or refused as ``invalidFilter``, never with a 5xx. On a
small known dataset the server's answer is compared with a reference evaluator
written here, for the operators and attributes whose semantics RFC 7643 fixes
(caseExact false: comparisons ignore case).
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import Tenant, assert_scim_error, group_body, user_body

from .profiles import budget
from .strategies import (
    GROUP_KINDS,
    INJECTIONS,
    SEARCH_URN,
    USER_KINDS,
    broken,
    filters,
    hostile_filters,
    loose_filters,
)

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _search(tenant: Tenant, resource: str, text: str, via: str) -> Any:
    if via == "get":
        return tenant.get(f"/{resource}", params={"filter": text, "count": "100"})
    body = {"schemas": [SEARCH_URN], "filter": text, "count": 100}
    return tenant.post(f"/{resource}/.search" if resource else "/.search", json=body)


def _assert_list(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [LIST_URN]
    assert body["totalResults"] >= len(body["Resources"])
    return body


def _assert_list_or_invalid_filter(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 400:
        assert_scim_error(response, 400, "invalidFilter")
    else:
        _assert_list(response)


@pytest.fixture
def populated(tenant: Tenant) -> Tenant:
    """A tenant with a few users and a group, so filters have rows to evaluate."""
    ids = [
        tenant.post("/Users", json=user_body(f"p{n}@example.com", title=f"T{n}")).json()["id"]
        for n in range(3)
    ]
    tenant.post("/Groups", json=group_body("Eng", ids))
    return tenant


@pytest.mark.parametrize("via", ["get", "search"])
def test_valid_user_filters_answer_a_list(populated: Tenant, dialect: str, via: str) -> None:
    """Every type-correct User filter, fully qualified or not, in any case: 200."""

    @budget(dialect, 0.6)
    @given(filters(USER_KINDS))
    def check(text: str) -> None:
        _assert_list(_search(populated, "Users", text, via))

    check()


def test_valid_group_filters_answer_a_list(populated: Tenant, dialect: str) -> None:
    """Every type-correct Group filter: 200."""

    @budget(dialect, 0.4)
    @given(filters(GROUP_KINDS), st.sampled_from(["get", "search"]))
    def check(text: str, via: str) -> None:
        _assert_list(_search(populated, "Groups", text, via))

    check()


def test_valid_user_filters_at_the_root(populated: Tenant, dialect: str) -> None:
    """POST /.search: a filter valid for Users answers 200 (Groups then match nothing)."""

    @budget(dialect, 0.3)
    @given(filters(USER_KINDS))
    def check(text: str) -> None:
        _assert_list(_search(populated, "", text, "search"))

    check()


def test_loose_and_broken_filters_never_fail(populated: Tenant, dialect: str) -> None:
    """Ill-typed, cut and spliced filters: a ListResponse or 400 invalidFilter."""

    @budget(dialect, 0.8)
    @given(
        st.one_of(loose_filters(USER_KINDS), broken(filters(USER_KINDS)), hostile_filters),
        st.sampled_from(["Users", "Groups"]),
        st.sampled_from(["get", "search"]),
    )
    def check(text: str, resource: str, via: str) -> None:
        _assert_list_or_invalid_filter(_search(populated, resource, text, via))

    check()


def test_filter_bytes_never_fail(populated: Tenant, dialect: str) -> None:
    """Any bytes as the percent-encoded filter (invalid UTF-8, NUL): 200 or invalidFilter."""

    @budget(dialect, 0.4)
    @given(st.binary(max_size=80))
    def check(raw: bytes) -> None:
        response = populated.get(f"/Users?filter={quote_from_bytes(raw)}")
        _assert_list_or_invalid_filter(response)

    check()


# --- the reference evaluator ----------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """One user of the known dataset, as the reference evaluator sees it."""

    user_name: str
    display_name: str | None
    title: str | None
    emails: tuple[tuple[str, str | None], ...]
    """(value, type) pairs."""

    def body(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.display_name is not None:
            extra["displayName"] = self.display_name
        if self.title is not None:
            extra["title"] = self.title
        if self.emails:
            extra["emails"] = [
                {"value": value, **({"type": kind} if kind else {})} for value, kind in self.emails
            ]
        return user_body(self.user_name, **extra)


# Values chosen to meet the hard cases: case, non-ASCII capitals, LIKE wildcards,
# quotes, backslashes, a value that is a prefix of another, missing attributes.
PEOPLE = [
    Person(
        "ada@example.com",
        "Ada Lovelace",
        "Countess",
        (("ada@example.com", "work"), ("Ada@Home.example", "Ärbeit")),
    ),
    Person("Bob.Smith@Example.org", "bob smith", None, (("bob@example.org", "work"),)),
    Person("emile@exemple.fr", "ÉMILE Zola", "Écrivain", (("Émile@Exemple.fr", "home"),)),
    Person("x_y%z@example.com", "100% _done_", "a\\b", ()),
    Person("quote@example.com", 'O\'Brien "Q"', "", (("q@example.com", None),)),
    Person("nobody@example.net", None, None, (("NOBODY@EXAMPLE.NET", "work"), ("x@y.z", "other"))),
]
SINGLE = {
    "userName": lambda p: p.user_name,
    "displayName": lambda p: p.display_name,
    "title": lambda p: p.title,
}
MULTI = {
    "emails.value": lambda p: [value for value, _ in p.emails],
    "emails.type": lambda p: [kind for _, kind in p.emails],
}
TEXT_OPS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda have, want: have == want,
    "co": lambda have, want: want in have,
    "sw": lambda have, want: have.startswith(want),
    "ew": lambda have, want: have.endswith(want),
}


def _values_of(attribute: str) -> list[str]:
    """Every value the dataset holds for an attribute, for comparisons that match."""
    found: set[str | None] = set()
    for person in PEOPLE:
        if attribute in SINGLE:
            found.add(SINGLE[attribute](person))
        else:
            found.update(MULTI[attribute](person))
    return sorted(value for value in found if value)


def _holds(op: str, have: str | None, want: str) -> bool:
    """One comparison on a single value; caseExact false (RFC 7643 §2.2), NULL-safe."""
    if op == "ne":
        return have is None or have.lower() != want.lower()
    if op == "pr":
        return have is not None and have != ""
    return have is not None and TEXT_OPS[op](have.lower(), want.lower())


Node = tuple[Any, ...]


def evaluate(node: Node, person: Person) -> bool:
    """Evaluate a filter tree for one person."""
    kind = node[0]
    if kind == "not":
        return not evaluate(node[1], person)
    if kind in ("and", "or"):
        results = [evaluate(child, person) for child in node[1]]
        return all(results) if kind == "and" else any(results)
    if kind == "emails[]":
        return any(
            _evaluate_email(node[1], value, email_type) for value, email_type in person.emails
        )
    _, attribute, op, want = node
    if attribute == "emails" and op == "pr":
        return bool(person.emails)
    if attribute in SINGLE:
        return _holds(op, SINGLE[attribute](person), want)
    values = MULTI[attribute](person)
    if op == "ne":
        # RFC 7644 leaves ne on a multi-valued attribute open; the server reads it as
        # "no value equals", the complement of eq.
        return not any(_holds("eq", value, want) for value in values)
    return any(_holds(op, value, want) for value in values)


def _evaluate_email(node: Node, value: str, email_type: str | None) -> bool:
    kind = node[0]
    if kind in ("and", "or"):
        results = [_evaluate_email(child, value, email_type) for child in node[1]]
        return all(results) if kind == "and" else any(results)
    _, attribute, op, want = node
    return _holds(op, value if attribute == "value" else email_type, want)


def render(node: Node) -> str:
    """The filter text of a tree; compound operands are parenthesized."""
    kind = node[0]
    if kind == "not":
        return f"not ({render(node[1])})"
    if kind in ("and", "or"):
        return f" {kind} ".join(f"({render(child)})" for child in node[1])
    if kind == "emails[]":
        return f"emails[{_render_inner(node[1])}]"
    _, attribute, op, want = node
    return f"{attribute} pr" if op == "pr" else f"{attribute} {op} {json.dumps(want)}"


def _render_inner(node: Node) -> str:
    if node[0] in ("and", "or"):
        return f" {node[0]} ".join(_render_inner(child) for child in node[1])
    _, attribute, op, want = node
    return f"{attribute} pr" if op == "pr" else f"{attribute} {op} {json.dumps(want)}"


_CASES: tuple[Callable[[str], str], ...] = (str, str.upper, str.lower)


def _fragment(value: str) -> st.SearchStrategy[str]:
    """A piece of a known value, in its case, upper or lower."""
    return st.tuples(
        st.integers(0, len(value)), st.integers(0, len(value)), st.sampled_from(_CASES)
    ).map(lambda p: p[2](value[min(p[0], p[1]) : max(p[0], p[1])]))


def comparison_values(attribute: str) -> st.SearchStrategy[str]:
    """A value to compare ``attribute`` with: mostly one it holds, whole or in part."""
    known = _values_of(attribute)
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).flatmap(_fragment),
        st.sampled_from(known).flatmap(_fragment),
        st.sampled_from(INJECTIONS),
        st.text(st.sampled_from("aeiouxyz_%\\\"'@. ÉéÄäÖöß"), max_size=4),
    )


OPERATORS = ["eq", "ne", "co", "sw", "ew", "pr"]
leaf_nodes = st.one_of(
    st.sampled_from([*SINGLE, *MULTI]).flatmap(
        lambda attribute: st.tuples(
            st.just("cmp"),
            st.just(attribute),
            st.sampled_from(OPERATORS),
            comparison_values(attribute),
        )
    ),
    st.just(("cmp", "emails", "pr", "")),
)
email_leaf = st.sampled_from(["value", "type"]).flatmap(
    lambda sub: st.tuples(
        st.just("cmp"),
        st.just(sub),
        st.sampled_from(OPERATORS),
        comparison_values(f"emails.{sub}"),
    )
)
email_nodes = st.one_of(
    email_leaf,
    st.tuples(st.sampled_from(["and", "or"]), st.lists(email_leaf, min_size=2, max_size=2)),
)
filter_trees = st.recursive(
    st.one_of(leaf_nodes, st.tuples(st.just("emails[]"), email_nodes)),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=5,
)


@pytest.fixture
def dataset(tenant: Tenant) -> dict[str, Person]:
    """The known dataset, by user id."""
    found = {}
    for person in PEOPLE:
        response = tenant.post("/Users", json=person.body())
        assert response.status_code == 201, response.text
        found[response.json()["id"]] = person
    return found


def test_results_match_the_reference_evaluator(
    tenant: Tenant, dataset: dict[str, Person], dialect: str
) -> None:
    """The set of users a filter selects is what the RFC's semantics select."""

    @budget(dialect, 1.5)
    @given(filter_trees, st.sampled_from(["get", "search"]))
    # Found by this property: SQLite folded only ASCII letters (docs/reliability.md).
    @example(("cmp", "displayName", "eq", "ÉMILE Zola"), "get")
    def check(tree: Node, via: str) -> None:
        text = render(tree)
        body = _assert_list(_search(tenant, "Users", text, via))
        found = {resource["id"] for resource in body["Resources"]}
        expected = {user_id for user_id, person in dataset.items() if evaluate(tree, person)}
        assert found == expected, text

    check()


def test_injection_attempts_are_literal_strings(tenant: Tenant, dataset: dict[str, Person]) -> None:
    """Filter values are bound parameters: quotes, %, _ and backslashes match only
    themselves, and the table is still there afterwards."""
    for value in INJECTIONS:
        for attribute, op in itertools.product(SINGLE.keys() | MULTI.keys(), ("eq", "co")):
            tree = ("cmp", attribute, op, value)
            body = _assert_list(_search(tenant, "Users", render(tree), "get"))
            expected = {user_id for user_id, p in dataset.items() if evaluate(tree, p)}
            assert {resource["id"] for resource in body["Resources"]} == expected, tree
    assert _assert_list(tenant.get("/Users"))["totalResults"] == len(PEOPLE)


def test_wildcards_match_only_themselves(tenant: Tenant, dataset: dict[str, Person]) -> None:
    """``co "%"`` and ``co "_"`` find the one user whose name holds them, not everyone."""
    for value in ("%", "_", "\\"):
        body = _assert_list(_search(tenant, "Users", f"displayName co {json.dumps(value)}", "get"))
        names = {resource.get("displayName") for resource in body["Resources"]}
        expected = {p.display_name for p in PEOPLE if p.display_name and value in p.display_name}
        assert names == expected, value
