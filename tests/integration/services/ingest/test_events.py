"""Ingest at the service level on a real database: dedup across racing replicas, and group commit."""

from __future__ import annotations

import asyncio
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
from tocsin.services.errors import DatabaseBusy, Invalid
from tocsin.services.ingest.events import Event, ingest_event
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter

ACTOR = Actor(type="api_key", id=None, name="test")
PAGING = PagingSettings()


def _event(dedup_key: str, action: str = "trigger") -> Event:
    return Event(
        action=action,  # type: ignore[arg-type]
        dedup_key=dedup_key,
        summary="disk full",
        severity="critical",
        source="db-1",
        raw={"dedup_key": dedup_key},
    )


def test_racing_replicas_open_one_incident(orgs: OrgFactory, db_url: str) -> None:
    """Several writers, each with its own engine (as separate replicas would have), race on one key."""
    org = orgs.new()
    _, rk = org.make_service()
    replicas = [Database(db_url, sqlite_synchronous="NORMAL") for _ in range(4)]
    with replicas[0].read() as session:
        route = catalog.find_route(session=session, routing_key=rk)
    assert route is not None
    barrier = threading.Barrier(len(replicas) * 3)

    def fire(n: int) -> str:
        db = replicas[n % len(replicas)]
        barrier.wait()
        with db.write() as session:
            result = ingest_event(
                session=session,
                route=route,
                event=_event("race"),
                actor=ACTOR,
                now=datetime.now(UTC),
                paging=PAGING,
            )
        return result.outcome

    try:
        with ThreadPoolExecutor(max_workers=len(replicas) * 3) as pool:
            outcomes = list(pool.map(fire, range(len(replicas) * 3)))
    finally:
        for db in replicas:
            db.dispose()
    assert outcomes.count("created") == 1
    assert outcomes.count("appended") == len(outcomes) - 1
    with org.database.read() as session:
        incidents = session.scalars(select(Incident).where(Incident.org_id == org.org_id)).all()
        alerts = session.scalar(select(func.count()).select_from(Alert).where(Alert.org_id == org.org_id))
    assert len(incidents) == 1
    assert incidents[0].alert_count == len(outcomes) == alerts
    # Losing the race gave the incident number back: the next incident is #2, not #13.
    with org.database.write() as session:
        nxt = ingest_event(
            session=session,
            route=route,
            event=_event("next"),
            actor=ACTOR,
            now=datetime.now(UTC),
            paging=PAGING,
        )
    assert (incidents[0].number, nxt.incident_number) == (1, 2)


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
    return lambda session: ingest_event(
        session=session, route=route, event=_event(key), actor=ACTOR, now=datetime.now(UTC), paging=PAGING
    )


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
        committer.submit_call(
            lambda session, n=n: ingest_event(
                session=session,
                route=route,
                event=_event(f"d{n}"),
                actor=ACTOR,
                now=datetime.now(UTC),
                paging=PAGING,
            )
        )
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
