"""A SQLite database left at an old revision with one org and one user in it: what a migration test
upgrades from, to show that existing rows come through (and the downgrade goes back)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tocsin.db.migrate import upgrade

WHEN = "2026-01-01 00:00:00.000000"


def database_at(tmp_path: Path, revision: str) -> tuple[str, sa.Engine]:
    """The URL and an engine of a new SQLite file migrated to ``revision``, holding the org
    ``org_1`` (slug ``org``) and its user ``usr_1`` (Dana, ``dana@example.com``), written with only
    the columns every revision from 0007 on has."""
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url, revision)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO orgs (id, name, slug, api_id, rate_limits, created_at) "
                "VALUES ('org_1', 'Org', 'org', 'abc', '{}', :at)"
            ),
            {"at": WHEN},
        )
        connection.execute(
            sa.text(
                "INSERT INTO users (id, org_id, livemode, name, email, role, time_zone, username, "
                "updated_at, created_at, ical_token) VALUES ('usr_1', 'org_1', 1, 'Dana', "
                "'dana@example.com', 'user', 'UTC', 'dana', :at, :at, 'tok')"
            ),
            {"at": WHEN},
        )
    return url, engine
