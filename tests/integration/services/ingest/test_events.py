"""Ingest at the service level on a real database: dedup across racing replicas on the one
open-or-append path (``services.ingest.bulk``), and group commit."""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories.locks import sqlite_write_lock_held
from tests.factories.orgs import OrgFactory
from tocsin.db.models import Alert, Incident
from tocsin.db.session import Database
from tocsin.domain.actor import Actor
from tocsin.services.catalog import services as catalog
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.errors import DatabaseBusy, Invalid
from tocsin.services.ingest.bulk import IngestItem, batch_handler
from tocsin.services.ingest.events import Event
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter

ACTOR = Actor(type="api_key", id=None, name="test")
PAGING = PagingSettings()
INGEST = batch_handler(PAGING)


def _event(dedup_key: str, action: str = "trigger") -> Event:
    return Event(
        action=action,  # type: ignore[arg-type]
        dedup_key=dedup_key,
        summary="disk full",
        severity="critical",
        source="db-1",
        raw={"dedup_key": dedup_key},
    )


def _item(route: IngestRoute, key: str, action: str = "trigger") -> IngestItem:
    return IngestItem(route=route, event=_event(key, action), actor=ACTOR, now=datetime.now(UTC))


def _burst_keys(writer: int, burst: int) -> list[str]:
    """What one writer sends in one burst: the previous burst's keys again (their incidents are
    open by now: appends), keys every writer opens in this burst (a race to create), and one key
    of its own (a create nobody contests), shuffled the same way each run."""
    repeats = [f"b{burst - 1}-shared-{n}" for n in range(2)] + [f"b{burst - 1}-own-{writer}"] if burst else []
    keys = repeats + [f"b{burst}-shared-{n}" for n in range(2)] + [f"b{burst}-own-{writer}"]
    random.Random(writer * 1000 + burst).shuffle(keys)
    return keys


