"""users.password_hash, web_sessions: people sign in to the web UI

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:20:00.000000

- ``users.password_hash``: argon2id; null for everyone who existed before (no password, no
  password sign-in until an admin sets one with ``tocsin users password``).
- ``web_sessions``: one row per sign-in, keyed by the SHA-256 of the cookie's token, so a session
  can be revoked at once and a copy of the database signs nobody in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.types  # noqa: F401 - custom column types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_web_sessions_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
