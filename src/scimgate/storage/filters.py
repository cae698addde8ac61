"""SCIM filters (RFC 7644 §3.4.2.2) translated into SQLAlchemy boolean expressions.

scim2_models parses the filter; a :class:`FilterVisitor` then walks the tree and looks
each attribute up in a small table that says which SQL expression holds it, its type and
whether it is case-exact. Values only ever reach the database as bound parameters.

Every comparison is NULL-safe, so it yields true or false and never SQL's unknown: that
is what keeps ``not (...)`` the exact complement of what it negates.
"""

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

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
    ColumnElement,
    SQLColumnExpression,
    String,
    and_,
    case,
    exists,
    func,
    not_,
    or_,
)

from scimgate.errors import InvalidFilterError

from .models import Group, GroupMember, User, UserEmail

MAX_FILTER_LENGTH = 4096
"""Longest filter accepted; a bound on the work one request can ask of the parser."""

USER_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"

Kind = Literal["string", "boolean", "dateTime"]
ColumnExpr = SQLColumnExpression[Any]


@dataclass(frozen=True)
class Attribute:
    """A filterable attribute and the SQL expression that holds its value."""

    name: str
    """The SCIM name, as error messages show it."""
    column: ColumnExpr
    kind: Kind = "string"
    case_exact: bool = False
    """RFC 7643 §2.2 caseExact; when false, ``column`` must yield lower-cased text."""


@dataclass(frozen=True)
class Relation:
    """A multi-valued complex attribute stored as child rows, one per value."""

    name: str
    rows_of: ColumnElement[bool]
    """Selects the child rows of the resource being filtered."""
    attributes: Mapping[str, Attribute]
    """Sub-attributes, by lower-cased name."""


@dataclass(frozen=True)
class Schema:
    """The filterable attributes of one resource type."""

    urn: str
    attributes: Mapping[str, Attribute]
    """Single-valued attributes, by lower-cased path such as ``name.givenname``."""
    relations: Mapping[str, Relation]
    """Multi-valued attributes, by lower-cased name."""


def _by_name(attributes: Iterable[Attribute], prefix: str = "") -> dict[str, Attribute]:
    """Index attributes by lower-cased name (RFC 7643 §2.1: names are case-insensitive)."""
    return {attribute.name.lower().removeprefix(prefix): attribute for attribute in attributes}


def _lower(column: ColumnExpr) -> ColumnElement[str]:
    """Lower-case a column that has no normalized copy."""
    return func.lower(column, type_=String)


def _common_attributes(model: type[User] | type[Group]) -> list[Attribute]:
    """Return the attributes RFC 7643 §3.1 gives every resource type."""
    return [
        Attribute("id", model.id, case_exact=True),
        Attribute("externalId", model.external_id, case_exact=True),
        Attribute("meta.created", model.created_at, "dateTime"),
        Attribute("meta.lastModified", model.updated_at, "dateTime"),
    ]


_EMAILS = Relation(
    "emails",
    UserEmail.user_id == User.id,
    _by_name(
        [
            Attribute("emails.value", UserEmail.value_norm),
            Attribute("emails.type", _lower(UserEmail.type)),
            Attribute("emails.primary", UserEmail.primary, "boolean"),
            Attribute("emails.display", _lower(UserEmail.display)),
        ],
        prefix="emails.",
    ),
)

# RFC 7643 §4.2: a member's value is the id of a User or a Group; its type names which.
_MEMBERS = Relation(
    "members",
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
        ],
        prefix="members.",
    ),
)

USER_SCHEMA = Schema(
    USER_SCHEMA_URN,
    _by_name(
        [
            *_common_attributes(User),
            Attribute("userName", User.user_name_norm),
            Attribute("displayName", _lower(User.display_name)),
            Attribute("name.givenName", _lower(User.given_name)),
            Attribute("name.familyName", _lower(User.family_name)),
            Attribute("active", User.active, "boolean"),
        ]
    ),
    {"emails": _EMAILS},
)

GROUP_SCHEMA = Schema(
    GROUP_SCHEMA_URN,
    _by_name([*_common_attributes(Group), Attribute("displayName", Group.display_name_norm)]),
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
        name = self._qualified_name(node.attr_path)
        relation = self.schema.relations.get(name)
        if relation is None:
            if name in self.schema.attributes:
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
        name = self._qualified_name(path)
        if name in self.schema.attributes:
            return self.schema.attributes[name], None
        head, _, sub = name.partition(".")
        relation = self.schema.relations.get(head)
        # RFC 7643 §2.4: "value" is the significant value of a multi-valued attribute, so
        # the attribute named alone compares it.
        found = relation.attributes.get(sub or "value") if relation else None
        if relation is None or found is None:
            raise _unsupported(str(path))
        return found, relation

    def _qualified_name(self, path: AttrPath) -> str:
        """Return the lower-cased path without its schema URN, checking that URN."""
        # RFC 7644 §3.10: an attribute may be qualified by the URN of its schema.
        if path.uri is not None and path.uri.lower() != self.schema.urn.lower():
            raise _unsupported(str(path))
        return str(AttrPath(path.attr, path.sub_attr)).lower()


def _sub_attribute(relation: Relation, path: AttrPath) -> Attribute:
    """Find the sub-attribute a path names inside ``relation[...]``."""
    found = None if path.uri or path.sub_attr else relation.attributes.get(path.attr.lower())
    if found is None:
        raise _unsupported(f"{relation.name}.{path}")
    return found


def _exists(relation: Relation | None, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Match resources having a row of ``relation`` that meets ``condition``."""
    # RFC 7644 §3.4.2.2: a filter on a multi-valued attribute matches when any value does.
    if relation is None:
        return condition
    return exists().where(relation.rows_of, condition)


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
    return and_(present, attribute.column != "") if attribute.kind == "string" else present


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
    if op in STRING_OPERATORS and kind != "string":
        raise InvalidFilterError(f"'{op}' applies only to strings; '{name}' is a {kind}")
    if not isinstance(value, str):
        raise InvalidFilterError(_expected_text(attribute))
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL, so such a value could never match.
        raise InvalidFilterError(f"The value compared with '{name}' contains a NUL character")
    if kind == "dateTime":
        return _parse_datetime(attribute, value)
    return value if attribute.case_exact else value.lower()


def _expected_text(attribute: Attribute) -> str:
    """Say which value a string or dateTime attribute should be compared with."""
    if attribute.kind == "dateTime":
        return (
            f"'{attribute.name}' is a dateTime; compare it with a quoted ISO 8601 timestamp "
            'such as "2024-01-31T12:00:00Z"'
        )
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
