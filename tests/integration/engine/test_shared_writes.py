"""The engine's jobs share write transactions on SQLite (``JobContext.write``, ``engine.app``):
writes that wait at the same moment commit together, a job whose write raises (its lease lost)
fails alone with nothing of it kept, and a storm's ingest still goes first for as long per job
as when each job had a transaction of its own. On PostgreSQL each write keeps its own."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories.engine import job_context
from tests.factories.waiting import eventually_async
from tocsin.db.migrate import upgrade
from tocsin.db.session import Database
from tocsin.db.sqlite.write_priority import MAX_YIELD
from tocsin.engine.app import _shared_writes
from tocsin.engine.base import LeaseLost
from tocsin.services.writes.group_commit import GroupCommitter


def _rows(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.execute(text("SELECT name FROM shared_writes_probe ORDER BY name")).scalars())


def _insert(name: str, *, lose_lease: bool = False) -> Any:
    def work(session: Session) -> str:
        session.execute(text("INSERT INTO shared_writes_probe (name) VALUES (:name)"), {"name": name})
        if lose_lease:
            raise LeaseLost(name)
        return name

    return work


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    upgrade(url)
    database = Database(url)
    with database.write() as session:
        session.execute(text("CREATE TABLE shared_writes_probe (name TEXT PRIMARY KEY)"))
    return database


def test_waiting_writes_commit_together_and_a_lost_lease_fails_alone(sqlite_file: Database) -> None:
    database = sqlite_file
    writes = _shared_writes(database)
    assert writes is not None
    sizes: list[int] = []
    before = writes._before_batch
    assert before is not None
    writes._before_batch = lambda size: (sizes.append(size), before(size))
    holding, release = threading.Event(), threading.Event()

    def hold(session: Session) -> str:
        holding.set()  # the writes below queue up while this one's transaction is open
        release.wait(10)
        return _insert("first")(session)

    async def scenario() -> list[Any]:
        async with httpx.AsyncClient() as http:
            ctx = job_context(database, http, lambda: datetime.now(UTC), writes=writes)
            first = asyncio.ensure_future(ctx.write(hold))
            await asyncio.to_thread(holding.wait, 10)
            rest = [
                asyncio.ensure_future(ctx.write(_insert("a"))),
                asyncio.ensure_future(ctx.write(_insert("lost", lose_lease=True))),
                asyncio.ensure_future(ctx.write(_insert("b"))),
            ]
            queued = await eventually_async(lambda: writes._queue.qsize() == 3)
            assert queued, f"{writes._queue.qsize()} writes queued behind the open transaction, not 3"
            release.set()
            return await asyncio.gather(first, *rest, return_exceptions=True)

    try:
        results = asyncio.run(scenario())
    finally:
        writes.stop()
    assert results[:2] == ["first", "a"] and results[3] == "b"
    assert isinstance(results[2], LeaseLost)
    assert sizes == [1, 3]  # the three waiting writes were one transaction (then each alone)
    assert _rows(database) == ["a", "b", "first"]  # nothing of the failed one was kept
    database.dispose()


def test_a_storm_holds_a_shared_transaction_back_per_job(
    sqlite_file: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of three jobs yields two ``MAX_YIELD`` to ingest before its BEGIN (which yields the
    third), as three transactions each yielded one; a lone job only its BEGIN's."""
    database = sqlite_file
    priority = database.priority
    assert priority is not None
    asked: list[float] = []
    monkeypatch.setattr(priority, "yield_to_ingest", lambda max_wait=MAX_YIELD: asked.append(max_wait) or 0.0)
    writes = _shared_writes(database)
    assert writes is not None and writes._before_batch is not None
    try:
        writes._before_batch(3)
        writes._before_batch(1)
    finally:
        writes.stop()
        database.dispose()
    assert asked == [pytest.approx(2 * MAX_YIELD)]


def test_the_batch_hook_sees_each_batch_before_it_commits(sqlite_file: Database) -> None:
    seen: list[tuple[int, list[str]]] = []
    database = sqlite_file
    writes = GroupCommitter(
        database, name="hook-test", before_batch=lambda n: seen.append((n, _rows(database)))
    )
    writes.start()
    try:
        writes.submit_call(lambda session: _insert("x")(session)).result(10)
    finally:
        writes.stop()
        database.dispose()
    assert seen == [(1, [])]  # called with the batch's size, before its transaction


def test_postgres_writes_keep_their_own_transactions(database: Database) -> None:
    if not database.is_postgres:
        pytest.skip("PostgreSQL runs the engine's writes side by side")
    assert _shared_writes(database) is None
