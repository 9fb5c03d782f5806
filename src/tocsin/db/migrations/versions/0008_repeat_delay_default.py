"""escalation_policies.repeat_delay_minutes may be NULL: the last rule's delay

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:45:00.000000

NULL is the new default (``domain.escalation.repeat_delay``: a repeat waits the last rule's delay).
Stored values are kept as they are: a 0 written before cannot be told from a 0 a client chose, and
an explicit delay must not change under its owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalation_policies", schema=None) as batch_op:
        batch_op.alter_column("repeat_delay_minutes", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE escalation_policies SET repeat_delay_minutes = 0 WHERE repeat_delay_minutes IS NULL")
    with op.batch_alter_table("escalation_policies", schema=None) as batch_op:
        batch_op.alter_column("repeat_delay_minutes", existing_type=sa.Integer(), nullable=False)
