"""Helpers of the request log tests: read entries back and open them."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from scimgate.audit import keys
from scimgate.audit.entries import open_entry
from scimgate.audit.keys import KeyRing
from scimgate.config import Settings
from scimgate.storage.database import Database
from scimgate.storage.models import RequestLogEntry


@pytest.fixture
def ring(settings: Settings) -> KeyRing:
    """The key ring of the test settings."""
    return keys.load_ring(settings)


def log_entries(database: Database, after: int = 0) -> list[RequestLogEntry]:
    """Every entry with an id above ``after``, oldest first."""
    with database.transaction(write=False) as session:
        return list(
            session.scalars(
                select(RequestLogEntry)
                .where(RequestLogEntry.id > after)
                .order_by(RequestLogEntry.id)
            )
        )


def payload(ring: KeyRing, entry: RequestLogEntry) -> dict[str, Any]:
    """The decrypted payload of an entry; fails the test if it does not open."""
    opened = open_entry(ring, entry)
    assert opened.payload is not None, opened.problem
    return opened.payload


def last_id(database: Database) -> int:
    """The id of the newest entry, 0 when there is none."""
    found = log_entries(database)
    return found[-1].id if found else 0


def only_entry(database: Database, send: Callable[[], Any]) -> tuple[Any, RequestLogEntry]:
    """Call ``send`` and return its result with the one entry it wrote (asserting one)."""
    before = last_id(database)
    result = send()
    new = log_entries(database, before)
    assert len(new) == 1, [(e.method, e.path) for e in new]
    return result, new[0]
