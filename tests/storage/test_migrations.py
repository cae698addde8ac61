"""Alembic migrations upgrade and downgrade cleanly on both dialects."""

from sqlalchemy import inspect

from scimgate.storage.database import Database
from scimgate.storage.models import Base


def test_upgrade_downgrade_upgrade(database: Database) -> None:
    """The schema can be removed and rebuilt, and matches the models afterwards."""
    database.downgrade("base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.upgrade()
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
