"""The ingest writer (``services.ingest.writer``) as a real child process on the real database:
batches commit there in order and answer after the COMMIT, item errors come back with their
code, the server's commits wake the engine for jobs the child enqueued, batches commit in the
server while there is no writer, a writer lost with a batch in hand answers 503 (never a silent
loss or a second commit), and the child ends when the server's end of the socket closes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import sys
import textwrap
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.e2e.engine_proc import alive
from tests.factories.locks import sqlite_write_lock_held
from tests.factories.orgs import OrgFactory
from tests.factories.waiting import eventually, eventually_async
from tocsin.db.models import Alert, Incident, Job, WebhookDelivery
from tocsin.db.session import Database
from tocsin.domain.actor import Actor, Tenant
from tocsin.server.ingest_writer import IngestWriter, WriterLost
from tocsin.services import jobs
from tocsin.services.catalog import services as catalog
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.errors import DatabaseBusy, Invalid, ServiceError
from tocsin.services.ingest.bulk import IngestItem, batch_handler
from tocsin.services.ingest.events import Event, IngestResult
from tocsin.services.ingest.frames import Failure, pack_items, unpack_items
from tocsin.services.ingest.writer import commit_items
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter

ACTOR = Actor(type="api_key", id=None, name="test")
PAGING = PagingSettings()
# The app's handler for events, and so the writer's: batches of it are the ones sent to the child.
INGEST = batch_handler(PAGING)


@pytest.fixture(autouse=True)
def _child_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child reads its settings from the environment, as under ``tocsin serve``."""
    monkeypatch.setenv("TOCSIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TOCSIN_LOG_LEVEL", "WARNING")


def _route(orgs: OrgFactory, database: Database) -> IngestRoute:
    _, rk = orgs.new().make_service()
    with database.read() as session:
        route = catalog.find_route(session=session, routing_key=rk)
    assert route is not None
    return route


def _item(route: IngestRoute, key: str, action: str = "trigger") -> IngestItem:
    event = Event(
        action=action,  # type: ignore[arg-type]
        dedup_key=key,
        summary=f"disk full on {key}",
        severity="critical",
        source="db-1",
        custom_details={"free": "0%"},
        links=[{"href": "https://runbooks.example/disk", "text": "runbook"}],
        raw={"dedup_key": key, "nested": {"a": [1, 2]}},
    )
    return IngestItem(route=route, event=event, actor=ACTOR, now=datetime.now(UTC))


def _serving(
    database: Database, writer: IngestWriter, body: Callable[[GroupCommitter], Coroutine[Any, Any, None]]
) -> None:
    """Run ``body`` with a committer that hands its batches to ``writer``, then stop both."""

    async def main() -> None:
        committer = GroupCommitter(database, name="ingest-test", inline=True, remote=writer)
        committer.start()
        writer.start()
        try:
            await body(committer)
        finally:
            committer.stop()
            await writer.close()

    asyncio.run(main())


def test_batches_commit_in_the_child_in_order(orgs: OrgFactory, database: Database) -> None:
    route = _route(orgs, database)
    writer = IngestWriter(INGEST)
    woken: list[int] = []
    unsubscribe = jobs.on_commit(lambda: woken.append(1))
    child: list[int] = []

    async def body(committer: GroupCommitter) -> None:
        assert await eventually_async(lambda: writer.connected, 60), "the writer never said ready"
        assert writer.pid is not None and writer.pid != os.getpid()
        child.append(writer.pid)
        first = await committer.run(INGEST, _item(route, "disk"))
        assert isinstance(first, IngestResult) and first.outcome == "created"
        assert woken, "the new incident's job was enqueued in the child; the engine here is woken"
        # Appends and then a resolve, queued together: they commit in this order.
        answers = await asyncio.gather(
            *(committer.run(INGEST, _item(route, "disk")) for _ in range(5)),
            committer.run(INGEST, _item(route, "disk", "resolve")),
        )
        assert [a.outcome for a in answers] == ["appended"] * 5 + ["resolved"]
        assert {a.incident_id for a in answers} == {first.incident_id}
        # Answered means committed: this process reads it at once.
        with database.read() as session:
            incident = session.get_one(Incident, first.incident_id)
            assert (incident.status, incident.alert_count) == ("RESOLVED", 6)
        assert writer.batches >= 2 and committer.items == 7

    try:
        _serving(database, writer, body)
    finally:
        unsubscribe()
    assert eventually(lambda: not alive(child[0]), 10), "the writer outlived the server's socket"


