"""persons teams roles

Revision ID: 0004
Revises: 0003
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_norm", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=1000), nullable=True),
        sa.Column("last_name", sa.String(length=1000), nullable=True),
        sa.Column("preferred_name", sa.String(length=1000), nullable=True),
        sa.Column("work_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("email_norm", name=op.f("uq_persons_email_norm")),
    )
    op.create_table(
        "person_phone_numbers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_person_phone_numbers_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_phone_numbers")),
        sa.UniqueConstraint(
            "person_id", "number", name=op.f("uq_person_phone_numbers_person_id_number")
        ),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_norm", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_roles_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("org_id", "name_norm", name=op.f("uq_roles_org_id_name_norm")),
    )
    op.create_table(
        "group_roles",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("role_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_roles_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_group_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_roles")),
    )
    with op.batch_alter_table("group_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_roles_role_id"), ["role_id"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("name_norm", sa.String(length=1000), nullable=False),
        sa.Column("scim_group_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_teams_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scim_group_id"],
            ["groups.id"],
            name=op.f("fk_teams_scim_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("org_id", "name_norm", name=op.f("uq_teams_org_id_name_norm")),
        sa.UniqueConstraint("scim_group_id", name=op.f("uq_teams_scim_group_id")),
    )
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("via_scim", sa.Boolean(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_team_members_team_id_user_id")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "google_directory_sync", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "sync_groups_to_teams", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "assign_roles_from_groups", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("phone_sync", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("default_role_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_organizations_default_role_id_roles"),
            "roles",
            ["default_role_id"],
            ["id"],
            ondelete="SET NULL",
            use_alter=True,
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("role_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("role_from_group_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_role_id"), ["role_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_role_id_roles"), "roles", ["role_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_users_person_id_persons"),
            "persons",
            ["person_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_users_role_from_group_id_groups"),
            "groups",
            ["role_from_group_id"],
            ["id"],
            ondelete="SET NULL",
        )

    _backfill(op.get_bind())


# The roles every organization starts with, and the default one.
DEFAULT_ROLES = (("owner", 100), ("admin", 80), ("member", 50), ("observer", 10))
DEFAULT_ROLE = "member"


def _backfill(bind: sa.Connection) -> None:
    """Give existing organizations their default roles, and memberships a person."""
    now = datetime.now(UTC).replace(tzinfo=None)
    orgs = sa.table("organizations", sa.column("id"), sa.column("default_role_id"))
    roles = sa.table(
        "roles", sa.column("id"), sa.column("org_id"), sa.column("name"),
        sa.column("name_norm"), sa.column("weight"),
    )  # fmt: skip
    persons = sa.table(
        "persons", sa.column("id"), sa.column("email"), sa.column("email_norm"),
        sa.column("created_at"), sa.column("updated_at"),
    )  # fmt: skip
    users = sa.table(
        "users", sa.column("id"), sa.column("org_id"), sa.column("user_name"),
        sa.column("user_name_norm"), sa.column("person_id"), sa.column("role_id"),
    )  # fmt: skip
    defaults: dict[str, str] = {}
    for (org_id,) in bind.execute(sa.select(orgs.c.id)):
        for name, weight in DEFAULT_ROLES:
            role_id = uuid.uuid4().hex
            bind.execute(roles.insert().values(
                id=role_id, org_id=org_id, name=name, name_norm=name, weight=weight
            ))  # fmt: skip
            if name == DEFAULT_ROLE:
                defaults[org_id] = role_id
        bind.execute(
            orgs.update().where(orgs.c.id == org_id).values(default_role_id=defaults[org_id])
        )
    known: dict[str, str] = {}
    for user_id, org_id, user_name, norm in bind.execute(
        sa.select(users.c.id, users.c.org_id, users.c.user_name, users.c.user_name_norm)
    ):
        if norm not in known:
            known[norm] = uuid.uuid4().hex
            bind.execute(persons.insert().values(
                id=known[norm], email=user_name, email_norm=norm, created_at=now, updated_at=now
            ))  # fmt: skip
        bind.execute(users.update().where(users.c.id == user_id).values(
            person_id=known[norm], role_id=defaults.get(org_id)
        ))  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_users_role_from_group_id_groups"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_users_person_id_persons"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_users_role_id_roles"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_role_id"))
        batch_op.drop_index(batch_op.f("ix_users_person_id"))
        batch_op.drop_column("role_from_group_id")
        batch_op.drop_column("role_id")
        batch_op.drop_column("person_id")

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_organizations_default_role_id_roles"), type_="foreignkey"
        )
        batch_op.drop_column("default_role_id")
        batch_op.drop_column("phone_sync")
        batch_op.drop_column("assign_roles_from_groups")
        batch_op.drop_column("sync_groups_to_teams")
        batch_op.drop_column("google_directory_sync")

    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_user_id"))

    op.drop_table("team_members")
    op.drop_table("teams")
    with op.batch_alter_table("group_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_roles_role_id"))

    op.drop_table("group_roles")
    op.drop_table("roles")
    op.drop_table("person_phone_numbers")
    op.drop_table("persons")
