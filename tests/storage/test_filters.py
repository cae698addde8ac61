"""SCIM filters translated to SQL, run against real SQLite and PostgreSQL databases."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scim2_models.path import AttrPath, CompareOperator, Comparison, ValuePath
from sqlalchemy import create_engine, delete, select
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import CompileError
from sqlalchemy.schema import CreateSchema, DropSchema

from scimgate.errors import InvalidFilterError
from scimgate.storage.database import Database
from scimgate.storage.filters import (
    ENTERPRISE_USER_URN,
    group_filter,
    member_filter,
    parse_filter,
    user_filter,
)
from scimgate.storage.models import Group, GroupMember, Organization, User, UserEmail
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES

ORG_ID = "org-filters"

ALICE, BOB, CAROL, DAN, DANA, ERIN = "Alice@Example.com", "bob", "carol", "dan_x", "danax", "Erin"
EVERYONE = {ALICE, BOB, CAROL, DAN, DANA, ERIN}


def at(text: str) -> datetime:
    """Parse an ISO 8601 timestamp written in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Email:
    """One seeded email value."""

    value: str
    type: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class Person:
    """One seeded user."""

    id: str
    user_name: str
    created: str
    updated: str
    external_id: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    active: bool = True
    emails: list[Email] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    """The rest of the SCIM document, stored as ``User.attributes`` is."""


PEOPLE = [
    Person(
        "u-alice",
        ALICE,
        "2023-01-01",
        "2024-01-10T00:00:00",
        external_id="EXT-1",
        display_name="Alice Smith",
        given_name="Alice",
        family_name="Smith",
        emails=[Email("Alice@Corp.example", "work", True), Email("alice@home.example", "home")],
        document={
            "nickName": "Ali",
            "profileUrl": "https://example.com/Alice",
            "title": "Senior Engineer",
            "userType": "Employee",
            "preferredLanguage": "en-US",
            "locale": "en-US",
            "timezone": "Europe/Paris",
            "name": {
                "formatted": "Ms. Alice Smith",
                "middleName": "Jane",
                "honorificPrefix": "Ms.",
            },
            "phoneNumbers": [
                {"value": "+1 555 0100", "type": "work", "primary": True},
                {"value": "+33 1 23 45 67", "type": "mobile"},
            ],
            "ims": [{"value": "AliceAim", "type": "aim", "display": "Alice on AIM"}],
            "photos": [
                {"value": "https://photos.example.com/Alice.jpg", "type": "photo", "primary": True}
            ],
            "addresses": [
                {
                    "formatted": "1 Rue de Rivoli, 75001 Paris",
                    "streetAddress": "1 Rue de Rivoli",
                    "locality": "Paris",
                    "region": "IDF",
                    "postalCode": "75001",
                    "country": "FR",
                    "type": "work",
                    "primary": True,
                }
            ],
            "entitlements": [{"value": "Premium", "display": "Premium Support", "type": "support"}],
            "roles": [{"value": "Admin", "type": "system", "primary": True}],
            "x509Certificates": [{"value": "MIIBcert", "display": "Alice's certificate"}],
            ENTERPRISE_USER_URN: {
                "employeeNumber": "7",
                "costCenter": "CC-10",
                "organization": "Acme",
                "division": "R&D",
                "department": "Platform",
                "manager": {
                    "value": "u-bob",
                    "displayName": "Bob Jones",
                    "$ref": "https://scim.example.com/Users/u-bob",
                },
            },
        },
    ),
    Person(
        "u-bob",
        BOB,
        "2023-02-01",
        "2024-03-01T12:00:00",
        external_id="ext-1",
        display_name="Bob Jones",
        given_name="Bob",
        family_name="Jones",
        active=False,
        # The work address and the corp address are different values.
        emails=[Email("bob@home.example", "work"), Email("bob@corp.example", "home", True)],
        document={
            "nickName": "Bobby",
            "title": "Engineer",
            "userType": "Contractor",
            "preferredLanguage": "fr-FR",
            "locale": "fr-FR",
            "timezone": "Europe/Paris",
            "name": {"honorificSuffix": "Jr."},
            # As with emails: the work number and the 555 number are different values.
            "phoneNumbers": [
                {"value": "+1 555 0199", "type": "home"},
                {"value": "+1 444 0100", "type": "work"},
            ],
            "addresses": [
                {"type": "home", "locality": "Paris", "country": "FR"},
                {"type": "work", "locality": "Lyon", "country": "FR", "primary": False},
            ],
            "roles": [{"value": "admin"}, {"value": "Auditor"}],
            # Case-exact values that differ from Alice's only in case.
            "x509Certificates": [{"value": "miibcert"}],
            ENTERPRISE_USER_URN: {
                "employeeNumber": "70",
                "organization": "acme",
                "department": "Sales",
                "manager": {"value": "U-ALICE"},
            },
        },
    ),
    Person(
        "u-carol",
        CAROL,
        "2023-03-01",
        "2024-06-01T00:00:00",
        given_name="Carol",
        document={
            "nickName": "",
            "title": "Engineering Manager",
            "profileUrl": "https://example.com/alice",
            "photos": [{"value": "https://photos.example.com/alice.jpg"}],
            "ims": [{"value": "carol@xmpp.example", "type": "xmpp"}],
            ENTERPRISE_USER_URN: {
                "employeeNumber": "",
                "manager": {"value": "u-alice", "displayName": "Alice Smith"},
            },
        },
    ),
    Person(
        "u-dan",
        DAN,
        "2023-04-01",
        "2024-06-01T00:00:00",
        external_id="50%/off",
        display_name="100% Dan",
        emails=[Email("dan@corp.example")],
        document={
            "title": "100% remote_x",
            "phoneNumbers": [{"value": "555-0000", "primary": False}],
            "entitlements": [],
        },
    ),
    Person(
        "u-danax",
        DANA,
        "2023-04-01",
        "2024-06-01T00:00:00",
        external_id="50x/off",
        display_name="100x Dan",
        document={"title": "100x remote", ENTERPRISE_USER_URN: {"costCenter": "CC-1"}},
    ),
    Person(
        "u-erin",
        ERIN,
        "2023-05-01",
        "2023-12-01T00:00:00",
        external_id="",
        display_name="",
        given_name="",
        active=False,
    ),
]