def test_the_child_pages_with_the_settings_of_its_environment(
    orgs: OrgFactory, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An acknowledgement the child commits arms the ack timeout in the configured policy minutes
    and queues webhook deliveries linked to ``TOCSIN_BASE_URL`` with the configured attempts: the
    child builds its paging settings from its environment, as the server and the engine do."""
    monkeypatch.setenv("TOCSIN_BASE_URL", "https://oncall.example/")
    monkeypatch.setenv("TOCSIN_ENGINE_MINUTE_SECONDS", "2")
    monkeypatch.setenv("TOCSIN_WEBHOOK_MAX_ATTEMPTS", "3")
    org = orgs.new()
    service_id, routing_key = org.make_service()
    response = org.patch(f"/api/services/{service_id}", json={"ack_timeout_minutes": 5})
    assert response.status_code == 200, response.text
    response = org.post("/api/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 201, response.text
    with database.read() as session:
        route = catalog.find_route(session=session, routing_key=routing_key)
    assert route is not None
    writer = IngestWriter(INGEST)
    opened: list[IngestResult] = []

    async def body(committer: GroupCommitter) -> None:
        assert await eventually_async(lambda: writer.connected, 60), "the writer never said it was ready"
        opened.append(await committer.run(INGEST, _item(route, "slow")))
        acknowledged = await committer.run(INGEST, _item(route, "slow", "acknowledge"))
        assert acknowledged.outcome == "acknowledged"
        assert writer.batches >= 2, "both went to the child"

    _serving(database, writer, body)
    incident_id = opened[0].incident_id
    with database.read() as session:
        incident = session.get_one(Incident, incident_id)
        timeout = session.scalars(
            select(Job).where(Job.incident_id == incident_id, Job.kind == "ack_timeout")
        ).one()
        delivery = session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.incident_id == incident_id, WebhookDelivery.event == "incident.acknowledged"
            )
        ).one()
        sent = session.scalars(select(Job).where(Job.key == f"webhook:{delivery.id}")).one()
    assert incident.acknowledged_at is not None
    assert timeout.run_at - incident.acknowledged_at == timedelta(seconds=5 * 2)
    assert (
        json.loads(delivery.body)["incident"]["html_url"] == f"https://oncall.example/incidents/{incident_id}"
    )
    assert sent.max_attempts == 3


def test_many_concurrent_triggers_of_one_key_open_one_incident(orgs: OrgFactory, database: Database) -> None:
    route = _route(orgs, database)
    writer = IngestWriter(INGEST)

    async def body(committer: GroupCommitter) -> None:
        assert await eventually_async(lambda: writer.connected, 60), "the writer never said ready"
        waits = []
        for _ in range(10):  # ten turns of the loop: several frames in flight at once
            waits += [committer.run(INGEST, _item(route, "storm")) for _ in range(20)]
            await asyncio.sleep(0)  # one turn of the loop, not a wait
        answers = await asyncio.gather(*waits)
        assert sorted(a.outcome for a in answers).count("created") == 1

    _serving(database, writer, body)
    with database.read() as session:
        incidents = session.scalars(select(Incident).where(Incident.org_id == route.org_id)).all()
        alerts = session.scalar(select(func.count()).select_from(Alert).where(Alert.org_id == route.org_id))
    assert len(incidents) == 1 and incidents[0].alert_count == 200 == alerts


def test_a_bad_item_fails_alone_with_its_error(orgs: OrgFactory, database: Database) -> None:
    route = _route(orgs, database)
    ghost = dataclasses.replace(route, service_id="svc_does_not_exist", integration_id="int_does_not_exist")
    writer = IngestWriter(INGEST)

    async def body(committer: GroupCommitter) -> None:
        assert await eventually_async(lambda: writer.connected, 60), "the writer never said ready"
        answers = await asyncio.gather(
            committer.run(INGEST, _item(route, "good-1")),
            committer.run(INGEST, _item(ghost, "bad")),
            committer.run(INGEST, _item(route, "good-2")),
            return_exceptions=True,
        )
        assert [getattr(a, "outcome", None) for a in answers] == ["created", None, "created"]
        assert isinstance(answers[1], Exception) and not isinstance(answers[1], WriterLost)
        assert writer.connected  # one bad event does not cost the writer

    _serving(database, writer, body)


def test_service_errors_keep_their_code_message_and_details() -> None:
    error = Failure.of(Invalid("payload.summary", "required", "summary is required")).exception()
    assert isinstance(error, ServiceError)
    assert (error.code, error.message, error.details) == (
        "VALIDATION_ERROR",
        "summary is required",
        {"field": "payload.summary", "reason": "required"},
    )
    other = Failure.of(KeyError("x")).exception()
    assert not isinstance(other, ServiceError) and "KeyError" in str(other)


def test_items_cross_the_socket_unchanged(orgs: OrgFactory, database: Database) -> None:
    route = _route(orgs, database)
    other = dataclasses.replace(route, integration_id="int_other")
    items = [_item(route, "a"), _item(other, "b"), _item(route, "c", "resolve")]
    routes, rows = pack_items(items)
    assert len(routes) == 2  # each route once per frame
    assert unpack_items((routes, rows)) == items


def test_without_a_writer_batches_commit_here(orgs: OrgFactory, database: Database) -> None:
    route = _route(orgs, database)
    writer = IngestWriter(INGEST, [sys.executable, "-c", "import sys; sys.exit(3)"])  # never says ready

    async def body(committer: GroupCommitter) -> None:
        answers = await asyncio.gather(*(committer.run(INGEST, _item(route, f"k{n}")) for n in range(5)))
        assert [a.outcome for a in answers] == ["created"] * 5
        assert await eventually_async(lambda: writer.failed_starts >= 1, 60), (
            "the writer's start never failed"
        )
        assert not writer.connected
        again = await committer.run(INGEST, _item(route, "k0"))
        assert again.outcome == "appended"

    _serving(database, writer, body)


_DIES_WITH_A_BATCH = textwrap.dedent(
    """
    import socket, struct, sys, pickle, time
    fd = int(sys.argv[sys.argv.index("--fd") + 1])
    sock = socket.socket(fileno=fd)
    body = pickle.dumps(b"ready")
    sock.sendall(struct.pack("!I", len(body)) + body)
    sock.recv(1)  # a batch has come: die with it in hand
    {marker}
    sys.exit(9)
    """
)


def test_a_writer_lost_with_a_batch_in_hand_answers_retry(
    orgs: OrgFactory, database: Database, tmp_path: Path
) -> None:
    route = _route(orgs, database)
    marker = tmp_path / "started"
    script = _DIES_WITH_A_BATCH.format(marker=f"open({str(marker)!r}, 'a').write('x')")
    writer = IngestWriter(INGEST, [sys.executable, "-c", script])

    async def body(committer: GroupCommitter) -> None:
        assert await eventually_async(lambda: writer.connected, 60), "the writer never said ready"
        lost = await asyncio.gather(
            *(committer.run(INGEST, _item(route, f"lost-{n}")) for n in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(answer, WriterLost) for answer in lost)
        assert lost[0].code == "SERVICE_UNAVAILABLE"  # type: ignore[union-attr]
        # The next batch commits here while the writer is down (its restart waits a moment).
        after = await committer.run(INGEST, _item(route, "after"))
        assert after.outcome == "created"

    _serving(database, writer, body)
    with database.read() as session:
        keys = set(session.scalars(select(Incident.dedup_key).where(Incident.org_id == route.org_id)))
    assert keys == {"after"}  # the dead child committed nothing; nothing was committed twice
    assert marker.read_text() == "x"


def test_the_writer_keeps_the_flag_up_while_batches_come(tmp_path: Path) -> None:
    """``serve_batches`` in this process, on a socket pair: a lone batch leaves the ingest-first
    flag down, and so do small batches back to back; big batches back to back put it up, it comes
    down after a quiet moment, and the writer returns when the server's end closes."""
    from tocsin.db.migrate import upgrade
    from tocsin.services.access.orgs import create_org
    from tocsin.services.ingest.frames import complete_frames, encode_frame
    from tocsin.services.ingest.writer import _STORM_ITEMS, serve_batches

    url = f"sqlite:///{tmp_path / 'writer.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.write() as session:
            org = create_org(session=session, slug="flag", name="Flag", now=datetime.now(UTC))
            service = catalog.create_service(
                session=session,
                tenant=Tenant(org.id, True),
                now=datetime.now(UTC),
                name="Flagged",
                integrations=[{"name": "Events", "routing_key": "flag-rk"}],
            )
        assert service.id
        with database.read() as session:
            route = catalog.find_route(session=session, routing_key="flag-rk")
        assert route is not None
        priority = database.priority
        assert priority is not None
        server, child = socket.socketpair()
        committer = GroupCommitter(database, name="ingest-writer-test")
        writer = threading.Thread(
            target=serve_batches, args=(child, committer, priority), kwargs={"paging": PAGING}
        )
        writer.start()
        buffer = bytearray()

        def answer() -> Any:
            while not (frames := complete_frames(buffer)):
                buffer.extend(server.recv(1 << 16))
            [frame] = frames
            return frame

        assert answer() == b"ready"
        # A lone batch leaves it down, and so does a small one back to back (the writer keeps up;
        # the engine pages); big batches back to back put it up and keep it there.
        for n, size, up in [
            (0, _STORM_ITEMS, False),
            (1, 1, False),
            (2, _STORM_ITEMS, True),
            (3, _STORM_ITEMS, True),
        ]:
            items = [_item(route, f"flag-{n}-{k}") for k in range(size)]
            server.sendall(encode_frame((n, pack_items(items))))
            enqueued, [(frame, results)] = answer()
            assert (frame, [r[1] for r in results], enqueued) == (n, ["created"] * size, True)
            assert (priority.waiting_since() is not None) == up, n
        assert eventually(lambda: priority.waiting_since() is None, 5)  # down once they stop
        server.shutdown(socket.SHUT_WR)  # end-of-file, as when the server goes
        writer.join(timeout=10)
        assert not writer.is_alive()
        server.close()
    finally:
        database.dispose()


def _sqlite_only(database: Database) -> None:
    if database.is_postgres:
        pytest.skip("the bare-connection path is SQLite's")


def test_a_batch_of_triggers_commits_without_a_session(
    orgs: OrgFactory, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The storm path: triggers alone are written on the bare connection, with the same results
    and rows as the session path, and the engine is woken for the jobs they enqueued."""
    _sqlite_only(database)
    route = _route(orgs, database)
    committer = GroupCommitter(database, name="raw-test", max_batch=4)

    def no_session(*_: Any) -> list[Any]:
        raise AssertionError("a batch of triggers went through the session")

    monkeypatch.setattr(committer, "commit_now", no_session)
    woken: list[int] = []
    unsubscribe = jobs.on_commit(lambda: woken.append(1))
    try:
        keys = ["a", "b", "a", "c", "d", "a", "e"]  # two chunks of at most four
        results = commit_items(committer, [_item(route, key) for key in keys], handler=INGEST)
    finally:
        unsubscribe()
    assert [r.outcome for r in results] == [
        "created", "created", "appended", "created", "created", "appended", "created",
    ]  # fmt: skip
    assert [r.dedup_key for r in results] == keys
    assert len(woken) == 2  # once per committed chunk that opened incidents
    with database.read() as session:
        incidents = session.scalars(select(Incident).where(Incident.org_id == route.org_id)).all()
        alerts = session.scalar(select(func.count()).select_from(Alert).where(Alert.org_id == route.org_id))
    assert {i.dedup_key: i.alert_count for i in incidents} == {"a": 3, "b": 1, "c": 1, "d": 1, "e": 1}
    assert alerts == 7
    assert {i.id for i in incidents} == {r.incident_id for r in results}


def test_other_actions_keep_the_session_path_and_their_order(orgs: OrgFactory, database: Database) -> None:
    route = _route(orgs, database)
    committer = GroupCommitter(database, name="raw-test")
    results = commit_items(
        committer,
        [_item(route, "mixed"), _item(route, "mixed", "acknowledge"), _item(route, "mixed", "resolve")],
        handler=INGEST,
    )
    assert [r.outcome for r in results] == ["created", "acknowledged", "resolved"]


def test_a_bad_trigger_in_a_raw_batch_fails_alone(orgs: OrgFactory, database: Database) -> None:
    """The bare transaction rolls back whole; the batch goes again through the session path, item
    by item, so only the bad event fails and nothing is written twice."""
    _sqlite_only(database)
    route = _route(orgs, database)
    ghost = dataclasses.replace(route, service_id="svc_does_not_exist", integration_id="int_does_not_exist")
    committer = GroupCommitter(database, name="raw-test")
    results = commit_items(
        committer, [_item(route, "ok-1"), _item(ghost, "ghost"), _item(route, "ok-2")], handler=INGEST
    )
    assert [getattr(r, "outcome", None) for r in results] == ["created", None, "created"]
    assert isinstance(results[1], Exception)
    with database.read() as session:
        counts = dict(
            session.execute(
                select(Incident.dedup_key, Incident.alert_count).where(Incident.org_id == route.org_id)
            ).all()
        )
    assert counts == {"ok-1": 1, "ok-2": 1}


def test_a_raw_batch_gives_up_once_when_the_lock_never_comes(orgs: OrgFactory, database: Database) -> None:
    _sqlite_only(database)
    route = _route(orgs, database)
    committer = GroupCommitter(database, name="raw-test", lock_timeout=0.2)
    with sqlite_write_lock_held(database):
        results = commit_items(committer, [_item(route, "late-1"), _item(route, "late-2")], handler=INGEST)
        mixed = commit_items(
            committer, [_item(route, "late-3"), _item(route, "late-3", "resolve")], handler=INGEST
        )
    assert all(isinstance(r, DatabaseBusy) for r in results + mixed)  # each a 503, nothing written
    with database.read() as session:
        assert not session.scalars(select(Incident.id).where(Incident.org_id == route.org_id)).all()
