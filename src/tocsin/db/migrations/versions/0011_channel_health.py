"""channel_health, channel_hours: how each delivery channel of an org is faring

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:10:00.000000

- ``channel_health``: per (org, mode, channel) the last success, the last failure and its error,
  and since when the channel has been failing.
- ``channel_hours``: attempts that succeeded and failed per channel and clock hour, for the last
  24 h counts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.types  # noqa: F401 - custom column types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "channel_health",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("last_success_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("failing_since", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_channel_health_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_health")),
        sa.UniqueConstraint(
            "org_id", "livemode", "channel", name=op.f("uq_channel_health_org_id_livemode_channel")
        ),
    )
    op.create_table(
        "channel_hours",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("hour", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_channel_hours_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_hours")),
        sa.UniqueConstraint(
            "org_id",
            "livemode",
            "channel",
            "hour",
            name=op.f("uq_channel_hours_org_id_livemode_channel_hour"),
        ),
    )


def downgrade() -> None:
    op.drop_table("channel_hours")
    op.drop_table("channel_health")
