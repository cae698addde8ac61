"""Statements whose spelling differs between SQLite and PostgreSQL."""

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, model: type[Any]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for ``model`` in the session's dialect.

    Used where a concurrent request may insert the same row first: the unique index
    decides, and the loser quietly keeps the winner's row.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing()