def _seed(db: Database) -> None:
    """Insert the organization, users, emails, groups and memberships the tests query."""
    # The models declare no ORM relationship to Organization, so each level of foreign
    # keys is committed before the next.
    with db.transaction() as s:
        s.add(Organization(id=ORG_ID, name="Filters", name_norm="filters"))
    with db.transaction() as s:
        for p in PEOPLE:
            emails = [
                UserEmail(
                    position=i,
                    value=e.value,
                    value_norm=e.value.lower(),
                    type=e.type,
                    primary=e.primary,
                )
                for i, e in enumerate(p.emails)
            ]
            s.add(
                User(
                    id=p.id,
                    org_id=ORG_ID,
                    user_name=p.user_name,
                    user_name_norm=p.user_name.lower(),
                    external_id=p.external_id,
                    display_name=p.display_name,
                    given_name=p.given_name,
                    family_name=p.family_name,
                    active=p.active,
                    created_at=at(p.created),
                    updated_at=at(p.updated),
                    emails=emails,
                    attributes=p.document,
                )
            )
        for gid, name, external_id in [
            ("g-eng", "Engineering", "G-1"),
            ("g-sales", "Sales", None),
            ("g-empty", "Empty", None),
        ]:
            s.add(
                Group(
                    id=gid,
                    org_id=ORG_ID,
                    display_name=name,
                    display_name_norm=name.lower(),
                    external_id=external_id,
                    created_at=at("2023-01-01"),
                    updated_at=at("2024-02-01" if gid == "g-eng" else "2024-01-01"),
                )
            )
    with db.transaction() as s:
        s.add_all(
            [
                GroupMember(group_id="g-eng", user_id="u-alice"),
                GroupMember(group_id="g-eng", user_id="u-bob"),
                GroupMember(group_id="g-sales", user_id="u-carol"),
                GroupMember(group_id="g-sales", member_group_id="g-eng"),
            ]
        )


