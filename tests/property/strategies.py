"""Hypothesis strategies: SCIM filters from the RFC 7644 grammar, bodies, hostile input.

Filters are built type-correctly (a string attribute is compared with a string, a
boolean with true or false, a dateTime with a timestamp), so every one of them must be
answered with a ListResponse; ``loose_filters`` drops that care and may be refused,
but only as ``invalidFilter``.
"""

import json
from datetime import UTC, datetime
from typing import Any, Literal

from hypothesis import strategies as st

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

ALL_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
EQUALITY = ("eq", "ne")
ORDERING = ("eq", "ne", "gt", "ge", "lt", "le")
TEXTUAL = ("eq", "ne", "co", "sw", "ew")
# Lone surrogates cannot travel in a UTF-8 URL or JSON document; unassigned, private
# and control characters are not what names and titles hold.
NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]
NOT_PRINTABLE: list[Literal["Cs", "Cc", "Co", "Cn"]] = ["Cs", "Cc", "Co", "Cn"]


class Kinds:
    """The filterable attributes of a resource type, by the operators their type takes."""

    def __init__(
        self,
        strings: list[str],
        booleans: list[str],
        dates: list[str],
        binaries: list[str],
        complex_: list[str],
        value_paths: dict[str, tuple[list[str], list[str]]],
    ) -> None:
        self.strings = strings
        self.booleans = booleans
        self.dates = dates
        self.binaries = binaries
        self.complex = complex_
        """Complex or multi-valued attributes: only ``pr`` and ``eq null`` apply whole."""
        self.value_paths = value_paths
        """attribute -> (string sub-attributes, boolean sub-attributes)"""


_STORED_LISTS = ("phoneNumbers", "ims", "photos", "entitlements", "roles")
USER_KINDS = Kinds(
    strings=[
        "userName",
        "displayName",
        "name.givenName",
        "name.familyName",
        "name.formatted",
        "name.middleName",
        "title",
        "nickName",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "profileUrl",
        "externalId",
        "id",
        "meta.version",
        "meta.resourceType",
        f"{USER_URN}:userName",
        f"{USER_URN}:name.familyName",
        "employeeNumber",
        f"{ENTERPRISE_URN}:employeeNumber",
        f"{ENTERPRISE_URN}:department",
        "costCenter",
        f"{ENTERPRISE_URN}:manager.value",
        "manager.displayName",
        "emails",
        "emails.value",
        "emails.type",
        "emails.display",
        "addresses.locality",
        "addresses.country",
        "addresses.streetAddress",
        "x509Certificates.display",
        *(f"{name}.{sub}" for name in _STORED_LISTS for sub in ("value", "type", "display")),
    ],
    booleans=["active", "emails.primary", "addresses.primary", "phoneNumbers.primary"],
    dates=["meta.created", "meta.lastModified"],
    binaries=["x509Certificates.value", "x509Certificates"],
    complex_=["name", "emails", "addresses", "phoneNumbers", f"{ENTERPRISE_URN}:manager"],
    value_paths={
        "emails": (["value", "type", "display"], ["primary"]),
        "phoneNumbers": (["value", "type", "display"], ["primary"]),
        "addresses": (["locality", "region", "country", "type", "formatted"], ["primary"]),
        "roles": (["value", "type", "display"], ["primary"]),
    },
)
GROUP_KINDS = Kinds(
    strings=[
        "displayName",
        f"{GROUP_URN}:displayName",
        "externalId",
        "id",
        "meta.version",
        "meta.resourceType",
        "members",
        "members.value",
        "members.display",
        "members.type",
    ],
    booleans=[],
    dates=["meta.created", "meta.lastModified"],
    binaries=[],
    complex_=["members"],
    value_paths={"members": (["value", "display", "type"], [])},
)


def cased(name: str) -> st.SearchStrategy[str]:
    """An attribute name in any case (RFC 7643 §2.1: names are case-insensitive)."""
    return st.sampled_from([name, name.lower(), name.upper()])


# Text a filter can carry: anything but NUL (refused: PostgreSQL text cannot hold it)
# and lone surrogates (no URL or JSON document in UTF-8 can carry them).
filter_text = st.text(
    st.characters(exclude_categories=NO_SURROGATES, exclude_characters="\x00"), max_size=12
)


def string_literal(values: st.SearchStrategy[str] = filter_text) -> st.SearchStrategy[str]:
    """A JSON string literal, escaped or not (RFC 7644 §3.4.2.2 takes JSON's strings)."""
    return st.builds(
        lambda value, ascii_only: json.dumps(value, ensure_ascii=ascii_only),
        values,
        st.booleans(),
    )


