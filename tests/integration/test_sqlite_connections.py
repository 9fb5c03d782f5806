"""Every SQLite connection a ``Database`` opens (writes, reads, the ingest batch's no-wait writes)
is set up the same way: WAL, the configured ``synchronous``, foreign keys enforced, and temporary
storage (statement journals, sorts) in memory rather than in files SQLite creates and unlinks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tocsin.db.migrate import upgrade
from tocsin.db.session import Database

_SYNCHRONOUS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}
_TEMP_STORE_MEMORY = 2


def _pragmas(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        return {
            name: raw.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "temp_store")
        }


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_every_engine_gets_the_same_pragmas(tmp_path: Path, synchronous: str) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url)
    db = Database(url, sqlite_synchronous=synchronous)
    try:
        engines = [db.engine, db.read_engine, db._nowait_engine]
        assert all(engine is not None for engine in engines)
        for engine in engines:
            assert engine is not None
            assert _pragmas(engine) == {
                "journal_mode": "wal",
                "synchronous": _SYNCHRONOUS[synchronous],
                "foreign_keys": 1,
                "temp_store": _TEMP_STORE_MEMORY,
            }
    finally:
        db.dispose()
