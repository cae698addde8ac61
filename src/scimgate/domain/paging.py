"""Ordering and pages of list results (RFC 7644 §3.4.2.3-4, RFC 9865)."""

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement

T = TypeVar("T")


@dataclass(frozen=True)
class Ordering:
    """Sort by ``key`` (``None``: creation order), ascending unless ``descending``."""

    key: ColumnElement[Any] | None = None
    descending: bool = False


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a result set to return.

    Index paging (RFC 7644 §3.4.2.4) uses the 1-based ``start_index``; cursor paging
    (RFC 9865) sets ``keyset`` and starts after the sort position ``after`` (``None``
    for the first page).
    """

    start_index: int = 1
    count: int = 100
    keyset: bool = False
    after: tuple[Any, ...] | None = None
    ordering: Ordering = field(default_factory=Ordering)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the size of the whole result set."""

    total: int
    items: list[T]
    start_index: int
    next_after: tuple[Any, ...] | None = None
    """In cursor paging, the sort position of the last item when more follow."""
