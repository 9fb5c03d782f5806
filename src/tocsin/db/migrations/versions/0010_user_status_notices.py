"""users.status_notices: tell a paged person when someone else acknowledges or resolves

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 22:40:00.000000

On by default, for existing users too, as PagerDuty and Grafana OnCall do: whoever was paged learns
that the incident is in hand without opening it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("status_notices", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("status_notices")
