"""``tocsin serve`` runs the engine in a child process (``engine.child``): the child is woken
through its pipe at once (the safety-net poll is set to a minute here, so only the pipe can page
in time), dies with the server even on ``kill -9``, is started again when it dies alone, and
stops with the server on SIGTERM. Real processes, real SMTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.engine_proc import PagingWorld, SmtpProcess, alive, child_running, free_port, stop
from tests.factories.waiting import eventually


def _engine_child(server_pid: int) -> int:
    assert eventually(lambda: child_running(server_pid, b"worker", b"--wake-fd") is not None, 30), (
        "serve started no engine child"
    )
    pid = child_running(server_pid, b"worker", b"--wake-fd")
    assert pid is not None
    return pid


def _pages_to(smtp: SmtpProcess, address: str) -> int:
    return sum(address in mail.rcpt_tos for mail in smtp.messages)


@contextmanager
def _serving(tmp_path: Path) -> Iterator[tuple[SmtpProcess, PagingWorld, int, Path, subprocess.Popen[bytes]]]:
    """A server whose engine child has started and sleeps on a minute-long poll: from then on only
    the wake pipe can make it page in time."""
    with SmtpProcess(tmp_path) as smtp:
        world = PagingWorld(tmp_path, f"sqlite:///{tmp_path / 'tocsin.db'}", smtp.port, minute_seconds=60.0)
        world.migrate()
        world.seed()
        port = free_port()
        log = tmp_path / "serve.log"
        server = world.serve(port, log, TOCSIN_ENGINE_POLL_SECONDS="60", TOCSIN_LOG_LEVEL="INFO")
        try:
            yield smtp, world, port, log, server
        finally:
            stop(server)


def _engine_log_count(log: Path) -> int:
    """How many engines have logged that they run (the child's engine, once per start)."""
    return len(re.findall(r'"engine \S+ started"', log.read_text()))


@pytest.mark.e2e
def test_the_child_pages_at_once_and_dies_with_a_killed_server(tmp_path: Path) -> None:
    with _serving(tmp_path) as (smtp, world, port, log, server):
        child = _engine_child(server.pid)
        assert eventually(lambda: _engine_log_count(log) == 1, 30), log.read_text()
        time.sleep(0.5)  # past its first look for due jobs
        world.trigger(port, "wake-me")
        assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 1, 10), log.read_text()
        stop(server, hard=True)
        assert eventually(lambda: not alive(child), 10), "the engine child outlived its server"
    assert "the server process is gone" in log.read_text()


@pytest.mark.e2e
def test_a_dead_child_is_started_again_and_sigterm_stops_both(tmp_path: Path) -> None:
    with _serving(tmp_path) as (smtp, world, port, log, server):
        first = _engine_child(server.pid)
        assert eventually(lambda: _engine_log_count(log) == 1, 30), log.read_text()
        os.kill(first, signal.SIGKILL)
        assert eventually(lambda: child_running(server.pid, b"worker") not in (None, first), 20), (
            log.read_text()
        )
        second = _engine_child(server.pid)
        assert second != first
        assert eventually(lambda: _engine_log_count(log) == 2, 30), log.read_text()
        time.sleep(0.5)
        world.trigger(port, "after-restart")
        assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 1, 10), log.read_text()
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
        assert eventually(lambda: not alive(second), 10)
    assert "engine child exited" in log.read_text()
