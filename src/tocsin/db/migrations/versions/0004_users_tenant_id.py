"""users: an index on (org_id, livemode, id) for tenant-scoped lookups by id

Revision ID: 0004
Revises: 0003

Naming the people of 1,000 schedules looks users up by id inside the tenant. SQLite without table
statistics preferred the (org_id, livemode, email) index and walked every user of the org per query;
with this index it seeks each id.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_tenant_id", "users", ["org_id", "livemode", "id"])


def downgrade() -> None:
    op.drop_index("ix_users_tenant_id", table_name="users")
