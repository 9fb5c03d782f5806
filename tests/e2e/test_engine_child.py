"""``tocsin serve`` runs the engine in a child process (``server.engine_child``): the child is woken
through its pipe at once (the safety-net poll is set to a minute here, so only the pipe can page
in time), dies with the server even on ``kill -9``, is started again when it dies alone, and
stops with the server on SIGTERM. Real processes, real SMTP."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.engine_proc import SmtpProcess, alive, awaited_child, child_running, serving_on_the_wake, stop
from tests.factories.waiting import eventually


def _engine_child(server_pid: int) -> int:
    return awaited_child(server_pid, b"worker", b"--wake-fd")


def _pages_to(smtp: SmtpProcess, address: str) -> int:
    return sum(address in mail.rcpt_tos for mail in smtp.messages)


def _engine_log_count(log: Path) -> int:
    """How many engines have logged that they run (the child's engine, once per start)."""
    return len(re.findall(r'"engine \S+ started"', log.read_text()))


@pytest.mark.e2e
def test_the_child_pages_at_once_and_dies_with_a_killed_server(tmp_path: Path) -> None:
    with serving_on_the_wake(tmp_path) as (smtp, world, port, log, server):
        child = _engine_child(server.pid)
        assert eventually(lambda: _engine_log_count(log) == 1, 30), log.read_text()
        # A sleep on purpose, not a wait for something: an event sent before the engine's first
        # look for due jobs would be paged by that look, not by the pipe. Nothing shows that look
        # from outside; on a slow box the run only proves less, it cannot fail for it.
        time.sleep(0.5)
        world.trigger(port, "wake-me")
        assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 1, 10), log.read_text()
        stop(server, hard=True)
        assert eventually(lambda: not alive(child), 10), "the engine child outlived its server"
    assert "the server process is gone" in log.read_text()


@pytest.mark.e2e
def test_a_dead_child_is_started_again_and_sigterm_stops_both(tmp_path: Path) -> None:
    with serving_on_the_wake(tmp_path) as (smtp, world, port, log, server):
        first = _engine_child(server.pid)
        assert eventually(lambda: _engine_log_count(log) == 1, 30), log.read_text()
        os.kill(first, signal.SIGKILL)
        assert eventually(lambda: child_running(server.pid, b"worker") not in (None, first), 20), (
            log.read_text()
        )
        second = _engine_child(server.pid)
        assert second != first
        assert eventually(lambda: _engine_log_count(log) == 2, 30), log.read_text()
        time.sleep(0.5)  # past the new engine's first look, as above
        world.trigger(port, "after-restart")
        assert eventually(lambda: _pages_to(smtp, "alice@crash.test") == 1, 10), log.read_text()
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
        assert eventually(lambda: not alive(second), 10)
    assert "engine child ended" in log.read_text()
