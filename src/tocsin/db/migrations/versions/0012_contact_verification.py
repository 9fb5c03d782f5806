"""contact method verification: contact_methods.verified_at, orgs.page_unverified_contacts, contact_checks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:30:00.000000

- ``contact_methods.verified_at``: when the person proved the address reaches them. Methods that
  exist before this migration were being paged, so they are marked verified as of the upgrade:
  an upgrade must not silently stop paging anyone. Methods added afterwards start unverified
  (email, SMS and voice) until a code sent to them comes back.
- ``orgs.page_unverified_contacts``: off by default; on, unverified methods are paged anyway.
- ``contact_checks``: each verification code or test page sent to a method, with its outcome
  (the code only as a salted hash).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import tocsin.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_methods") as batch:
        batch.add_column(sa.Column("verified_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True))
    methods = sa.table("contact_methods", sa.column("verified_at", tocsin.db.types.UTCDateTime()))
    op.execute(methods.update().values(verified_at=datetime.now(UTC)))
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(
            sa.Column("page_unverified_contacts", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "contact_checks",
        sa.Column("contact_method_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("finished_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=200), nullable=True),
        sa.Column("expires_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wrong_attempts", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_method_id"],
            ["contact_methods.id"],
            name=op.f("fk_contact_checks_contact_method_id_contact_methods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_contact_checks_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_checks")),
    )
    op.create_index(
        "ix_contact_checks_method_created",
        "contact_checks",
        ["contact_method_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_checks_method_created", table_name="contact_checks")
    op.drop_table("contact_checks")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("page_unverified_contacts")
    with op.batch_alter_table("contact_methods") as batch:
        batch.drop_column("verified_at")
