"""Migration 0012 gives users a (null) password hash and adds web_sessions as the models declare
them, and goes back down without losing the people."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url, "0012")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO orgs (id, name, slug, api_id, rate_limits, created_at) "
                    "VALUES ('org_1', 'Org', 'org', 'abc', '{}', '2026-01-01 00:00:00.000000')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO users (id, org_id, livemode, name, email, role, time_zone, username, "
                    "updated_at, created_at, ical_token) VALUES ('usr_1', 'org_1', 1, 'Dana', "
                    "'dana@example.com', 'user', 'UTC', 'dana', '2026-01-01 00:00:00.000000', "
                    "'2026-01-01 00:00:00.000000', 'tok')"
                )
            )
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
