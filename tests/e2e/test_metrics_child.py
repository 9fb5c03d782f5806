"""One scrape sees everything: a real ``tocsin serve`` runs its engine in a child process, and the
engine's series (job lag at claim) are in the server's ``/metrics``, counted across a child that is
killed and started again (the dead child's counts stay: a counter never goes back), beside the
server's own series and its database gauges. The private directory the child writes them to is
the server's to make and to remove. A standalone ``tocsin worker --metrics-port`` serves its own.
Real processes, real SMTP.

SQLite only: the engine takes every due job in its database, and the shared PostgreSQL test
database holds other tests' jobs, which would add to the counts (the plumbing is the same on both;
the database gauges are tested on both in ``tests/integration/api/test_metrics_gauges.py``)."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.engine_proc import (
    HOST,
    PagingWorld,
    SmtpProcess,
    awaited_child,
    free_port,
    serving_on_the_wake,
    stop,
)
from tests.factories.scrape import sample
from tests.factories.waiting import eventually

ESCALATE = {"kind": "escalate"}  # one claim per trigger: level 2 waits a (60 s) policy minute


def _scrape(port: int) -> str:
    response = httpx.get(f"http://{HOST}:{port}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def _escalations(port: int) -> float:
    return sample(_scrape(port), "tocsin_engine_job_lag_seconds_count", ESCALATE) or 0.0


def _pages_to(smtp: SmtpProcess, address: str) -> int:
    return sum(address in mail.rcpt_tos for mail in smtp.messages)


def _metrics_dir(pid: int) -> Path:
    """The directory the child was told to write its series to, from its environment."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [value] = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(value.decode())


@pytest.mark.e2e
def test_the_engine_child_series_are_in_the_server_scrape_across_a_restart(tmp_path: Path) -> None:
    with serving_on_the_wake(tmp_path) as (smtp, world, port, log, server):
        first = awaited_child(server.pid, b"worker", b"--wake-fd")
        directory = _metrics_dir(first)
        assert directory.is_dir() and oct(directory.stat().st_mode & 0o777) == "0o700"
        assert b"PROMETHEUS_MULTIPROC_DIR=" not in Path(f"/proc/{server.pid}/environ").read_bytes()

        world.trigger(port, "before-restart")
        assert eventually(lambda: _escalations(port) == 1, 30), log.read_text()
        assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 1, 30), log.read_text()
        text = _scrape(port)
        assert (
            sample(
                text,
                "tocsin_http_requests_total",
                {"method": "POST", "route": "/api/events", "status": "202"},
            )
            == 1
        )
        assert sample(text, "tocsin_engine_oldest_due_job_age_seconds") is not None
        assert 'tocsin_engine_job_lag_seconds_bucket{kind="escalate",le="+Inf"} 1.0' in text

        os.kill(first, signal.SIGKILL)
        second = awaited_child(server.pid, b"worker", b"--wake-fd", other_than=first)
        assert _metrics_dir(second) == directory
        assert _escalations(port) == 1  # the dead child's count is still there, not reset

        world.trigger(port, "after-restart")
        assert eventually(lambda: _escalations(port) == 2, 30), log.read_text()  # both lives summed
        assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 2, 30), log.read_text()
    assert not directory.exists(), "the server left its engine metrics directory behind"


@pytest.mark.e2e
def test_a_standalone_worker_serves_its_own_series(tmp_path: Path) -> None:
    """``tocsin serve`` without an engine and ``tocsin worker --metrics-port`` beside it: the
    worker's scrape has the engine's series, the server's has the backlog gauges and no engine's."""
    with SmtpProcess(tmp_path) as smtp:
        world = PagingWorld(tmp_path, f"sqlite:///{tmp_path / 'tocsin.db'}", smtp.port, minute_seconds=60.0)
        world.migrate()
        world.seed()
        port, metrics_port = free_port(), free_port()
        log = tmp_path / "serve.log"
        server = world.serve(port, log, TOCSIN_ENGINE_ENABLED="false")
        worker = world.worker(log, TOCSIN_WORKER_METRICS_PORT=str(metrics_port))
        try:
            assert eventually(lambda: _listening(metrics_port), 30), log.read_text()
            world.trigger(port, "standalone")
            assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 1, 60), log.read_text()
            worker_text = _scrape(metrics_port)
            assert sample(worker_text, "tocsin_engine_job_lag_seconds_count", ESCALATE) == 1
            server_text = _scrape(port)
            assert "tocsin_engine_job_lag_seconds" not in server_text
            assert sample(server_text, "tocsin_engine_oldest_due_job_age_seconds") is not None
        finally:
            stop(worker)
            stop(server)


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True
