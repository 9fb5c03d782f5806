"""handles and the tables behind the Grafana OnCall and Splunk On-Call APIs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 19:20:17.447304

- ``orgs.api_id`` (Splunk's ``X-VO-Api-Id``), ``users.username`` and ``teams.slug`` (the handles
  both products name people and teams by), backfilled for existing rows;
- ``escalation_rules.kind`` (notify | wait | repeat | resolve) and ``important``: Grafana OnCall's
  escalation steps;
- ``swap_requests`` and ``schedule_events`` (the schedule's timeline);
- ``absences`` and ``schedule_overrides.absence_id``: Splunk On-Call's overrides and assignments.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

import tocsin.db.types  # noqa: F401 - custom column types
from tocsin.db.models.org import new_api_id
from tocsin.domain.handles import handle_from, unique_handle

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("start", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_absences_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_absences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absences_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_absences_user_id"), ["user_id"], unique=False)

    op.create_table(
        "schedule_events",
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_schedule_events_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_events_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_events")),
    )
    with op.batch_alter_table("schedule_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_events_schedule_id"), ["schedule_id"], unique=False)

    op.create_table(
        "swap_requests",
        sa.Column("schedule_id", sa.String(length=40), nullable=False),
        sa.Column("beneficiary_id", sa.String(length=40), nullable=False),
        sa.Column("benefactor_id", sa.String(length=40), nullable=True),
        sa.Column("start", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("override_id", sa.String(length=40), nullable=True),
        sa.Column("taken_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["benefactor_id"],
            ["users.id"],
            name=op.f("fk_swap_requests_benefactor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["users.id"],
            name=op.f("fk_swap_requests_beneficiary_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_swap_requests_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["override_id"],
            ["schedule_overrides.id"],
            name=op.f("fk_swap_requests_override_id_schedule_overrides"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_swap_requests_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swap_requests")),
    )
    with op.batch_alter_table("swap_requests", schema=None) as batch_op:
        batch_op.create_index("ix_swap_requests_org_start", ["org_id", "livemode", "start"], unique=False)
        batch_op.create_index("ix_swap_requests_schedule_start", ["schedule_id", "start"], unique=False)

    with op.batch_alter_table("escalation_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="notify", nullable=False))
        batch_op.add_column(sa.Column("important", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_id", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_orgs_api_id"), ["api_id"])

    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.add_column(sa.Column("absence_id", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_schedule_overrides_absence_id"), ["absence_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_schedule_overrides_absence_id_absences"),
            "absences",
            ["absence_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_teams_tenant_slug", ["org_id", "livemode", "slug"], unique=True)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_users_tenant_username", ["org_id", "livemode", "username"], unique=True)

    _backfill()


def _backfill() -> None:
    """Give every existing org an API id, every user a username and every team a slug."""
    bind = op.get_bind()
    orgs = sa.table("orgs", sa.column("id", sa.String), sa.column("api_id", sa.String))
    for (org_id,) in bind.execute(sa.select(orgs.c.id)).all():
        bind.execute(orgs.update().where(orgs.c.id == org_id).values(api_id=new_api_id()))
    for table_name, handle_column, source_column in (
        ("users", "username", "email"),
        ("teams", "slug", "name"),
    ):
        table = sa.table(
            table_name,
            sa.column("id", sa.String),
            sa.column("org_id", sa.String),
            sa.column("livemode", sa.Boolean),
            sa.column(handle_column, sa.String),
            sa.column(source_column, sa.String),
        )
        taken: dict[tuple[str, bool], set[str]] = {}
        rows = bind.execute(
            sa.select(table.c.id, table.c.org_id, table.c.livemode, table.c[source_column]).order_by(
                table.c.id
            )
        ).all()
        for row_id, org_id, livemode, source in rows:
            tenant_taken = taken.setdefault((org_id, bool(livemode)), set())
            fallback = "user" if table_name == "users" else "team"
            handle = unique_handle(handle_from(source or "", fallback), tenant_taken)
            tenant_taken.add(handle)
            bind.execute(table.update().where(table.c.id == row_id).values({handle_column: handle}))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_tenant_username")
        batch_op.drop_column("username")

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index("ix_teams_tenant_slug")
        batch_op.drop_column("slug")

    with op.batch_alter_table("schedule_overrides", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_schedule_overrides_absence_id_absences"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_schedule_overrides_absence_id"))
        batch_op.drop_column("absence_id")

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_orgs_api_id"), type_="unique")
        batch_op.drop_column("api_id")

    with op.batch_alter_table("escalation_rules", schema=None) as batch_op:
        batch_op.drop_column("important")
        batch_op.drop_column("kind")

    with op.batch_alter_table("swap_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_swap_requests_schedule_start")
        batch_op.drop_index("ix_swap_requests_org_start")

    op.drop_table("swap_requests")
    with op.batch_alter_table("schedule_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_events_schedule_id"))

    op.drop_table("schedule_events")
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absences_user_id"))
        batch_op.drop_index(batch_op.f("ix_absences_org_id"))

    op.drop_table("absences")
