"""Every SQLite connection a ``Database`` opens (writes, reads, the ingest batch's no-wait writes)
is set up the same way: WAL, the configured ``synchronous``, foreign keys enforced, and temporary
storage (statement journals, sorts) in memory rather than in files SQLite creates and unlinks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.factories.locks import sqlite_write_lock_held
from tocsin.db.migrate import upgrade
from tocsin.db.session import Database
from tocsin.db.sqlite.lock_wait import WriteLockBusy

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


def test_a_bare_write_commits_rolls_back_and_never_waits(tmp_path: Path) -> None:
    """``write_raw_nowait``: the block's writes commit when it ends, an exception rolls them
    back, and while another connection holds the lock it answers ``WriteLockBusy`` at once."""
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.write_raw_nowait() as connection:
            assert connection.in_transaction
            connection.execute("CREATE TABLE t (n INTEGER)")
            connection.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError), db.write_raw_nowait() as connection:
            connection.execute("INSERT INTO t VALUES (2)")
            _ = 1 / 0
        with db.read() as session:
            assert session.execute(text("SELECT n FROM t")).scalars().all() == [1]
        with sqlite_write_lock_held(db), pytest.raises(WriteLockBusy), db.write_raw_nowait():
            pass
        with db.write_raw_nowait() as connection:  # the pooled connection is usable again
            connection.execute("INSERT INTO t VALUES (3)")
        with db.read() as session:
            assert session.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 3]
    finally:
        db.dispose()


def test_a_bare_write_is_for_sqlite() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(RuntimeError, match="SQLite"), db.write_raw_nowait():
            pass
    finally:
        db.dispose()