date_literal = st.builds(
    lambda moment, style: json.dumps(
        moment.strftime(style).replace("+0000", "+00:00")
        if "%z" in style
        else moment.strftime(style)
    ),
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    st.sampled_from(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S%z"]),
)


def comparison(kinds: Kinds, attributes: list[str] | None = None) -> st.SearchStrategy[str]:
    """``attr op value`` with a value of the attribute's type, or ``eq``/``ne`` null."""
    strings = attributes if attributes is not None else kinds.strings
    options = [
        st.tuples(
            st.sampled_from(strings).flatmap(cased),
            st.sampled_from(ALL_OPERATORS),
            string_literal(),
        ),
        st.tuples(
            st.sampled_from([*strings, *(kinds.complex if attributes is None else [])]).flatmap(
                cased
            ),
            st.sampled_from(EQUALITY),
            st.just("null"),
        ),
    ]
    if kinds.booleans and attributes is None:
        options.append(
            st.tuples(
                st.sampled_from(kinds.booleans).flatmap(cased),
                st.sampled_from(EQUALITY),
                st.sampled_from(["true", "false", "TRUE", "False"]),
            )
        )
    if attributes is None:
        options.append(
            st.tuples(
                st.sampled_from(kinds.dates).flatmap(cased), st.sampled_from(ORDERING), date_literal
            )
        )
    if kinds.binaries and attributes is None:
        options.append(
            st.tuples(st.sampled_from(kinds.binaries), st.sampled_from(TEXTUAL), string_literal())
        )
    return st.one_of(options).map(" ".join)


def presence(kinds: Kinds) -> st.SearchStrategy[str]:
    """``attr pr`` on any attribute, complex and multi-valued ones included."""
    every = [*kinds.strings, *kinds.booleans, *kinds.dates, *kinds.complex, *kinds.binaries]
    return st.sampled_from(every).flatmap(cased).map(lambda name: f"{name} pr")


def value_path(kinds: Kinds) -> st.SearchStrategy[str]:
    """``attr[valFilter]``: a filter over the sub-attributes of one value."""
    names = sorted(kinds.value_paths)

    def build(name: str) -> st.SearchStrategy[str]:
        strings, booleans = kinds.value_paths[name]
        leaves = [comparison(kinds, strings), st.sampled_from(strings).map(lambda s: f"{s} pr")]
        if booleans:
            leaves.append(
                st.tuples(
                    st.sampled_from(booleans),
                    st.sampled_from(EQUALITY),
                    st.sampled_from(["true", "false"]),
                ).map(" ".join)
            )
        leaf = st.one_of(leaves)
        inner = st.one_of(
            leaf,
            st.tuples(leaf, st.sampled_from(["and", "or"]), leaf).map(" ".join),
            leaf.map(lambda text: f"not ({text})"),
        )
        return inner.map(lambda text: f"{name}[{text}]")

    return st.sampled_from(names).flatmap(build)


def filters(kinds: Kinds, depth: int = 3) -> st.SearchStrategy[str]:
    """A type-correct filter: and, or, not, parentheses and value paths over leaves."""
    leaf = st.one_of(comparison(kinds), presence(kinds), value_path(kinds))
    if depth == 0:
        return leaf
    below = filters(kinds, depth - 1)
    return st.one_of(
        leaf,
        below.map(lambda text: f"not ({text})"),
        below.map(lambda text: f"({text})"),
        st.tuples(
            st.lists(below, min_size=2, max_size=3),
            st.sampled_from(["and", "or", "AND", "Or"]),
        ).map(lambda parts: f" {parts[1]} ".join(parts[0])),
    )


# --- hostile and loose input --------------------------------------------------------------

INJECTIONS = [
    "x' OR 1=1 --",
    '"; DROP TABLE users; --',
    "%",
    "_",
    "%%",
    "a%",
    "\\",
    "\\%",
    "' OR ''='",
    "*",
    "1; SELECT pg_sleep(5)",
]

number_literal = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e999", "-0", "0x10", "1.", ".5", "9" * 400, "-1e-999"]),
)


def loose_filters(kinds: Kinds) -> st.SearchStrategy[str]:
    """Filters from the grammar whose types need not fit: numbers, null everywhere."""
    attributes = [*kinds.strings, *kinds.booleans, *kinds.dates, *kinds.complex, "nope", "a.b.c"]
    literal = st.one_of(
        string_literal(), number_literal, st.sampled_from(["true", "false", "null"]), date_literal
    )
    leaf = st.tuples(
        st.sampled_from(attributes).flatmap(cased),
        st.sampled_from([*ALL_OPERATORS, "pr", "xx"]),
        literal,
    ).map(lambda parts: f"{parts[0]} pr" if parts[1] == "pr" else " ".join(parts))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            inner.map(lambda text: f"not ({text})"),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
            st.tuples(st.sampled_from(attributes), inner).map(lambda p: f"{p[0]}[{p[1]}]"),
        ),
        max_leaves=6,
    )


