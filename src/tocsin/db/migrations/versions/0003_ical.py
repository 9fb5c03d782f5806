"""ical: secret feed tokens on schedules and users, calendar-backed schedule layers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 15:59:24.904998

Existing schedules and users get a fresh random token each (filled row by row, since every token
must differ), then the column becomes NOT NULL with its unique index. Existing layers are rotations.
Downgrading deletes the iCal layers: the rotation columns they leave empty are NOT NULL again.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import tocsin.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TOKEN_TABLES = ("schedules", "users")


def _fill_tokens(table_name: str) -> None:
    """A distinct random token for every existing row of ``table_name``."""
    table = sa.table(table_name, sa.column("id", sa.String), sa.column("ical_token", sa.String))
    connection = op.get_bind()
    ids = connection.execute(sa.select(table.c.id).where(table.c.ical_token.is_(None))).scalars().all()
    for row_id in ids:
        connection.execute(
            table.update().where(table.c.id == row_id).values(ical_token=secrets.token_urlsafe(24))
        )


def upgrade() -> None:
    with op.batch_alter_table("schedule_layers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=8), nullable=False, server_default="rotation")
        )
        batch_op.add_column(sa.Column("ical_text", sa.Text(), nullable=True))
        batch_op.alter_column("rotation_unit", existing_type=sa.String(length=8), nullable=True)
        batch_op.alter_column("rotation_length", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            "start", existing_type=tocsin.db.types.UTCDateTime(timezone=True), nullable=True
        )

    for table_name in _TOKEN_TABLES:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ical_token", sa.String(length=64), nullable=True))
        _fill_tokens(table_name)
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.alter_column("ical_token", existing_type=sa.String(length=64), nullable=False)
            batch_op.create_index(batch_op.f(f"ix_{table_name}_ical_token"), ["ical_token"], unique=True)


def downgrade() -> None:
    for table_name in reversed(_TOKEN_TABLES):
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table_name}_ical_token"))
            batch_op.drop_column("ical_token")

    op.execute("DELETE FROM schedule_layers WHERE source = 'ical'")
    with op.batch_alter_table("schedule_layers", schema=None) as batch_op:
        batch_op.alter_column(
            "start", existing_type=tocsin.db.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.alter_column("rotation_length", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("rotation_unit", existing_type=sa.String(length=8), nullable=False)
        batch_op.drop_column("ical_text")
        batch_op.drop_column("source")
