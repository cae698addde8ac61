"""The SQL expression a list request sorts by (RFC 7644 §3.4.2.3 ``sortBy``).

Sorting reads the attribute table of ``storage.filters``, so an attribute is sortable
exactly when it is filterable and singular; case-insensitive strings come lower-cased
from that table, which makes the order case-insensitive as RFC 7644 §3.4.2.3 asks of
attributes whose caseExact is false. The caller chooses the direction, where NULLs go
and the tiebreaker.
"""

from dataclasses import dataclass
from typing import Any

from scim2_models import InvalidPathException, Path
from scim2_models.path import AttrPath
from sqlalchemy import ColumnElement

from scimgate.errors import InvalidValueError

from .filters import GROUP_SCHEMA, USER_SCHEMA, Schema


@dataclass(frozen=True)
class SortKey:
    """What to order resources by for one ``sortBy`` attribute."""

    expression: ColumnElement[Any]
    """Ascending order of this expression is ascending order of the attribute."""


def user_sort_key(attribute: str) -> SortKey:
    """Return the sort key of a User attribute, raising InvalidValueError if there is none."""
    return _sort_key(USER_SCHEMA, attribute)


def group_sort_key(attribute: str) -> SortKey:
    """Return the sort key of a Group attribute, raising InvalidValueError if there is none."""
    return _sort_key(GROUP_SCHEMA, attribute)


def _sort_key(schema: Schema, attribute: str) -> SortKey:
    path = _attr_path(attribute)
    found = schema.find(path)
    if found is None:
        if schema.relation(path) is not None:
            raise _unsortable(attribute, "is multi-valued")
        if schema.parts(path):
            raise _unsortable(attribute, "is complex")
        raise InvalidValueError(f"sortBy names unknown attribute '{attribute}'")
    named, relation = found
    if relation is None:
        return SortKey(named.column)
    # RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value (or its
    # first); that is defined for the "value" sub-attribute, and only where the table
    # says how to find it.
    if relation.primary_value is None or named is not relation.attributes.get("value"):
        raise _unsortable(attribute, "is multi-valued")
    return SortKey(relation.primary_value)


def _attr_path(attribute: str) -> AttrPath:
    """Parse ``sortBy``, which RFC 7644 §3.4.2.3 says is in attribute notation (§3.10)."""
    try:
        node = Path(attribute).ast
    except InvalidPathException:
        node = None
    if not isinstance(node, AttrPath):
        raise InvalidValueError(f"sortBy {attribute!r} is not an attribute name")
    return node


def _unsortable(attribute: str, reason: str) -> InvalidValueError:
    return InvalidValueError(f"'{attribute}' {reason} and cannot be sorted")