@contextmanager
def migrated_database(dialect: str, tmp_dir: Path) -> Iterator[Database]:
    """Yield an empty, migrated database of ``dialect``."""
    if dialect == "sqlite":
        opened = _sqlite(tmp_dir)
    else:
        assert POSTGRES_URL is not None
        opened = _postgres(POSTGRES_URL)
    with opened as database:
        yield database


@contextmanager
def _sqlite(tmp_dir: Path) -> Iterator[Database]:
    """Yield a migrated SQLite database in a temporary file."""
    db = Database(f"sqlite:///{tmp_dir / 'filters.db'}")
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()


@contextmanager
def _postgres(url: str) -> Iterator[Database]:
    """Yield a migrated PostgreSQL database in a private schema, dropped afterwards."""
    # A schema of its own keeps these tests clear of anyone else using the same database.
    schema = f"test_filters_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(CreateSchema(schema))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(scoped.render_as_string(hide_password=False))
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(DropSchema(schema, cascade=True))
        admin.dispose()


DIALECTS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            POSTGRES_URL is None and not REQUIRE_POSTGRES,
            reason="PostgreSQL half skipped: set SCIMGATE_TEST_POSTGRES_URL to run it",
        ),
    ),
]
"""The dialects a module-scoped database fixture runs on."""


@pytest.fixture(scope="module", params=DIALECTS)
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """Yield a seeded database of each dialect."""
    with migrated_database(request.param, tmp_path_factory.mktemp("filters")) as database:
        _seed(database)
        yield database


def users_matching(db: Database, text: str) -> set[str]:
    """Return the userNames of the organization's users that match a filter."""
    query = select(User.user_name).where(User.org_id == ORG_ID, user_filter(text))
    with db.transaction(write=False) as s:
        return set(s.scalars(query))


def groups_matching(db: Database, text: str) -> set[str]:
    """Return the displayNames of the organization's groups that match a filter."""
    query = select(Group.display_name).where(Group.org_id == ORG_ID, group_filter(text))
    with db.transaction(write=False) as s:
        return set(s.scalars(query))


