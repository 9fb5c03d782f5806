"""Shared fixtures: a real database per backend (SQLite always, PostgreSQL when
TOCSIN_TEST_POSTGRES_URL is set), migrated once, and an HTTP client on the real app.

Tests isolate by tenant, not by truncation: each test makes its own org, which is also how the
product isolates customers, so cross-org leaks show up as test failures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.factories.orgs import OrgFactory
from tocsin.config import Settings
from tocsin.db.migrate import upgrade
from tocsin.db.session import Database
from tocsin.server.app import create_app

POSTGRES_URL = os.environ.get("TOCSIN_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def _fresh_postgres(url: str) -> str:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgres":
        assert POSTGRES_URL
        url = _fresh_postgres(POSTGRES_URL)
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'tocsin.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url, sqlite_synchronous="NORMAL")
    yield db
    db.dispose()


def settings_for(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "sqlite_synchronous": "NORMAL",
        "key_usage_flush_seconds": 3600,
        "auth_cache_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def app_client(db_url: str, database: Database) -> Iterator[TestClient]:
    app = create_app(settings_for(db_url), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def orgs(database: Database, app_client: TestClient) -> OrgFactory:
    """Make orgs with admin keys: ``org = orgs.new()``; ``org.get('/api/incidents')``."""
    return OrgFactory(database, app_client)
