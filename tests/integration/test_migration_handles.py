"""Migration 0007 gives rows that existed before it their handles and API ids, and goes back down."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from tocsin.db.migrate import alembic_config, upgrade

STAMP = "2026-01-01 00:00:00.000000"


def test_existing_rows_get_unique_handles_and_api_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006")
    engine = create_engine(url)
    with engine.begin() as connection:
        for org in ("org_a", "org_b"):
            connection.execute(
                text(
                    "INSERT INTO orgs (id, slug, name, rate_limits, created_at) VALUES (:id, :id, 'x', '{}', :t)"
                ),
                {"id": org, "t": STAMP},
            )
        users = [
            ("usr_1", "org_a", 1, "Alice@Example.com"),
            ("usr_2", "org_a", 1, "alice+pager@other.example"),
            ("usr_3", "org_a", 0, "alice@example.com"),
            ("usr_4", "org_b", 1, "alice@example.com"),
            ("usr_5", "org_a", 1, "!!!@example.com"),
        ]
        for user_id, org, livemode, email in users:
            connection.execute(
                text(
                    "INSERT INTO users (id, org_id, livemode, created_at, name, email, role, time_zone,"
                    " updated_at, ical_token) VALUES (:id, :org, :live, :t, 'n', :email, 'user', 'UTC', :t, :id)"
                ),
                {"id": user_id, "org": org, "live": livemode, "email": email, "t": STAMP},
            )
        connection.execute(
            text(
                "INSERT INTO teams (id, org_id, livemode, created_at, name, updated_at)"
                " VALUES ('tm_1', 'org_a', 1, :t, 'Payments SRE', :t)"
            ),
            {"t": STAMP},
        )
    upgrade(url)
    with engine.connect() as connection:
        usernames = dict(connection.execute(text("SELECT id, username FROM users")).all())
        slugs = [row[0] for row in connection.execute(text("SELECT slug FROM teams"))]
        api_ids = [row[0] for row in connection.execute(text("SELECT api_id FROM orgs"))]
    assert usernames == {
        "usr_1": "alice",
        "usr_2": "alice-2",
        "usr_3": "alice",
        "usr_4": "alice",
        "usr_5": "user",
    }
    assert slugs == ["payments-sre"]
    assert len(set(api_ids)) == 2 and all(len(value) == 12 for value in api_ids)
    command.downgrade(alembic_config(url), "0006")
    with engine.connect() as connection:
        columns = [row[1] for row in connection.execute(text("PRAGMA table_info(users)"))]
    assert "username" not in columns
    engine.dispose()