def broken(source: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A filter cut, spliced with random text, or its brackets and quotes unbalanced."""

    def splice(parts: tuple[str, int, int, str]) -> str:
        text, start, length, insert = parts
        start %= len(text) + 1
        return text[:start] + insert + text[start + length :]

    return st.one_of(
        st.tuples(source, st.integers(0, 200), st.integers(0, 5), st.text(max_size=5)).map(splice),
        source.map(lambda text: text.replace('"', "", 1)),
        source.map(lambda text: text + ")"),
        source.map(lambda text: "(" + text),
    )


hostile_filters = st.one_of(
    st.text(st.characters(exclude_categories=NO_SURROGATES), max_size=60),
    st.sampled_from(INJECTIONS),
    st.integers(1, 3000).map(lambda depth: "(" * depth + 'userName eq "a"' + ")" * depth),
    st.integers(1, 500).map(lambda n: " or ".join(['userName eq "a"'] * n)),
    st.integers(1, 2000).map(lambda depth: "not (" * depth + "active eq true" + ")" * depth),
    st.sampled_from(['userName eq "a', 'userName eq "\\', "userName eq", "eq", "()", "[]", '"']),
    # Escapes the filter's own string syntax decodes: a lone surrogate, NUL.
    st.sampled_from(['userName eq "\\ud800"', 'title co "\\udfff"', 'userName eq "\\u0000"']),
)


# --- JSON and bodies ----------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=NO_SURROGATES), max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
    ),
    max_leaves=20,
)


def with_known_keys(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects whose keys are mostly names a SCIM endpoint reads, so the
    parser gets past the envelope and meets wrong values where it expects right ones."""
    return st.dictionaries(
        st.one_of(st.sampled_from(keys).flatmap(cased), st.text(max_size=8)),
        json_values,
        max_size=6,
    )


random_bytes = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"{",
            b'{"a":',
            b"\xff\xfe{}",
            b"\xef\xbb\xbf{}",
            b'{"userName": NaN}',
            b'{"userName": Infinity}',
            b'{"a": 1e999}',
            b'{"a": "\\ud800"}',
            b'{"a": "\xed\xa0\x80"}',
            b"[" * 5000 + b"]" * 5000,
            b'{"a":' * 200 + b"1" + b"}" * 200,
            b'"just a string"',
            b"null",
        ]
    ),
)

email_local = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789._-+"), min_size=1, max_size=12
).filter(lambda text: not text.startswith(".") and not text.endswith(".") and ".." not in text)
# What a person's name or title may hold: letters of many scripts, spaces, punctuation;
# no NUL, no lone surrogates, no control characters.
human_text = st.text(
    st.characters(exclude_categories=NOT_PRINTABLE), min_size=1, max_size=20
).filter(lambda text: text.strip() != "")


@st.composite
def user_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid User body: userName, name, emails, phoneNumbers, active, enterprise."""
    local = draw(email_local)
    suffix = draw(st.integers(0, 10**9))
    body: dict[str, Any] = {"schemas": [USER_URN], "userName": f"{local}.{suffix}@example.com"}
    if draw(st.booleans()):
        name = {
            key: draw(human_text)
            for key in ("givenName", "familyName", "middleName")
            if draw(st.booleans())
        }
        if name:
            body["name"] = name
    for key in ("displayName", "title", "nickName", "externalId", "userType", "preferredLanguage"):
        if draw(st.booleans()):
            body[key] = draw(human_text)
    if draw(st.booleans()):
        body["active"] = draw(st.booleans())
    emails = draw(
        st.lists(st.tuples(email_local, st.sampled_from(["work", "home", "other"])), max_size=3)
    )
    if emails:
        primary = draw(st.integers(-1, len(emails) - 1))
        body["emails"] = [
            {
                "value": f"{local}@example.org",
                "type": kind,
                **({"primary": True} if index == primary else {}),
            }
            for index, (local, kind) in enumerate(emails)
        ]
    if draw(st.booleans()):
        body["phoneNumbers"] = [
            {
                "value": draw(
                    st.sampled_from(["+1 415 555 0100", "+44 20 7946 0000", "(212) 555-0199"])
                ),
                "type": "work",
            }
        ]
    enterprise = {
        key: draw(human_text)
        for key in ("employeeNumber", "department", "costCenter", "division")
        if draw(st.booleans())
    }
    # An empty extension is no extension (RFC 7643 §2.5: empty and unassigned are
    # equivalent), so the server rightly leaves it and its URN out: only sent with values.
    wanted: bool = draw(st.booleans())
    if enterprise and wanted:
        body["schemas"] = [USER_URN, ENTERPRISE_URN]
        body[ENTERPRISE_URN] = enterprise
    return body
