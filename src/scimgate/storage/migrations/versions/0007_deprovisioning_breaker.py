"""mass-deprovisioning breaker

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = "deprovisioning_events"
_EVENTS_INDEX = "ix_deprovisioning_events_org_time"


def upgrade() -> None:
    op.create_table(
        "deprovisioning_breakers",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("min_people", sa.Integer(), nullable=True),
        sa.Column("window_seconds", sa.Integer(), nullable=True),
        sa.Column("tripped_at", sa.DateTime(), nullable=True),
        sa.Column("held_requests", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("approved_until", sa.DateTime(), nullable=True),
        sa.Column("counted_since", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deprovisioning_breakers_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_deprovisioning_breakers")),
    )
    op.create_table(
        _EVENTS,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deprovisioning_events_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deprovisioning_events")),
    )
    op.create_index(_EVENTS_INDEX, _EVENTS, ["org_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index(_EVENTS_INDEX, table_name=_EVENTS)
    op.drop_table(_EVENTS)
    op.drop_table("deprovisioning_breakers")
