"""heartbeats: dead man's switches on services

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 22:55:00.000000

- ``heartbeats``: one per integration, with the SHA-256 of the beat URL's token, the interval and timeout, and
  the last beat; its deadline is a job row (kind ``heartbeat_deadline``), not a column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.types  # noqa: F401 - custom column types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_beat_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_heartbeats_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_heartbeats_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_heartbeats_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeats")),
        sa.UniqueConstraint("integration_id", name=op.f("uq_heartbeats_integration_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_heartbeats_token_hash")),
    )
    op.create_index(op.f("ix_heartbeats_org_id"), "heartbeats", ["org_id"], unique=False)
    op.create_index(op.f("ix_heartbeats_service_id"), "heartbeats", ["service_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_heartbeats_service_id"), table_name="heartbeats")
    op.drop_index(op.f("ix_heartbeats_org_id"), table_name="heartbeats")
    op.drop_table("heartbeats")