USER_CASES: list[tuple[str, set[str]]] = [
    # userName is case-insensitive (RFC 7643 §4.1.1), and so are attribute names.
    ('userName eq "alice@example.com"', {ALICE}),
    ('USERNAME eq "ALICE@EXAMPLE.COM"', {ALICE}),
    ('userName eq "ERIN"', {ERIN}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"', {BOB}),
    ('userName ne "bob"', EVERYONE - {BOB}),
    ('userName co "EXAMPLE"', {ALICE}),
    ('userName sw "DAN"', {DAN, DANA}),
    ('userName gt "carol"', {DAN, DANA, ERIN}),
    ('userName ge "carol"', {CAROL, DAN, DANA, ERIN}),
    ('userName lt "bob"', {ALICE}),
    ('userName le "bob"', {ALICE, BOB}),
    # LIKE wildcards and the escape character in values are literal.
    ('userName ew "_x"', {DAN}),
    ('userName co "n_x"', {DAN}),
    ('displayName sw "100%"', {DAN}),
    ('externalId co "%/"', {DAN}),
    ('externalId sw "50x/"', {DANA}),
    # externalId is caseExact.
    ('externalId eq "ext-1"', {BOB}),
    ('externalId eq "EXT-1"', {ALICE}),
    ('externalId co "XT"', {ALICE}),
    ('not (externalId eq "EXT-1")', EVERYONE - {ALICE}),
    ('externalId ne "EXT-1"', EVERYONE - {ALICE}),
    ("externalId pr", {ALICE, BOB, DAN, DANA}),
    ("not (externalId pr)", {CAROL, ERIN}),
    ("externalId eq null", {CAROL, ERIN}),
    ("externalId ne null", {ALICE, BOB, DAN, DANA}),
    ('id eq "u-bob"', {BOB}),
    ('id eq "U-BOB"', set()),
    ('displayName eq "alice SMITH"', {ALICE}),
    ("displayName pr", {ALICE, BOB, DAN, DANA}),
    ('displayName gt "b"', {BOB}),
    ('displayName le "alice smith"', {ALICE, DAN, DANA, ERIN}),
    ('name.givenName eq "ALICE"', {ALICE}),
    ("name.givenName pr", {ALICE, BOB, CAROL}),
    ('name.familyName ew "ES"', {BOB}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "smith"', {ALICE}),
    ("active eq false", {BOB, ERIN}),
    ("active eq true", {ALICE, CAROL, DAN, DANA}),
    ("active ne true", {BOB, ERIN}),
    ("not (active eq true)", {BOB, ERIN}),
    ("active pr", EVERYONE),
    ('meta.lastModified gt "2024-02-01T00:00:00Z"', {BOB, CAROL, DAN, DANA}),
    ('meta.lastModified ge "2024-06-01T00:00:00Z"', {CAROL, DAN, DANA}),
    ('meta.lastModified lt "2024-03-01T12:00:00+00:00"', {ALICE, ERIN}),
    ('meta.lastModified le "2024-03-01T13:00:00+01:00"', {ALICE, BOB, ERIN}),
    ('meta.lastModified eq "2024-03-01T12:00:00"', {BOB}),
    ('meta.created lt "2023-02-15"', {ALICE, BOB}),
    # emails: any value may match, and a bare "emails" means emails.value.
    ('emails eq "ALICE@corp.example"', {ALICE}),
    ('emails.value eq "alice@CORP.example"', {ALICE}),
    ('emails co "@corp"', {ALICE, BOB, DAN}),
    ('emails ne "bob@corp.example"', EVERYONE - {BOB}),
    ('emails.type eq "WORK"', {ALICE, BOB}),
    ("emails.type pr", {ALICE, BOB}),
    ("emails.primary eq true", {ALICE, BOB}),
    ("emails pr", {ALICE, BOB, DAN}),
    ("not (emails pr)", {CAROL, DANA, ERIN}),
    # A value filter applies to one email; separate terms may match different emails.
    ('emails[type eq "work" and value co "@corp"]', {ALICE}),
    ('emails.type eq "work" and emails.value co "@corp"', {ALICE, BOB}),
    ('emails[type eq "work"].value co "@corp"', {ALICE}),
    ('EMAILS[TYPE eq "work" and Value co "@CORP"]', {ALICE}),
    ('emails[type eq "work" and not (primary eq true)]', {BOB}),
    ('emails[not (type eq "work")]', {ALICE, BOB, DAN}),
    ('emails[type eq "work" and value co "@corp"] or userName eq "carol"', {ALICE, CAROL}),
    # RFC 7644 §3.4.2.2: "and" binds tighter than "or"; parentheses regroup.
    ('userName eq "bob" or userName eq "carol" and active eq false', {BOB}),
    ('(userName eq "bob" or userName eq "carol") and active eq true', {CAROL}),
    ('not (userName eq "bob" or active eq false)', {ALICE, CAROL, DAN, DANA}),
    ('userName sw "dan" and not (displayName co "%")', {DANA}),
    # Injection attempts are plain values.
    ('userName eq "x\\" or 1=1 --"', set()),
    ("userName eq \"bob' OR '1'='1\"", set()),
]


@pytest.mark.parametrize(("text", "expected"), USER_CASES)
def test_user_filter_matches(db: Database, text: str, expected: set[str]) -> None:
    """Each user filter matches exactly the expected users."""
    assert users_matching(db, text) == expected


ENTERPRISE = ENTERPRISE_USER_URN

# Attributes read from the stored document (RFC 7643 §4.1 and §4.3) rather than columns.
DOCUMENT_CASES: list[tuple[str, set[str]]] = [
    ('nickName eq "ALI"', {ALICE}),
    # RFC 7644 §3.4.2.2: an empty string is not a value, so pr does not match it.
    ("nickName pr", {ALICE, BOB}),
    ('title co "engineer"', {ALICE, BOB, CAROL}),
    ('title sw "ENGINEER"', {BOB, CAROL}),
    ('title ew "engineer"', {ALICE, BOB}),
    ('title eq "engineer"', {BOB}),
    ('title ne "engineer"', EVERYONE - {BOB}),
    ('not (title eq "engineer")', EVERYONE - {BOB}),
    ('title gt "f"', {ALICE}),
    ('title le "engineer"', {BOB, DAN, DANA}),
    ('title co "0%"', {DAN}),
    ('title ew "_x"', {DAN}),
    ("title pr", EVERYONE - {ERIN}),
    ("title eq null", {ERIN}),
    ('userType eq "employee"', {ALICE}),
    ('preferredLanguage sw "fr"', {BOB}),
    ('locale eq "EN-us"', {ALICE}),
    ('timezone eq "europe/paris"', {ALICE, BOB}),
    # RFC 7643 §2.3.7: a reference is case-exact.
    ('profileUrl eq "https://example.com/Alice"', {ALICE}),
    ('profileUrl eq "https://example.com/alice"', {CAROL}),
    ('profileUrl co "ALICE"', set()),
    ('name.formatted co "alice"', {ALICE}),
    ('name.middleName eq "JANE"', {ALICE}),
    ("name.honorificPrefix pr", {ALICE}),
    ('name.honorificSuffix eq "jr."', {BOB}),
    ("urn:ietf:params:scim:schemas:core:2.0:User:name.middleName pr", {ALICE}),
    # A complex attribute is present when one of its sub-attributes is.
    ("name pr", {ALICE, BOB, CAROL}),
    ("not (name pr)", {DAN, DANA, ERIN}),
    ("manager pr", {ALICE, BOB, CAROL}),
    # The enterprise extension, qualified by its URN (in any case) or not.
    ('employeeNumber eq "7"', {ALICE}),
    (f'{ENTERPRISE}:employeeNumber eq "7"', {ALICE}),
    (f'{ENTERPRISE.upper()}:EMPLOYEENUMBER sw "7"', {ALICE, BOB}),
    ("employeeNumber pr", {ALICE, BOB}),
    ('costCenter eq "cc-1"', {DANA}),
    ('costCenter sw "CC-1"', {ALICE, DANA}),
    ('organization eq "ACME"', {ALICE, BOB}),
    ('division eq "r&d"', {ALICE}),
    ('department ne "sales"', EVERYONE - {BOB}),
    ('manager.displayName eq "bob jones"', {ALICE}),
    ("manager.displayName pr", {ALICE, CAROL}),
    ('manager.$ref ew "/Users/u-bob"', {ALICE}),
    # manager.value is an id, case-exact (RFC 7643 errata 8472).
    ('manager.value eq "u-bob"', {ALICE}),
    ('manager.value eq "u-alice"', {CAROL}),
    (f'{ENTERPRISE}:manager.value eq "U-ALICE"', {BOB}),
    # Multi-valued attributes: any value may match; a value filter holds for one value.
    ('phoneNumbers[type eq "work" and value co "555"]', {ALICE}),
    ('phoneNumbers.type eq "work" and phoneNumbers.value co "555"', {ALICE, BOB}),
    ('phoneNumbers[type eq "work"].value co "444"', {BOB}),
    ('phoneNumbers co "555"', {ALICE, BOB, DAN}),
    ('phoneNumbers.value eq "+1 444 0100"', {BOB}),
    ('phoneNumbers ne "+1 444 0100"', EVERYONE - {BOB}),
    ("phoneNumbers pr", {ALICE, BOB, DAN}),
    ("not (phoneNumbers pr)", {CAROL, DANA, ERIN}),
    ("phoneNumbers eq null", {CAROL, DANA, ERIN}),
    ("phoneNumbers.primary eq true", {ALICE}),
    ("phoneNumbers.primary eq false", {DAN}),
    ("phoneNumbers.primary pr", {ALICE, DAN}),
    ("phoneNumbers[not (primary eq true)]", {ALICE, BOB, DAN}),
    ('ims.value eq "aliceaim"', {ALICE}),
    ('ims[type eq "xmpp"]', {CAROL}),
    ('ims.display co "AIM"', {ALICE}),
    # RFC 7643 §2.3.7: a photo is a reference, case-exact.
    ('photos eq "https://photos.example.com/Alice.jpg"', {ALICE}),
    ('photos.value ew "alice.jpg"', {CAROL}),
    ('photos[type eq "PHOTO" and primary eq true]', {ALICE}),
    ('addresses[locality eq "paris"]', {ALICE, BOB}),
    ('addresses[type eq "work" and locality eq "Paris"]', {ALICE}),
    ('addresses.type eq "work" and addresses.locality eq "Paris"', {ALICE, BOB}),
    ('addresses.country eq "fr"', {ALICE, BOB}),
    ('addresses.postalCode sw "75"', {ALICE}),
    ('addresses.streetAddress co "rivoli"', {ALICE}),
    ('addresses.region eq "idf"', {ALICE}),
    ('addresses.formatted co "75001 PARIS"', {ALICE}),
    ("addresses.primary eq false", {BOB}),
    ("addresses pr", {ALICE, BOB}),
    ('entitlements eq "premium"', {ALICE}),
    ('entitlements.display sw "premium"', {ALICE}),
    ('entitlements.type eq "support"', {ALICE}),
    # An empty list holds no value.
    ("entitlements pr", {ALICE}),
    ('roles eq "admin"', {ALICE, BOB}),
    ('roles[value eq "admin" and primary eq true]', {ALICE}),
    ('roles.type eq "SYSTEM"', {ALICE}),
    ('roles.value eq "auditor"', {BOB}),
    # RFC 7643 §2.3.6: binary values are case-exact.
    ('x509Certificates eq "MIIBcert"', {ALICE}),
    ('x509Certificates.value eq "miibcert"', {BOB}),
    ('x509Certificates.value sw "MIIB"', {ALICE}),
    ('x509Certificates.display co "certificate"', {ALICE}),
    ('meta.resourceType eq "User"', EVERYONE),
    ('meta.resourceType eq "user"', set()),
    ('meta.version eq "W/\\"1\\""', EVERYONE),
    ('meta.version ne "W/\\"1\\""', set()),
    # Columns, child rows and the document combine in one condition.
    ('title co "engineer" and not (phoneNumbers pr)', {CAROL}),
    ('emails[type eq "work"] and addresses[locality eq "Lyon"]', {BOB}),
    ('employeeNumber sw "7" and name.familyName eq "jones"', {BOB}),
]


@pytest.mark.parametrize(("text", "expected"), DOCUMENT_CASES)
def test_user_filter_on_stored_document(db: Database, text: str, expected: set[str]) -> None:
    """Each filter on a document-held attribute matches exactly the expected users."""
    assert users_matching(db, text) == expected


GROUP_CASES: list[tuple[str, set[str]]] = [
    ('displayName eq "ENGINEERING"', {"Engineering"}),
    ('displayName co "AL"', {"Sales"}),
    ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "e"', {"Engineering", "Empty"}),
    ('externalId eq "G-1"', {"Engineering"}),
    ('not (externalId eq "G-1")', {"Sales", "Empty"}),
    ('id eq "g-sales"', {"Sales"}),
    ('meta.lastModified gt "2024-01-15T00:00:00Z"', {"Engineering"}),
    ('members.value eq "u-alice"', {"Engineering"}),
    ('members eq "g-eng"', {"Sales"}),
    ('members.value eq "U-ALICE"', set()),
    ('members ne "u-carol"', {"Engineering", "Empty"}),
    ('members.type eq "User"', {"Engineering", "Sales"}),
    ('members[type eq "group"]', {"Sales"}),
    ('members[value eq "u-bob" and type eq "user"]', {"Engineering"}),
    ('members[value eq "u-bob" and type eq "group"]', set()),
    ("members pr", {"Engineering", "Sales"}),
    ("not (members pr)", {"Empty"}),
    # A member's display: the user's displayName, else its userName, or the group's name.
    ('members.display eq "alice SMITH"', {"Engineering"}),
    ('members.display eq "carol"', {"Sales"}),
    ('members.display eq "engineering"', {"Sales"}),
    ('members[type eq "user" and display sw "BOB"]', {"Engineering"}),
    ('members[type eq "group" and display sw "bob"]', set()),
    ("members.display pr", {"Engineering", "Sales"}),
    ('meta.resourceType eq "Group"', {"Engineering", "Sales", "Empty"}),
    ('meta.version eq "W/\\"1\\""', {"Engineering", "Sales", "Empty"}),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_CASES)
def test_group_filter_matches(db: Database, text: str, expected: set[str]) -> None:
    """Each group filter matches exactly the expected groups."""
    assert groups_matching(db, text) == expected


MEMBER_CASES: list[tuple[str, set[str]]] = [
    ('value eq "u-carol"', {"u-carol"}),
    ('value eq "u-alice"', set()),
    ('type eq "GROUP"', {"g-eng"}),
    ('not (type eq "user")', {"g-eng"}),
    ('value sw "g-" or value eq "u-carol"', {"u-carol", "g-eng"}),
    ('display eq "ENGINEERING"', {"g-eng"}),
    ('display co "o"', {"u-carol"}),
]


@pytest.mark.parametrize(("text", "expected"), MEMBER_CASES)
def test_member_filter_selects_rows_of_one_group(
    db: Database, text: str, expected: set[str]
) -> None:
    """member_filter selects only the matching member rows of the given group."""
    condition = member_filter(parse_filter(text), "g-sales")
    query = select(GroupMember.user_id, GroupMember.member_group_id).where(condition)
    with db.transaction(write=False) as s:
        rows = {user_id or group_id for user_id, group_id in s.execute(query)}
    assert rows == expected


@pytest.mark.parametrize("text", ['value eq "g-eng"', 'display eq "engineering"'])
def test_member_filter_drives_a_delete(db: Database, text: str) -> None:
    """A DELETE restricted by member_filter removes only the matching row."""
    condition = member_filter(parse_filter(text), "g-sales")
    with db.engine.connect() as connection:
        result = connection.execute(delete(GroupMember).where(condition))
        assert result.rowcount == 1
        connection.rollback()


INVALID_CASES: list[tuple[str, str]] = [
    ('userName eqq "x"', "Invalid filter 'userName eqq \"x\"': invalid syntax at column 10"),
    ('(userName eq "x"', "Invalid filter '(userName eq \"x\"': invalid syntax at column 14"),
    ("userName eq", "Invalid filter 'userName eq': invalid syntax at column 10"),
    ("nickname eq 5", "'nickName' is a string; compare it with a quoted string"),
    ('name eq "x"', "'name' is complex; compare one of its sub-attributes, or test it with pr"),
    (
        'manager co "x"',
        "'manager' is complex; compare one of its sub-attributes, or test it with pr",
    ),
    ('phoneNumbers.foo eq "x"', "Filtering on attribute 'phoneNumbers.foo' is not supported"),
    ('addresses[value eq "x"]', "Filtering on attribute 'addresses.value' is not supported"),
    ('addresses eq "x"', "Filtering on attribute 'addresses' is not supported"),
    ('groups.value eq "g-eng"', "Filtering on attribute 'groups.value' is not supported"),
    ("meta.location pr", "Filtering on attribute 'meta.location' is not supported"),
    (
        'urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber eq "7"',
        "Filtering on attribute 'urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber' "
        "is not supported",
    ),
    (
        f'{ENTERPRISE_USER_URN}:userName eq "bob"',
        f"Filtering on attribute '{ENTERPRISE_USER_URN}:userName' is not supported",
    ),
    (
        'title[value eq "x"]',
        "'title' is single-valued; only multi-valued attributes take a [filter]",
    ),
    (
        'name[givenName eq "x"]',
        "'name' is single-valued; only multi-valued attributes take a [filter]",
    ),
    (
        'x509Certificates.value gt "a"',
        "'x509Certificates.value' is binary; 'gt' does not apply to it",
    ),
    (
        "x509Certificates eq 5",
        "'x509Certificates.value' is binary; compare it with a quoted base64 string",
    ),
    (
        'phoneNumbers.primary co "t"',
        "'phoneNumbers.primary' is a boolean; 'co' does not apply to it",
    ),
    ("addresses.primary eq 1", "'addresses.primary' is a boolean; compare it with true or false"),
    ('emails.foo eq "x"', "Filtering on attribute 'emails.foo' is not supported"),
    ('emails[foo eq "x"]', "Filtering on attribute 'emails.foo' is not supported"),
    ("password pr", "Filtering on attribute 'password' is not supported"),
    (
        'urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"',
        "Filtering on attribute 'urn:ietf:params:scim:schemas:core:2.0:Group:displayName' "
        "is not supported",
    ),
    ('active eq "true"', "'active' is a boolean; compare it with true or false"),
    ("active gt false", "'active' is a boolean; 'gt' does not apply to it"),
    ('emails.primary co "t"', "'emails.primary' is a boolean; 'co' does not apply to it"),
    ("userName eq 5", "'userName' is a string; compare it with a quoted string"),
    ("displayName co true", "'displayName' is a string; compare it with a quoted string"),
    (
        'meta.created gt "yesterday"',
        "'meta.created' is a dateTime; compare it with a quoted ISO 8601 timestamp "
        'such as "2024-01-31T12:00:00Z"',
    ),
    (
        'meta.lastModified sw "2024"',
        "'sw' applies only to strings; 'meta.lastModified' is a dateTime",
    ),
    ("userName gt null", "'gt' cannot compare with null; use eq or ne"),
    ('userName eq "a\\u0000b"', "The value compared with 'userName' contains a NUL character"),
    (
        'userName[value eq "x"]',
        "'userName' is single-valued; only multi-valued attributes take a [filter]",
    ),
]


@pytest.mark.parametrize(("text", "detail"), INVALID_CASES)
def test_invalid_user_filters_are_refused(text: str, detail: str) -> None:
    """Invalid filters raise InvalidFilterError naming the problem."""
    with pytest.raises(InvalidFilterError) as raised:
        user_filter(text)
    assert raised.value.detail == detail
    assert raised.value.status == 400


def test_user_attributes_are_unknown_to_group_filters() -> None:
    """A User attribute in a Group filter is refused."""
    with pytest.raises(InvalidFilterError) as raised:
        group_filter('userName eq "x"')
    assert raised.value.detail == "Filtering on attribute 'userName' is not supported"


def test_nested_value_path_is_refused() -> None:
    """A value path inside the filter of another value path is refused."""
    inner = Comparison(AttrPath("value"), CompareOperator.eq, "x")
    with pytest.raises(InvalidFilterError) as raised:
        member_filter(ValuePath(AttrPath("members"), inner), "g-sales")
    assert raised.value.detail == (
        "'members[value eq \"x\"]' cannot appear inside another value filter"
    )


def test_too_long_filter_is_refused() -> None:
    """A filter over 4096 characters is refused before parsing."""
    text = f'userName eq "{"a" * 4090}"'
    with pytest.raises(InvalidFilterError) as raised:
        user_filter(text)
    assert raised.value.detail == "filter is longer than 4096 characters"


def test_filter_of_exactly_the_limit_is_accepted() -> None:
    """A filter of exactly 4096 characters is parsed."""
    text = f'userName eq "{"a" * 4082}"'
    assert len(text) == 4096
    parse_filter(text)


def test_group_members_display_is_unknown_to_users() -> None:
    """A Group attribute in a User filter is refused."""
    with pytest.raises(InvalidFilterError) as raised:
        user_filter('members.display eq "x"')
    assert raised.value.detail == "Filtering on attribute 'members.display' is not supported"


def test_document_filters_compile_only_for_supported_dialects() -> None:
    """Array elements have no spelling outside SQLite and PostgreSQL, so compiling fails loudly."""
    query = select(User.id).where(user_filter('phoneNumbers[type eq "work"]'))
    with pytest.raises(CompileError, match="only compiled for SQLite and PostgreSQL"):
        query.compile(dialect=mysql.dialect())


def test_values_are_bound_parameters() -> None:
    """Filter values reach the database as bound parameters, never inside the SQL text."""
    compiled = select(User.id).where(user_filter('userName eq "x\' OR 1=1 --"')).compile()
    assert "OR 1=1" not in str(compiled)
    assert "x' or 1=1 --" in compiled.params.values()


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://"])
def test_document_values_and_paths_are_bound_parameters(url: str) -> None:
    """Values and JSON paths of document-held attributes are bound parameters as well."""
    text = 'phoneNumbers[value eq "x\' OR 1=1 --"] and title eq "t"'
    dialect = create_engine(url).dialect
    compiled = select(User.id).where(user_filter(text)).compile(dialect=dialect)
    assert "1=1" not in str(compiled)
    assert "phoneNumbers" not in str(compiled)
    assert "x' or 1=1 --" in compiled.params.values()