def test_racing_replicas_open_one_incident(
    orgs: OrgFactory, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Replicas (each its own engine and connection, in its own thread) send bursts that mix new
    dedup keys, raced on by all of them, with repeats of keys opened a burst before, through the
    group commit as ``tocsin serve`` does. Each key gets exactly one open incident counting every
    send; whoever lost a race to open it got the winner's incident (id and number); numbers have
    no gaps; nothing failed, and on PostgreSQL no transaction even deadlocked (the lock order)."""
    org = orgs.new()
    _, rk = org.make_service()
    writers, bursts = 4, 6
    replicas = [Database(db_url, sqlite_synchronous="NORMAL") for _ in range(writers)]
    with replicas[0].read() as session:
        route = catalog.find_route(session=session, routing_key=rk)
    assert route is not None
    barrier = threading.Barrier(writers)

    def replica(writer: int) -> tuple[list[tuple[str, Any]], int]:
        committer = GroupCommitter(replicas[writer], max_batch=64)
        sent: list[tuple[str, Any]] = []
        for burst in range(bursts):
            keys = _burst_keys(writer, burst)
            barrier.wait(timeout=30)  # every writer starts the burst together
            results = committer.commit_now(INGEST, [_item(route, key) for key in keys])
            sent += zip(keys, results, strict=True)
        return sent, committer.batches

    caplog.set_level(logging.INFO, logger="tocsin.ingest")
    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            done = list(pool.map(replica, range(writers)))
    finally:
        for db in replicas:
            db.dispose()
    sent = [pair for pairs, _ in done for pair in pairs]
    # Each burst committed as one batch: none was split into items after a failure.
    assert [batches for _, batches in done] == [bursts] * writers
    failures = [result for _, result in sent if isinstance(result, BaseException)]
    assert failures == []
    assert not [r for r in caplog.records if "lock conflict" in r.getMessage()], "a deadlock was retried"
    with org.database.read() as session:
        incidents = session.scalars(select(Incident).where(Incident.org_id == org.org_id)).all()
        alerts = session.scalar(select(func.count()).select_from(Alert).where(Alert.org_id == org.org_id))
    by_key = {incident.dedup_key: incident for incident in incidents}
    assert len(by_key) == len(incidents), "one open incident per key"
    sends = collections.Counter(key for key, _ in sent)
    assert {key: incident.alert_count for key, incident in by_key.items()} == dict(sends)
    assert alerts == len(sent)
    for key, result in sent:
        assert (result.incident_id, result.incident_number) == (by_key[key].id, by_key[key].number)
    outcomes = collections.Counter((key, result.outcome) for key, result in sent)
    assert all(outcomes[(key, "created")] == 1 for key in by_key)
    # Lost races gave their numbers back: 1..N with no gaps.
    assert sorted(incident.number for incident in incidents) == list(range(1, len(incidents) + 1))


def _held_batch(committer: GroupCommitter, works: list[Any]) -> list[Future[Any]]:
    """Submit ``works`` while the writer is held, so they pile up into one batch, then release it."""
    gate = threading.Event()

    def blocker(*, session: object) -> str:
        gate.wait()
        return "held"

    first = committer.submit_call(blocker)
    futures = [committer.submit_call(work) for work in works]
    gate.set()
    assert first.result(timeout=10) == "held"
    return futures


def _trigger(route: Any, key: str) -> Any:
    return lambda session: INGEST(session=session, items=[_item(route, key)])[0]


def test_group_commit_shares_one_commit_and_isolates_a_bad_item(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    with database.read() as session:
        route = catalog.find_route(session=session, routing_key=rk)
    assert route is not None

    def poison(*, session: object) -> None:
        raise Invalid("payload.summary", "required", "bad")

    committer = GroupCommitter(database, max_batch=64)
    committer.start()
    try:
        before = committer.batches
        good = _held_batch(committer, [_trigger(route, f"a{n}") for n in range(20)])
        assert [f.result(timeout=10).outcome for f in good] == ["created"] * 20
        assert committer.batches - before <= 2  # the blocker's batch, then all 20 in one commit

        mixed = _held_batch(
            committer,
            [_trigger(route, f"b{n}") for n in range(10)]
            + [poison]
            + [_trigger(route, f"c{n}") for n in range(10)],
        )
        bad = mixed.pop(10)
        assert [f.result(timeout=10).outcome for f in mixed] == ["created"] * 20
        with pytest.raises(Invalid):
            bad.result(timeout=10)
    finally:
        committer.stop()
    with database.read() as session:
        count = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.org_id == org.org_id)
        )
    assert count == 40


def test_stop_drains_what_was_submitted(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    with database.read() as session:
        route = catalog.find_route(session=session, routing_key=rk)
    assert route is not None
    committer = GroupCommitter(database)
    committer.start()
    futures = [
        committer.submit_call(lambda session, n=n: INGEST(session=session, items=[_item(route, f"d{n}")])[0])
        for n in range(50)
    ]
    committer.stop()
    assert all(f.done() and f.exception() is None for f in futures)


def _inline_count(database: Database) -> Any:
    """A handler that counts incidents in the batch's transaction (reads, so it commits nothing)."""

    def count(*, session: Any, items: list[Any]) -> list[int]:
        return [session.scalar(select(func.count()).select_from(Incident))] * len(items)

    return count


def test_inline_batch_failing_outside_its_handlers_answers_its_callers(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing escaping a batch may leave a request waiting forever: it gets the error, and the
    next batch commits as usual."""
    committer = GroupCommitter(database, inline=True)
    committer.start()
    real = committer._commit_split
    calls = 0

    async def broken_once(batch: list[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("connection broke during rollback")
        await real(batch)

    monkeypatch.setattr(committer, "_commit_split", broken_once)
    handler = _inline_count(database)

    async def scenario() -> tuple[list[Any], Any]:
        first = await asyncio.gather(*(committer.run(handler, n) for n in range(3)), return_exceptions=True)
        second = await asyncio.wait_for(committer.run(handler, 99), timeout=10)
        return first, second

    try:
        first, second = asyncio.run(scenario())
    finally:
        committer.stop()
    assert [str(outcome) for outcome in first] == ["connection broke during rollback"] * 3
    assert isinstance(second, int)


def test_inline_commit_after_the_helper_thread_stopped_rolls_back(database: Database) -> None:
    """A batch whose COMMIT can no longer be handed to the stopped helper thread is rolled back
    and its callers told; the write lock is released for whoever comes next."""
    committer = GroupCommitter(database, inline=True)
    committer.start()
    assert committer._io is not None
    committer._io.shutdown(wait=True)  # as at shutdown, while requests are still arriving
    handler = _inline_count(database)

    async def scenario() -> Any:
        return await asyncio.gather(committer.run(handler, 1), return_exceptions=True)

    try:
        [outcome] = asyncio.run(scenario())
    finally:
        committer.stop()
    assert isinstance(outcome, RuntimeError)
    with database.write() as session:  # the lock was released: a writer gets it at once
        assert session.scalar(select(func.count()).select_from(Incident)) is not None


def test_inline_batch_waits_for_another_writer_without_stopping_the_loop(database: Database) -> None:
    """While another connection (the engine, another process) holds SQLite's write lock, the
    batch retries from the loop instead of sleeping in SQLite's busy handler: the loop keeps
    running other work, and the batch commits once the lock is free."""
    if database.is_postgres:
        pytest.skip("SQLite's write lock")
    committer = GroupCommitter(database, inline=True)
    committer.start()
    handler = _inline_count(database)

    async def scenario(release: threading.Event) -> tuple[Any, int]:
        ticks = 0
        task = asyncio.ensure_future(committer.run(handler, 7))
        while ticks < 20:  # the loop runs on while the batch waits for the lock
            # A sleep on purpose: these ticks are the other work. The lock is held until
            # ``release``, so the batch cannot finish meanwhile, however slow the box.
            await asyncio.sleep(0.005)
            ticks += 1
            assert not task.done()
        release.set()
        return await asyncio.wait_for(task, timeout=10), ticks

    try:
        with sqlite_write_lock_held(database) as release:
            result, ticks = asyncio.run(scenario(release))
    finally:
        committer.stop()
    assert isinstance(result, int) and ticks == 20


def test_inline_batch_gives_up_when_the_lock_never_comes(database: Database) -> None:
    if database.is_postgres:
        pytest.skip("SQLite's write lock")
    committer = GroupCommitter(database, inline=True, lock_timeout=0.2)
    committer.start()

    async def scenario() -> list[Any]:
        one = committer.run(_inline_count(database), 1)
        return await asyncio.wait_for(asyncio.gather(one, return_exceptions=True), 10)

    try:
        with sqlite_write_lock_held(database):
            [outcome] = asyncio.run(scenario())
    finally:
        committer.stop()
    assert isinstance(outcome, DatabaseBusy) and outcome.code == "SERVICE_UNAVAILABLE"  # a 503: send again


class _Conflict(Exception):
    """What psycopg raises when PostgreSQL breaks a deadlock (or a serialization conflict)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_group_commit_runs_a_batch_again_after_a_lock_conflict(
    orgs: OrgFactory, database: Database, sqlstate: str
) -> None:
    """The database rolled the batch back to break a cycle: it runs again, whole, and its callers
    never hear of it."""
    org = orgs.new()
    _, rk = org.make_service()
    with database.read() as session:
        route = catalog.find_route(session=session, routing_key=rk)
    assert route is not None
    conflicts = 2

    def handler(*, session: Any, items: list[IngestItem]) -> list[Any]:
        nonlocal conflicts
        results = INGEST(session=session, items=items)
        if conflicts:
            conflicts -= 1
            raise _Conflict(sqlstate)  # after its writes, which the rollback undoes
        return results

    committer = GroupCommitter(database)
    results = committer.commit_now(handler, [_item(route, "retried"), _item(route, "retried")])
    assert [result.outcome for result in results] == ["created", "appended"]
    assert committer.batches == 1
    with database.read() as session:
        [incident] = session.scalars(select(Incident).where(Incident.org_id == org.org_id)).all()
    assert (incident.number, incident.alert_count) == (1, 2)


def test_group_commit_answers_busy_when_lock_conflicts_persist(database: Database) -> None:
    """Retries are bounded: an item that deadlocks every time is refused with a 503 to send again,
    never an internal error (a 500 lost the event)."""
    calls = 0

    def handler(*, session: Any, items: list[Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        raise _Conflict("40P01")

    committer = GroupCommitter(database)
    [outcome] = committer.commit_now(handler, [1])
    assert isinstance(outcome, DatabaseBusy)
    assert (outcome.code, outcome.retry_after, outcome.details["reason"]) == (
        "SERVICE_UNAVAILABLE",
        1,
        "lock_conflict",
    )
    assert 1 < calls < 10
