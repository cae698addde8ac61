"""Pages of a list result (RFC 7644 §3.4.2.4)."""

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a result set to return: 1-based ``start_index`` and ``count``."""

    start_index: int = 1
    count: int = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the size of the whole result set."""

    total: int
    items: list[T]
    start_index: int
