"""Migration 0010 turns status notices on for users who existed before it, and goes back down."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tocsin.db.migrate import alembic_config, upgrade


def test_existing_users_get_notices_on_and_the_column_goes_back_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url, "0009")
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
            assert connection.execute(sa.text("SELECT status_notices FROM users")).scalar_one() in (1, True)
        command.downgrade(alembic_config(url), "0009")
        columns = {column["name"] for column in sa.inspect(engine).get_columns("users")}
        assert "status_notices" not in columns and "username" in columns
    finally:
        engine.dispose()
