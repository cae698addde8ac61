"""sortBy (RFC 7644 §3.4.2.3) translated to ORDER BY, run against SQLite and PostgreSQL."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from scimgate.errors import InvalidValueError
from scimgate.storage.database import Database
from scimgate.storage.filters import ENTERPRISE_USER_URN
from scimgate.storage.models import Group, Organization, User, UserEmail
from scimgate.storage.sorting import SortKey, group_sort_key, user_sort_key
from tests.storage.test_filters import DIALECTS, at, migrated_database

ORG_ID = "org-sorting"
ENTERPRISE = ENTERPRISE_USER_URN
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass(frozen=True)
class Person:
    """One seeded user; values differ in letters only, so every collation orders alike."""

    id: str
    user_name: str
    created: str
    updated: str
    display_name: str
    family_name: str | None = None
    external_id: str | None = None
    active: bool = True
    emails: list[tuple[str, bool]] = field(default_factory=list)
    """(value, primary) pairs, in order."""
    document: dict[str, Any] = field(default_factory=dict)


PEOPLE = [
    Person(
        "u-1",
        "Zed",
        "2023-04-01",
        "2024-01-04",
        "beta",
        family_name="Young",
        external_id="x2",
        emails=[("Zoe@X.example", False), ("Ann@X.example", True)],
        document={
            "title": "Manager",
            "name": {"middleName": "quinn"},
            ENTERPRISE: {"employeeNumber": "2", "manager": {"value": "m-b"}},
        },
    ),
    Person(
        "u-2",
        "amy",
        "2023-01-01",
        "2024-01-03",
        "Alpha",
        family_name="zimmer",
        external_id="x3",
        # No primary email: the first one counts, not the smallest.
        emails=[("mia@x.example", False), ("bea@x.example", False)],
        document={
            "title": "analyst",
            "name": {"middleName": "Pat"},
            ENTERPRISE: {"employeeNumber": "10", "manager": {"value": "m-c"}},
        },
    ),
    Person(
        "u-3",
        "Bea",
        "2023-03-01",
        "2024-01-01",
        "gamma",
        external_id="x1",
        active=False,
        document={ENTERPRISE: {"employeeNumber": "1", "manager": {"value": "m-a"}}},
    ),
    Person(
        "u-4",
        "carl",
        "2023-02-01",
        "2024-01-02",
        "Delta",
        family_name="Adams",
        emails=[("Carl@X.example", True)],
        document={"title": "Director"},
    ),
]

GROUPS = [
    ("g-1", "beta", "y2", "2023-02-01", "2024-01-01"),
    ("g-2", "Alpha", "y3", "2023-03-01", "2024-01-03"),
    ("g-3", "gamma", "y1", "2023-01-01", "2024-01-02"),
]


def _user(p: Person) -> User:
    emails = [
        UserEmail(position=i, value=value, value_norm=value.lower(), primary=primary)
        for i, (value, primary) in enumerate(p.emails)
    ]
    return User(
        id=p.id,
        org_id=ORG_ID,
        user_name=p.user_name,
        user_name_norm=p.user_name.lower(),
        external_id=p.external_id,
        display_name=p.display_name,
        family_name=p.family_name,
        active=p.active,
        created_at=at(p.created),
        updated_at=at(p.updated),
        emails=emails,
        attributes=p.document,
    )


def _seed(db: Database) -> None:
    """Insert the organization, then its users and groups."""
    with db.transaction() as s:
        s.add(Organization(id=ORG_ID, name="Sorting", name_norm="sorting"))
    with db.transaction() as s:
        s.add_all(_user(p) for p in PEOPLE)
        s.add_all(
            Group(
                id=gid,
                org_id=ORG_ID,
                display_name=name,
                display_name_norm=name.lower(),
                external_id=external_id,
                created_at=at(created),
                updated_at=at(updated),
            )
            for gid, name, external_id, created, updated in GROUPS
        )


@pytest.fixture(scope="module", params=DIALECTS)
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """Yield a seeded database of each dialect."""
    with migrated_database(request.param, tmp_path_factory.mktemp("sorting")) as database:
        _seed(database)
        yield database


def users_in_order(db: Database, key: SortKey) -> list[str]:
    """Return the userNames of users with a value for ``key``, ascending, ties by id."""
    query = (
        select(User.user_name)
        .where(User.org_id == ORG_ID, key.expression.is_not(None))
        .order_by(key.expression, User.id)
    )
    with db.transaction(write=False) as s:
        return list(s.scalars(query))


def groups_in_order(db: Database, key: SortKey) -> list[str]:
    """Return the displayNames of groups with a value for ``key``, ascending, ties by id."""
    query = (
        select(Group.display_name)
        .where(Group.org_id == ORG_ID, key.expression.is_not(None))
        .order_by(key.expression, Group.id)
    )
    with db.transaction(write=False) as s:
        return list(s.scalars(query))


USER_SORTS: list[tuple[str, list[str]]] = [
    # caseExact false: "Zed" and "Bea" sort among the lower-case names, not before them.
    ("userName", ["amy", "Bea", "carl", "Zed"]),
    ("USERNAME", ["amy", "Bea", "carl", "Zed"]),
    ("displayName", ["amy", "Zed", "carl", "Bea"]),
    ("name.familyName", ["carl", "Zed", "amy"]),
    (f"{CORE}:name.familyName", ["carl", "Zed", "amy"]),
    ("name.middleName", ["amy", "Zed"]),
    ("title", ["amy", "carl", "Zed"]),
    ("externalId", ["Bea", "Zed", "amy"]),
    ("id", ["Zed", "amy", "Bea", "carl"]),
    ("active", ["Bea", "Zed", "amy", "carl"]),
    ("meta.created", ["amy", "carl", "Bea", "Zed"]),
    ("meta.lastModified", ["Bea", "carl", "amy", "Zed"]),
    ("meta.resourceType", ["Zed", "amy", "Bea", "carl"]),
    # employeeNumber is a string, so "10" sorts before "2".
    ("employeeNumber", ["Bea", "amy", "Zed"]),
    (f"{ENTERPRISE}:employeeNumber", ["Bea", "amy", "Zed"]),
    (f"{ENTERPRISE}:manager.value", ["Bea", "Zed", "amy"]),
    # RFC 7644 §3.4.2.3: emails sort by the primary email, else the first one.
    ("emails", ["Zed", "carl", "amy"]),
    ("emails.value", ["Zed", "carl", "amy"]),
]


@pytest.mark.parametrize(("attribute", "expected"), USER_SORTS)
def test_users_sort_ascending(db: Database, attribute: str, expected: list[str]) -> None:
    """Ascending order of a user sort key is ascending order of the attribute."""
    assert users_in_order(db, user_sort_key(attribute)) == expected


def test_users_sort_descending(db: Database) -> None:
    """The caller reverses the order with desc(); the email subquery reverses as well."""
    key = user_sort_key("emails")
    query = (
        select(User.user_name)
        .where(User.org_id == ORG_ID, key.expression.is_not(None))
        .order_by(key.expression.desc(), User.id)
    )
    with db.transaction(write=False) as s:
        assert list(s.scalars(query)) == ["amy", "carl", "Zed"]


GROUP_SORTS: list[tuple[str, list[str]]] = [
    ("displayName", ["Alpha", "beta", "gamma"]),
    ("urn:ietf:params:scim:schemas:core:2.0:Group:displayName", ["Alpha", "beta", "gamma"]),
    ("externalId", ["gamma", "beta", "Alpha"]),
    ("id", ["beta", "Alpha", "gamma"]),
    ("meta.created", ["gamma", "beta", "Alpha"]),
    ("meta.lastModified", ["beta", "gamma", "Alpha"]),
]


@pytest.mark.parametrize(("attribute", "expected"), GROUP_SORTS)
def test_groups_sort_ascending(db: Database, attribute: str, expected: list[str]) -> None:
    """Ascending order of a group sort key is ascending order of the attribute."""
    assert groups_in_order(db, group_sort_key(attribute)) == expected


UNSORTABLE_USER: list[tuple[str, str]] = [
    ("nickname2", "sortBy names unknown attribute 'nickname2'"),
    ("password", "sortBy names unknown attribute 'password'"),
    ("groups", "sortBy names unknown attribute 'groups'"),
    (f"{CORE}:employeeNumber", f"sortBy names unknown attribute '{CORE}:employeeNumber'"),
    ("phoneNumbers", "'phoneNumbers' is multi-valued and cannot be sorted"),
    ("phoneNumbers.value", "'phoneNumbers.value' is multi-valued and cannot be sorted"),
    ("addresses", "'addresses' is multi-valued and cannot be sorted"),
    ("emails.type", "'emails.type' is multi-valued and cannot be sorted"),
    ("name", "'name' is complex and cannot be sorted"),
    ("manager", "'manager' is complex and cannot be sorted"),
    ('emails[type eq "work"]', "sortBy 'emails[type eq \"work\"]' is not an attribute name"),
    ("user name", "sortBy 'user name' is not an attribute name"),
    ("", "sortBy '' is not an attribute name"),
]


@pytest.mark.parametrize(("attribute", "detail"), UNSORTABLE_USER)
def test_unsortable_user_attributes_are_refused(attribute: str, detail: str) -> None:
    """Unknown, multi-valued and complex attributes raise invalidValue naming them."""
    with pytest.raises(InvalidValueError) as raised:
        user_sort_key(attribute)
    assert raised.value.detail == detail
    assert raised.value.scim_type == "invalidValue"


@pytest.mark.parametrize(
    ("attribute", "detail"),
    [
        ("userName", "sortBy names unknown attribute 'userName'"),
        ("members", "'members' is multi-valued and cannot be sorted"),
        ("members.display", "'members.display' is multi-valued and cannot be sorted"),
    ],
)
def test_unsortable_group_attributes_are_refused(attribute: str, detail: str) -> None:
    """User attributes and members do not sort groups."""
    with pytest.raises(InvalidValueError) as raised:
        group_sort_key(attribute)
    assert raised.value.detail == detail
