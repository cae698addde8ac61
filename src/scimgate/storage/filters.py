"""SCIM filters (RFC 7644 §3.4.2.2) translated into SQLAlchemy boolean expressions.

scim2_models parses the filter; a :class:`FilterVisitor` then walks the tree and looks
each attribute up in one table per resource type that says which SQL expression holds
it, its type and whether it is case-exact. ``storage.sorting`` reads the same table.
Values only ever reach the database as bound parameters.

Attributes without a column of their own are read from the stored SCIM document (the
``attributes`` JSON column) in SQL, through SQLAlchemy's JSON index operators, so both
dialects evaluate them in the database.

Every comparison is NULL-safe, so it yields true or false and never SQL's unknown: that
is what keeps ``not (...)`` the exact complement of what it negates.
"""

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from scim2_models import InvalidFilterException
from scim2_models.path import (
    ORDERING_OPERATORS,
    STRING_OPERATORS,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ScimFilter,
    ValuePath,
)
from sqlalchemy import (
    JSON,
    ColumnElement,
    Exists,
    FromClause,
    SQLColumnExpression,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from scimgate.errors import InvalidFilterError

from .models import Group, GroupMember, User, UserEmail

# Once a string is decoded, a character in this range is half of a UTF-16 pair alone.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_FILTER_LENGTH = 4096
"""Longest filter accepted; a bound on the work one request can ask of the parser."""

USER_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

Kind = Literal["string", "boolean", "dateTime", "binary"]
ColumnExpr = SQLColumnExpression[Any]


@dataclass(frozen=True)
class Attribute:
    """A singular attribute (or sub-attribute) and the SQL expression holding its value."""

    name: str
    """The SCIM name, as error messages show it."""
    column: ColumnElement[Any]
    kind: Kind = "string"
    case_exact: bool = False
    """RFC 7643 §2.2 caseExact; when false, ``column`` must yield lower-cased text."""
    schema: str | None = None
    """The URN of the schema extension defining the attribute; None for the core schema."""

    @property
    def key(self) -> str:
        """The lower-cased name, qualified by the extension's URN if it has one."""
        return (f"{self.schema}:{self.name}" if self.schema else self.name).lower()


@dataclass(frozen=True)
class Relation:
    """A multi-valued complex attribute: child rows, or the elements of a JSON array."""

    name: str
    rows: FromClause
    """Holds the values, one row each."""
    rows_of: ColumnElement[bool] | None
    """Selects the rows of the resource being filtered; None when ``rows`` is already
    computed from that resource (the elements of an array in its stored document)."""
    attributes: Mapping[str, Attribute]
    """Sub-attributes, by lower-cased name."""
    primary_value: ColumnElement[Any] | None = None
    """What sorting by the attribute orders by (RFC 7644 §3.4.2.3: the primary value, else
    the first), or None when this server cannot sort by it."""


@dataclass(frozen=True)
class Schema:
    """The filterable and sortable attributes of one resource type."""

    urn: str
    attributes: Mapping[str, Attribute]
    """Singular attributes, by :attr:`Attribute.key` such as ``name.givenname``."""
    relations: Mapping[str, Relation]
    """Multi-valued attributes, by lower-cased name."""
    extensions: tuple[str, ...] = ()
    """URNs of the schema extensions whose attributes ``attributes`` also holds."""

    def find(self, path: AttrPath) -> tuple[Attribute, Relation | None] | None:
        """Find the attribute a path names, and the relation holding it if multi-valued."""
        sub = path.sub_attr.lower() if path.sub_attr else None
        for prefix in self._prefixes(path):
            name = prefix + path.attr.lower()
            found = self.attributes.get(f"{name}.{sub}" if sub else name)
            if found is not None:
                return found, None
            relation = self.relations.get(name)
            # RFC 7643 §2.4: "value" is the significant value of a multi-valued attribute,
            # so the attribute named alone stands for it.
            value = relation.attributes.get(sub or "value") if relation else None
            if relation is not None and value is not None:
                return value, relation
        return None

    def relation(self, path: AttrPath) -> Relation | None:
        """Return the multi-valued attribute a path names as a whole, if it names one."""
        if path.sub_attr is not None:
            return None
        names = (prefix + path.attr.lower() for prefix in self._prefixes(path))
        return next((self.relations[name] for name in names if name in self.relations), None)

    def parts(self, path: AttrPath) -> list[Attribute]:
        """Return the sub-attributes of the singular complex attribute a path names."""
        if path.sub_attr is not None:
            return []
        for prefix in self._prefixes(path):
            stem = f"{prefix}{path.attr.lower()}."
            found = [
                attribute for key, attribute in self.attributes.items() if key.startswith(stem)
            ]
            if found:
                return found
        return []

    def _prefixes(self, path: AttrPath) -> list[str]:
        """Return the key prefixes of the schemas the path may name an attribute of."""
        # RFC 7644 §3.10: a name may be qualified by its schema's URN; an unqualified one
        # is looked up in the core schema first, then in the extensions.
        extensions = {urn.lower(): f"{urn.lower()}:" for urn in self.extensions}
        if path.uri is None:
            return ["", *extensions.values()]
        uri = path.uri.lower()
        if uri == self.urn.lower():
            return [""]
        return [extensions[uri]] if uri in extensions else []


def _by_name(attributes: Iterable[Attribute], prefix: str = "") -> dict[str, Attribute]:
    """Index attributes by key (RFC 7643 §2.1: names are case-insensitive)."""
    return {attribute.key.removeprefix(prefix): attribute for attribute in attributes}


def _lower(column: ColumnExpr) -> ColumnElement[str]:
    """Lower-case a column that has no normalized copy."""
    return func.lower(column, type_=String)


class _ArrayElements(FunctionElement[Any]):
    """The elements of the JSON array at a path of a JSON document, one row each.

    The two dialects name this function differently, so each compiles it below.
    """

    name = "array_elements"
    inherit_cache = True


@compiles(_ArrayElements, "sqlite")
def _sqlite_elements(element: _ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    document, path = element.clauses
    # Given the path as its own argument, json_each yields no rows when it is missing.
    return f"json_each({compiler.process(document, **kw)}, {compiler.process(path, **kw)})"


@compiles(_ArrayElements, "postgresql")
def _postgresql_elements(element: _ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    document, path = element.clauses
    # sqlalchemy.JSON is "json" on PostgreSQL, not "jsonb": hence json_array_elements.
    array = f"{compiler.process(document, **kw)} #> {compiler.process(path, **kw)}"
    return f"json_array_elements({array})"


@compiles(_ArrayElements)
def _unsupported_elements(element: _ArrayElements, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError("JSON array elements are only compiled for SQLite and PostgreSQL")


def _json_value(
    document: Any, path: tuple[str, ...], kind: Kind, case_exact: bool
) -> ColumnElement[Any]:
    """The value at ``path`` in a JSON document, NULL when absent, as SQL of ``kind``."""
    value = document[path]
    if kind == "boolean":
        boolean: ColumnElement[bool] = value.as_boolean()
        return boolean
    text: ColumnElement[str] = value.as_string()
    return text if case_exact else _lower(text)


class _Field(NamedTuple):
    """A sub-attribute of a multi-valued attribute kept in the stored document."""

    name: str
    kind: Kind = "string"
    case_exact: bool = False


# RFC 7643 §2.4: the sub-attributes multi-valued attributes have in common.
_DISPLAY, _TYPE, _PRIMARY = _Field("display"), _Field("type"), _Field("primary", "boolean")
_PLURAL = (_Field("value"), _DISPLAY, _TYPE, _PRIMARY)


def _stored(name: str, *, case_exact: bool = False, schema: str | None = None) -> Attribute:
    """A singular string attribute of a user's stored document, at the path its name spells."""
    path = (*((schema,) if schema else ()), *name.split("."))
    column = _json_value(User.attributes, path, "string", case_exact)
    return Attribute(name, column, case_exact=case_exact, schema=schema)


def _enterprise(name: str, *, case_exact: bool = False) -> Attribute:
    """A string attribute of the enterprise extension (RFC 7643 §4.3)."""
    return _stored(name, case_exact=case_exact, schema=ENTERPRISE_USER_URN)


def _stored_list(name: str, *fields: _Field) -> Relation:
    """A multi-valued complex attribute of a user's stored document."""
    # Typed as a JSON path, the key is bound in each dialect's path syntax.
    path = bindparam(None, (name,), type_=JSON.JSONPathType)
    rows = _ArrayElements(User.attributes, path).table_valued(
        column("value", JSON), name=name.lower(), joins_implicitly=True
    )
    attributes = [
        Attribute(
            f"{name}.{field.name}",
            _json_value(rows.c.value, (field.name,), field.kind, field.case_exact),
            field.kind,
            field.case_exact,
        )
        for field in fields
    ]
    return Relation(name, rows, None, _by_name(attributes, prefix=f"{name.lower()}."))


def _etag(version: ColumnExpr) -> ColumnElement[str]:
    """The weak ETag a resource version is shown as in meta.version (RFC 7644 §3.14)."""
    return literal('W/"') + cast(version, String) + literal('"')


def _common_attributes(model: type[User] | type[Group], resource_type: str) -> list[Attribute]:
    """Return the attributes RFC 7643 §3.1 gives every resource type."""
    # meta.location is left out: it depends on the URL a request is sent to.
    return [
        Attribute("id", model.id.expression, case_exact=True),
        Attribute("externalId", model.external_id.expression, case_exact=True),
        Attribute("meta.resourceType", literal(resource_type), case_exact=True),
        Attribute("meta.created", model.created_at.expression, "dateTime"),
        Attribute("meta.lastModified", model.updated_at.expression, "dateTime"),
        Attribute("meta.version", _etag(model.version), case_exact=True),
    ]


_EMAILS = Relation(
    "emails",
    UserEmail.__table__,
    UserEmail.user_id == User.id,
    _by_name(
        [
            Attribute("emails.value", UserEmail.value_norm.expression),
            Attribute("emails.type", _lower(UserEmail.type)),
            Attribute("emails.primary", UserEmail.primary.expression, "boolean"),
            Attribute("emails.display", _lower(UserEmail.display)),
        ],
        prefix="emails.",
    ),
    select(UserEmail.value_norm)
    .where(UserEmail.user_id == User.id)
    .order_by(UserEmail.primary.desc(), UserEmail.position)
    .limit(1)
    .scalar_subquery(),
)

# Aliases, so that a member's own row is never mistaken for the group being filtered.
_MEMBER_USER = aliased(User, name="member_user")
_MEMBER_GROUP = aliased(Group, name="member_group")

# RFC 7643 §4.2: a member's value is the id of a User or a Group; its type names which.
# Its display is what group responses show (domain.groups): the display the IdP sent,
# else the user's displayName or userName, or the nested group's displayName.
_MEMBERS = Relation(
    "members",
    GroupMember.__table__,
    GroupMember.group_id == Group.id,
    _by_name(
        [
            Attribute(
                "members.value",
                func.coalesce(GroupMember.user_id, GroupMember.member_group_id),
                case_exact=True,
            ),
            # Spelled in lower case, as every case-insensitive column must yield.
            Attribute(
                "members.type",
                case((GroupMember.user_id.is_not(None), "user"), else_="group"),
            ),
            Attribute(
                "members.display",
                _lower(
                    func.coalesce(
                        GroupMember.display,
                        select(func.coalesce(_MEMBER_USER.display_name, _MEMBER_USER.user_name))
                        .where(_MEMBER_USER.id == GroupMember.user_id)
                        .scalar_subquery(),
                        select(_MEMBER_GROUP.display_name)
                        .where(_MEMBER_GROUP.id == GroupMember.member_group_id)
                        .scalar_subquery(),
                    )
                ),
            ),
        ],
        prefix="members.",
    ),
)

USER_SCHEMA = Schema(
    USER_SCHEMA_URN,
    _by_name(
        [
            *_common_attributes(User, "User"),
            Attribute("userName", User.user_name_norm.expression),
            Attribute("displayName", _lower(User.display_name)),
            Attribute("name.givenName", _lower(User.given_name)),
            Attribute("name.familyName", _lower(User.family_name)),
            Attribute("active", User.active.expression, "boolean"),
            # RFC 7643 §4.1.1: the other singular attributes live in the stored document.
            *map(
                _stored,
                [
                    "nickName",
                    "title",
                    "userType",
                    "preferredLanguage",
                    "locale",
                    "timezone",
                    "name.formatted",
                    "name.middleName",
                    "name.honorificPrefix",
                    "name.honorificSuffix",
                ],
            ),
            # RFC 7643 §2.3.7: a reference is case-exact.
            _stored("profileUrl", case_exact=True),
            # RFC 7643 §4.3: the enterprise extension, under its URN in the document.
            *map(
                _enterprise,
                [
                    "employeeNumber",
                    "costCenter",
                    "organization",
                    "division",
                    "department",
                    "manager.displayName",
                ],
            ),
            # manager.value holds a User's id, which is case-exact (RFC 7643 §3.1; errata
            # 8472 corrects the schema of §8.7.2 to say so).
            _enterprise("manager.value", case_exact=True),
            _enterprise("manager.$ref", case_exact=True),
        ]
    ),
    {
        relation.name.lower(): relation
        for relation in (
            _EMAILS,
            # RFC 7643 §4.1.2: the other multi-valued attributes, in the stored document.
            _stored_list("phoneNumbers", *_PLURAL),
            _stored_list("ims", *_PLURAL),
            # RFC 7643 §2.3.7: a photo's value is a reference, so case-exact.
            _stored_list("photos", _Field("value", case_exact=True), _DISPLAY, _TYPE, _PRIMARY),
            _stored_list(
                "addresses",
                *map(_Field, ("formatted", "streetAddress", "locality", "region")),
                *map(_Field, ("postalCode", "country")),
                _TYPE,
                _PRIMARY,
            ),
            _stored_list("entitlements", *_PLURAL),
            _stored_list("roles", *_PLURAL),
            # RFC 7643 §2.3.6: a certificate is binary, so case-exact and unordered.
            _stored_list(
                "x509Certificates",
                _Field("value", "binary", case_exact=True),
                _DISPLAY,
                _TYPE,
                _PRIMARY,
            ),
        )
    },
    extensions=(ENTERPRISE_USER_URN,),
)

GROUP_SCHEMA = Schema(
    GROUP_SCHEMA_URN,
    _by_name(
        [
            *_common_attributes(Group, "Group"),
            Attribute("displayName", Group.display_name_norm.expression),
        ]
    ),
    {"members": _MEMBERS},
)

_OPERATORS: dict[CompareOperator, Callable[[ColumnExpr, Any], ColumnElement[bool]]] = {
    CompareOperator.eq: operator.eq,
    CompareOperator.gt: operator.gt,
    CompareOperator.ge: operator.ge,
    CompareOperator.lt: operator.lt,
    CompareOperator.le: operator.le,
    # autoescape makes % and _ in the value literal characters, not LIKE wildcards.
    CompareOperator.co: lambda column, value: column.contains(value, autoescape=True),
    CompareOperator.sw: lambda column, value: column.startswith(value, autoescape=True),
    CompareOperator.ew: lambda column, value: column.endswith(value, autoescape=True),
}


def parse_filter(text: str) -> FilterNode:
    """Parse a SCIM filter, raising InvalidFilterError when its syntax is wrong."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilterError(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    try:
        return ScimFilter(text).ast
    except InvalidFilterException as exc:
        raise InvalidFilterError(f"Invalid filter {text!r}: {exc}") from exc


def user_filter(text: str) -> ColumnElement[bool]:
    """Translate a filter into a condition for ``select(User)``."""
    return _Translator(USER_SCHEMA).visit(parse_filter(text))


def group_filter(text: str) -> ColumnElement[bool]:
    """Translate a filter into a condition for ``select(Group)``."""
    return _Translator(GROUP_SCHEMA).visit(parse_filter(text))


def member_filter(node: FilterNode, group_id: str) -> ColumnElement[bool]:
    """Translate the filter of ``members[...]`` into a condition on one group's member rows."""
    condition = _Translator(GROUP_SCHEMA, within=_MEMBERS).visit(node)
    return and_(GroupMember.group_id == group_id, condition)


class _Translator(FilterVisitor[ColumnElement[bool]]):
    """Turn a filter tree into one SQL condition on the rows of a resource type.

    With ``within`` set the translator handles the filter of a value path: attribute
    names are the relation's sub-attributes, and the condition applies to one child row.
    """

    def __init__(self, schema: Schema, within: Relation | None = None) -> None:
        self.schema = schema
        self.within = within

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        if node.value is None:
            return self._compare_null(node)
        attribute, relation = self._resolve(node.attr_path)
        if relation is not None and node.op is CompareOperator.ne:
            # RFC 7644 leaves "ne" on a multi-valued attribute open; it is read as "no
            # value equals", the complement of "eq", so not (x eq v) equals x ne v.
            return not_(_exists(relation, _compare(attribute, CompareOperator.eq, node.value)))
        return _exists(relation, _compare(attribute, node.op, node.value))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        if self.within is None:
            # RFC 7644 §3.4.2.2: a multi-valued attribute is present when it has a value,
            # and a complex one when any of its sub-attributes is.
            relation = self.schema.relation(node.attr_path)
            if relation is not None:
                return _values(relation)
            parts = self.schema.parts(node.attr_path)
            if parts:
                return or_(*(_present(part) for part in parts))
        attribute, relation = self._resolve(node.attr_path)
        return _exists(relation, _present(attribute))

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op is LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        if self.within is not None:
            # RFC 7644 §3.4.2.2 (errata 4690): a valFilter holds no further value path.
            raise InvalidFilterError(f"'{node}' cannot appear inside another value filter")
        relation = self.schema.relation(node.attr_path)
        if relation is None:
            if self.schema.find(node.attr_path) or self.schema.parts(node.attr_path):
                raise InvalidFilterError(
                    f"'{node.attr_path}' is single-valued; only multi-valued attributes "
                    "take a [filter]"
                )
            raise _unsupported(str(node.attr_path))
        # One EXISTS for the whole value filter, so all its terms apply to the same value.
        return _exists(relation, _Translator(self.schema, within=relation).visit(node.val_filter))

    def _compare_null(self, node: Comparison) -> ColumnElement[bool]:
        """Read ``eq null`` as "not present" and ``ne null`` as "present"."""
        if node.op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterError(f"'{node.op}' cannot compare with null; use eq or ne")
        present = self.visit_present(Present(node.attr_path))
        return not_(present) if node.op is CompareOperator.eq else present

    def _resolve(self, path: AttrPath) -> tuple[Attribute, Relation | None]:
        """Find the attribute a path names, and the relation holding it if multi-valued."""
        if self.within is not None:
            return _sub_attribute(self.within, path), None
        found = self.schema.find(path)
        if found is not None:
            return found
        if self.schema.parts(path):
            raise InvalidFilterError(
                f"'{path}' is complex; compare one of its sub-attributes, or test it with pr"
            )
        raise _unsupported(str(path))


def _sub_attribute(relation: Relation, path: AttrPath) -> Attribute:
    """Find the sub-attribute a path names inside ``relation[...]``."""
    found = None if path.uri or path.sub_attr else relation.attributes.get(path.attr.lower())
    if found is None:
        raise _unsupported(f"{relation.name}.{path}")
    return found


def _exists(relation: Relation | None, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Match resources having a value of ``relation`` that meets ``condition``."""
    # RFC 7644 §3.4.2.2: a filter on a multi-valued attribute matches when any value does.
    if relation is None:
        return condition
    return _values(relation).where(condition)


def _values(relation: Relation) -> Exists:
    """Match resources having at least one value of ``relation``."""
    query = exists().select_from(relation.rows)
    return query if relation.rows_of is None else query.where(relation.rows_of)


def _compare(attribute: Attribute, op: CompareOperator, value: object) -> ColumnElement[bool]:
    """Compare one attribute with a non-null value, NULL-safely."""
    operand = _operand(attribute, op, value)
    column = attribute.column
    # RFC 7644 §3.4.2.2 defines ne as "not identical": an unassigned attribute is not
    # identical to any value, so it matches ne and no other operator.
    if op is CompareOperator.ne:
        return or_(column.is_(None), column != operand)
    return and_(column.is_not(None), _OPERATORS[op](column, operand))


def _present(attribute: Attribute) -> ColumnElement[bool]:
    """Test an attribute for presence (``pr``)."""
    present = attribute.column.is_not(None)
    # RFC 7644 §3.4.2.2: pr wants a non-empty value, so "" is not present.
    if attribute.kind in ("string", "binary"):
        return and_(present, attribute.column != "")
    return present


def _operand(attribute: Attribute, op: CompareOperator, value: object) -> object:
    """Check an operator and a value against the attribute's type; return the value to bind."""
    name, kind = attribute.name, attribute.kind
    if kind == "boolean":
        # RFC 7644 §3.4.2.2: gt, ge, lt and le on a boolean fail with invalidFilter.
        if op in ORDERING_OPERATORS or op in STRING_OPERATORS:
            raise InvalidFilterError(f"'{name}' is a boolean; '{op}' does not apply to it")
        if not isinstance(value, bool):
            raise InvalidFilterError(f"'{name}' is a boolean; compare it with true or false")
        return value
    if kind == "binary" and op in ORDERING_OPERATORS:
        # RFC 7644 §3.4.2.2: gt, ge, lt and le on binary data fail with invalidFilter.
        raise InvalidFilterError(f"'{name}' is binary; '{op}' does not apply to it")
    if op in STRING_OPERATORS and kind not in ("string", "binary"):
        raise InvalidFilterError(f"'{op}' applies only to strings; '{name}' is a {kind}")
    if not isinstance(value, str):
        raise InvalidFilterError(_expected_text(attribute))
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL, so such a value could never match.
        raise InvalidFilterError(f"The value compared with '{name}' contains a NUL character")
    if _LONE_SURROGATE.search(value):
        # A JSON escape such as "\ud800" left unpaired: no stored text (always UTF-8)
        # holds one, and the database driver cannot even encode it.
        raise InvalidFilterError(f"The value compared with '{name}' holds a lone surrogate")
    if kind == "dateTime":
        return _parse_datetime(attribute, value)
    return value if attribute.case_exact else value.lower()


def _expected_text(attribute: Attribute) -> str:
    """Say which value a string, binary or dateTime attribute should be compared with."""
    if attribute.kind == "dateTime":
        return (
            f"'{attribute.name}' is a dateTime; compare it with a quoted ISO 8601 timestamp "
            'such as "2024-01-31T12:00:00Z"'
        )
    if attribute.kind == "binary":
        return f"'{attribute.name}' is binary; compare it with a quoted base64 string"
    return f"'{attribute.name}' is a string; compare it with a quoted string"


def _parse_datetime(attribute: Attribute, value: str) -> datetime:
    """Parse an RFC 7643 §2.3.5 dateTime; one without an offset is taken as UTC."""
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidFilterError(_expected_text(attribute)) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _unsupported(name: str) -> InvalidFilterError:
    """Build the error for an attribute the filter cannot reach."""
    return InvalidFilterError(f"Filtering on attribute '{name}' is not supported")
