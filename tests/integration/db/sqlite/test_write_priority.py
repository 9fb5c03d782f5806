"""Ingest goes first for SQLite's write lock (``db.sqlite.write_priority``): a database that yields (the
engine's) holds back its BEGIN while an ingest batch waits, at most ``MAX_YIELD`` a transaction,
ignores a stale flag, and the group committer raises the flag only while it waits."""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.factories.locks import sqlite_write_lock_held
from tests.factories.waiting import eventually_async
from tocsin.db.migrate import upgrade
from tocsin.db.session import Database
from tocsin.db.sqlite import write_priority
from tocsin.db.sqlite.write_priority import _STEP, MAX_YIELD, STALE_AFTER, WritePriority, flag_path
from tocsin.services.writes.group_commit import GroupCommitter


def _url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url)
    return url


def test_flag_path_only_for_sqlite_files(tmp_path: Path) -> None:
    assert flag_path(f"sqlite:///{tmp_path / 'x.db'}") == Path(f"{tmp_path / 'x.db'}-priority")
    assert flag_path("sqlite://") is None
    assert flag_path("sqlite:///:memory:") is None
    assert flag_path("postgresql+psycopg://u:p@localhost/db") is None


class _SteppedClock:
    """Stands in for ``time`` in ``db.sqlite.write_priority``: the wall clock stands still (a flag
    never goes stale by itself) and a sleep moves the monotonic clock on by what it asked, then
    runs ``on_sleep``. The yield's steps are counted, not timed."""

    def __init__(self) -> None:
        self.wall = time.time()
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep: Callable[[int], None] = lambda n: None

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        self.on_sleep(self.sleeps)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _SteppedClock:
    stepped = _SteppedClock()
    monkeypatch.setattr(write_priority, "time", stepped)
    return stepped


def test_the_flag_is_shared_through_the_file(tmp_path: Path, clock: _SteppedClock) -> None:
    path = tmp_path / "db-priority"
    ingest, engine = WritePriority(path), WritePriority(path)  # two processes map one file
    try:
        assert engine.waiting_since() is None and engine.yield_to_ingest() == 0.0
        ingest.raise_flag()
        assert engine.waiting_since() is not None
        clock.on_sleep = lambda n: ingest.lower_flag() if n == 3 else None
        slept = engine.yield_to_ingest(max_wait=5.0)
        assert clock.sleeps == 3 and slept == pytest.approx(3 * _STEP)  # woke when the flag came down
        assert engine.waiting_since() is None
    finally:
        ingest.close()
        engine.close()


def test_a_yield_is_bounded_and_a_stale_flag_ignored(tmp_path: Path, clock: _SteppedClock) -> None:
    priority = WritePriority(tmp_path / "db-priority")
    try:
        priority.raise_flag()  # and never lowered
        slept = priority.yield_to_ingest()
        assert MAX_YIELD <= slept < MAX_YIELD + _STEP
        struct.pack_into("d", priority._map, 0, clock.time() - STALE_AFTER - 1)  # a killed server's
        assert priority.waiting_since() is None and priority.yield_to_ingest() == 0.0
    finally:
        priority.close()


def test_a_yielding_database_begins_after_the_flag_comes_down(tmp_path: Path, clock: _SteppedClock) -> None:
    url = _url(tmp_path)
    server, engine = Database(url), Database(url, yields_to_ingest=True)
    try:
        priority = server.priority
        assert priority is not None
        priority.raise_flag()
        clock.on_sleep = lambda n: priority.lower_flag() if n == 2 else None
        with engine.write() as session:
            session.execute(text("SELECT 1"))
        assert clock.sleeps == 2  # it waited for the flag, and no longer
        with server.write() as session:  # a database that does not yield never waits on it
            priority.raise_flag()
            session.execute(text("SELECT 1"))
        assert clock.sleeps == 2
        priority.lower_flag()
    finally:
        server.dispose()
        engine.dispose()


def _raised_at(priority: WritePriority) -> float:
    """The flag's raw value, 0.0 when down: unlike ``waiting_since`` it does not go stale, so a
    slow test cannot mistake an old raised flag for a lowered one."""
    return float(struct.unpack_from("d", priority._map, 0)[0])


def test_the_committer_raises_the_flag_only_while_it_waits(tmp_path: Path) -> None:
    url = _url(tmp_path)
    database, other = Database(url), Database(url)
    committer = GroupCommitter(database, inline=True)
    committer.start()
    priority = database.priority
    assert priority is not None

    def handler(*, session: Any, items: list[Any]) -> list[int]:
        return [1] * len(items)

    async def scenario(release: threading.Event) -> Any:
        task = asyncio.ensure_future(committer.run(handler, 1))
        raised = await eventually_async(lambda: _raised_at(priority) > 0.0 or task.done())
        assert raised and not task.done(), "the batch did not wait for the lock with the flag up"
        release.set()
        return await asyncio.wait_for(task, 10)

    try:
        with sqlite_write_lock_held(other) as release:
            assert asyncio.run(scenario(release)) == 1
    finally:
        committer.stop()
    assert _raised_at(priority) == 0.0  # lowered once the batch had the lock
    database.dispose()
    other.dispose()


def test_one_process_writers_take_turns_before_sqlite_is_asked(tmp_path: Path) -> None:
    """A second writer of the same process waits for the first to finish, even while the first has
    not yet touched SQLite (so SQLite's polling busy handler never sees them race)."""
    database = Database(_url(tmp_path))
    inside, leave, second_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with database.write():
            inside.set()
            leave.wait(10)

    def second() -> None:
        with database.write() as session:
            session.execute(text("SELECT 1"))
        second_done.set()

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    assert inside.wait(10)
    two.start()
    try:
        # A window on purpose: the second writer must not get in while the first holds its turn. It
        # cannot pass by luck (the first holds on until ``leave``); a slow box only shortens the look.
        assert not second_done.wait(0.2)  # its turn has not come
        leave.set()
        assert second_done.wait(10)
    finally:
        leave.set()
        one.join()
        two.join()
        database.dispose()
