"""unassigned active and primary; member display

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("active", existing_type=sa.Boolean(), nullable=True)
    with op.batch_alter_table("user_emails") as batch:
        batch.alter_column("primary", existing_type=sa.Boolean(), nullable=True)
    with op.batch_alter_table("group_members") as batch:
        batch.add_column(sa.Column("display", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("group_members") as batch:
        batch.drop_column("display")
    with op.batch_alter_table("user_emails") as batch:
        batch.execute(sa.text('UPDATE user_emails SET "primary" = false WHERE "primary" IS NULL'))
        batch.alter_column("primary", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("users") as batch:
        batch.execute(sa.text("UPDATE users SET active = true WHERE active IS NULL"))
        batch.alter_column("active", existing_type=sa.Boolean(), nullable=False)
