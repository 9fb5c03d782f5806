"""Migration 0012 marks the contact methods that existed before it verified (they were being paged:
an upgrade must not silently stop paging anyone), leaves the org setting off, and goes back down."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.factories.migrations import database_at
from tocsin.db.migrate import alembic_config, upgrade


def test_existing_methods_stay_paged_and_the_migration_goes_back_down(tmp_path: Path) -> None:
    url, engine = database_at(tmp_path, "0011")
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO contact_methods (id, org_id, livemode, user_id, type, address, "
                    "updated_at, created_at) VALUES ('cm_1', 'org_1', 1, 'usr_1', 'sms', '+14155550123', "
                    "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
                )
            )
        upgrade(url)
        with engine.connect() as connection:
            assert (
                connection.execute(sa.text("SELECT verified_at FROM contact_methods")).scalar_one()
                is not None
            )
            assert connection.execute(sa.text("SELECT page_unverified_contacts FROM orgs")).scalar_one() in (
                0,
                False,
            )
            assert connection.execute(sa.text("SELECT count(*) FROM contact_checks")).scalar_one() == 0
        command.downgrade(alembic_config(url), "0011")
        inspector = sa.inspect(engine)
        assert "verified_at" not in {c["name"] for c in inspector.get_columns("contact_methods")}
        assert "page_unverified_contacts" not in {c["name"] for c in inspector.get_columns("orgs")}
        assert "contact_checks" not in inspector.get_table_names()
    finally:
        engine.dispose()
