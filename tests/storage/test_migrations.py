"""Alembic migrations upgrade and downgrade cleanly on both dialects."""

from sqlalchemy import func, inspect, select, table, text

from scimgate.storage.database import Database
from scimgate.storage.models import Base


def test_upgrade_downgrade_upgrade(database: Database) -> None:
    """The schema can be removed and rebuilt, and matches the models afterwards."""
    database.downgrade("base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.upgrade()
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_upgrade_keeps_existing_rows(database: Database) -> None:
    """Upgrading a database with data keeps every row, and backfills persons and roles."""
    database.downgrade("0003")
    with database.engine.begin() as connection:
        for statement in (
            "INSERT INTO organizations (id, name, name_norm, scim_enabled, created_at)"
            " VALUES ('o1', 'Acme', 'acme', true, '2024-01-01')",
            "INSERT INTO users (id, org_id, user_name, user_name_norm, active, attributes,"
            " version, created_at, updated_at) VALUES ('u1', 'o1', 'Ada@example.com',"
            " 'ada@example.com', true, '{}', 1, '2024-01-01', '2024-01-01')",
            "INSERT INTO user_emails (user_id, position, value, value_norm)"
            " VALUES ('u1', 0, 'ada@example.com', 'ada@example.com')",
            "INSERT INTO groups (id, org_id, display_name, display_name_norm, version,"
            " created_at, updated_at) VALUES ('g1', 'o1', 'Eng', 'eng', 1, '2024-01-01',"
            " '2024-01-01')",
            "INSERT INTO group_members (group_id, user_id, created_at)"
            " VALUES ('g1', 'u1', '2024-01-01')",
        ):
            connection.execute(text(statement))
    database.upgrade()
    with database.engine.begin() as connection:
        counts = {
            name: connection.execute(select(func.count()).select_from(table(name))).scalar()
            for name in ("users", "user_emails", "groups", "group_members", "persons", "roles")
        }
        person, role = connection.execute(
            text(
                "SELECT p.email_norm, r.name FROM users u JOIN persons p ON p.id = u.person_id"
                " JOIN roles r ON r.id = u.role_id"
            )
        ).one()
    assert counts == {
        "users": 1,
        "user_emails": 1,
        "groups": 1,
        "group_members": 1,
        "persons": 1,
        "roles": 4,
    }
    assert (person, role) == ("ada@example.com", "member")
