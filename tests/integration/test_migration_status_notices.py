"""Migration 0010 turns status notices on for users who existed before it, and goes back down."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.factories.migrations import database_at
from tocsin.db.migrate import alembic_config, upgrade


def test_existing_users_get_notices_on_and_the_column_goes_back_down(tmp_path: Path) -> None:
    url, engine = database_at(tmp_path, "0009")
    try:
        upgrade(url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT status_notices FROM users")).scalar_one() in (1, True)
        command.downgrade(alembic_config(url), "0009")
        columns = {column["name"] for column in sa.inspect(engine).get_columns("users")}
        assert "status_notices" not in columns and "username" in columns
    finally:
        engine.dispose()
