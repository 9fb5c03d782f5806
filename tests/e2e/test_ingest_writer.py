"""``tocsin serve`` on a SQLite file commits events in its ingest writer child
(``services.ingest.writer``): every 202 is a committed row at once, the engine is woken for the
incidents the child opened (the poll is set to a minute, so only the wake can page in time), a
killed writer is replaced while events keep being accepted, and the writer dies with a server
killed by ``kill -9``. Real processes, real SMTP."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.engine_proc import alive, awaited_child, serving_on_the_wake, stop
from tests.factories.waiting import eventually


def _writer(server_pid: int, other_than: int | None = None) -> int:
    return awaited_child(server_pid, b"ingest-writer", b"--fd", other_than=other_than)


def _ready_count(log: Path) -> int:
    return log.read_text().count("ingest writer ready in child process")


def _alerts(db: Path, dedup_key: str) -> int:
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT count(*) FROM alerts JOIN incidents ON incidents.id = alerts.incident_id "
            "WHERE incidents.dedup_key = ?",
            (dedup_key,),
        ).fetchone()
    return int(row[0])


@pytest.mark.e2e
def test_serve_commits_events_in_its_writer_child(tmp_path: Path) -> None:
    db = tmp_path / "tocsin.db"
    with serving_on_the_wake(tmp_path) as (smtp, world, port, log, server):
        first = _writer(server.pid)
        assert eventually(lambda: _ready_count(log) == 1, 30), log.read_text()
        for n in range(1, 6):
            world.trigger(port, "through-the-writer")
            assert _alerts(db, "through-the-writer") == n  # answered means committed
        # The child opened the incident and its first step; the server woke its engine.
        assert eventually(lambda: any("alice@crash.test" in m.rcpt_tos for m in smtp.messages), 10), (
            log.read_text()
        )

        os.kill(first, signal.SIGKILL)
        world.trigger(port, "while-replaced")  # committed in the server meanwhile, or by the next
        assert _alerts(db, "while-replaced") == 1
        second = _writer(server.pid, other_than=first)
        # The server logs "ready" once it holds the new writer's socket: the next event goes to it.
        assert eventually(lambda: _ready_count(log) == 2, 30), log.read_text()
        world.trigger(port, "after-restart")
        assert _alerts(db, "after-restart") == 1

        stop(server, hard=True)
        assert eventually(lambda: not alive(second), 10), "the ingest writer outlived its server"
    assert "the ingest writer was lost" in log.read_text()
