"""detected identity provider

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("detected_idp", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("detected_user_agent", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("idp_seen_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("idp_seen_at")
        batch.drop_column("detected_user_agent")
        batch.drop_column("detected_idp")
