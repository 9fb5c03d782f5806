"""Migration 0012 gives users a (null) password hash and adds web_sessions as the models declare
them, and goes back down without losing the people."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.factories.migrations import database_at
from tocsin.db.migrate import alembic_config, upgrade
from tocsin.db.models import Base


def _differences(engine: sa.Engine) -> list[object]:
    """What autogenerate would change for the tables this migration touches (none: they agree)."""
    with engine.connect() as connection:
        diffs = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    ours = []
    for diff in diffs:
        text = repr(diff)
        if "web_sessions" in text or "password_hash" in text:
            ours.append(diff)
    return ours


def test_people_keep_no_password_and_the_sessions_table_comes_and_goes(tmp_path: Path) -> None:
    url, engine = database_at(tmp_path, "0012")
    try:
        upgrade(url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT password_hash FROM users")).scalar_one() is None
        assert "web_sessions" in sa.inspect(engine).get_table_names()
        assert _differences(engine) == []

        command.downgrade(alembic_config(url), "0012")
        inspector = sa.inspect(engine)
        assert "web_sessions" not in inspector.get_table_names()
        assert "password_hash" not in {column["name"] for column in inspector.get_columns("users")}
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT email FROM users")).scalar_one() == "dana@example.com"
    finally:
        engine.dispose()
