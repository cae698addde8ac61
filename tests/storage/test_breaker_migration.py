"""Migration 0007 (the mass-deprovisioning breaker) upgrades and downgrades on both dialects."""

from sqlalchemy import inspect, text

from scimgate.storage.database import Database

_TABLES = {"deprovisioning_breakers", "deprovisioning_events"}


def test_breaker_tables_come_and_go_keeping_other_rows(database: Database) -> None:
    """Downgrading to 0006 drops only the breaker's tables; upgrading brings them back empty."""
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, name_norm, scim_enabled,"
                " google_directory_sync, sync_groups_to_teams, assign_roles_from_groups,"
                " phone_sync, log_retention_days, created_at)"
                " VALUES ('o1', 'Acme', 'acme', true, false, false, false, false, 30,"
                " '2024-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO deprovisioning_breakers (org_id, share, held_requests)"
                " VALUES ('o1', 0.5, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO deprovisioning_events (org_id, user_id, occurred_at)"
                " VALUES ('o1', 'u1', '2024-01-01')"
            )
        )
    database.downgrade("0006")
    assert not _TABLES & set(inspect(database.engine).get_table_names())
    database.upgrade()
    assert set(inspect(database.engine).get_table_names()) >= _TABLES
    with database.engine.begin() as connection:
        assert connection.execute(text("SELECT name FROM organizations")).scalar() == "Acme"
        assert connection.execute(text("SELECT count(*) FROM deprovisioning_events")).scalar() == 0
        held = connection.execute(text("SELECT held_requests FROM deprovisioning_breakers")).all()
    assert held == []
    columns = {c["name"] for c in inspect(database.engine).get_columns("deprovisioning_breakers")}
    assert columns == {
        "org_id",
        "share",
        "min_people",
        "window_seconds",
        "tripped_at",
        "held_requests",
        "approved_until",
        "counted_since",
    }
