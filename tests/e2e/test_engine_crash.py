"""Pages survive crashes and replicas: a server killed with ``kill -9`` at a random moment of an
escalation and started again delivers every expected page exactly once; two engine processes on
one PostgreSQL share the work and never send a page twice. Real processes, real SMTP."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.engine_proc import PagingWorld, SmtpProcess, duplicates, free_port, stop
from tests.factories.smtp import SmtpServer
from tests.factories.waiting import eventually

INCIDENTS = 3


def _recipients(smtp: SmtpServer | SmtpProcess, world: PagingWorld) -> list[str]:
    return [rcpt for mail in smtp.messages for rcpt in mail.rcpt_tos if rcpt in world.people]


def _ours(smtp: SmtpServer | SmtpProcess, world: PagingWorld) -> list[str]:
    return [
        str(mail.message["Message-ID"]) for mail in smtp.messages if set(mail.rcpt_tos) <= set(world.people)
    ]


def _settle(smtp: SmtpServer | SmtpProcess, world: PagingWorld, expected: int) -> None:
    """Every expected page arrived, then every job of the world settled: after that no process
    can send a page, so a doubled one would already be in the mailbox."""
    assert eventually(lambda: len(_ours(smtp, world)) >= expected, 60), (
        f"{len(_ours(smtp, world))} of {expected} pages arrived"
    )
    assert eventually(lambda: world.unsettled_jobs() == 0, 60, every=0.1), (
        f"{world.unsettled_jobs()} jobs still pending or running"
    )


@pytest.mark.e2e
@pytest.mark.parametrize("round_", range(4))
def test_kill_9_mid_escalation_then_restart_pages_each_exactly_once(tmp_path: Path, round_: int) -> None:
    rng = random.Random(f"{round_}-{os.getpid()}-{time.time_ns()}")
    with SmtpProcess(tmp_path) as smtp:
        world = PagingWorld(tmp_path, f"sqlite:///{tmp_path / 'tocsin.db'}", smtp.port)
        world.migrate()
        world.seed()
        port = free_port()
        log = tmp_path / "serve.log"
        server = world.serve(port, log)
        try:
            for n in range(INCIDENTS):
                world.trigger(port, f"incident-{n}")
            # A whole run lasts five policy minutes (1 s): kill anywhere in it, or just after.
            time.sleep(rng.uniform(0.0, 6 * world.minute_seconds))
            stop(server, hard=True)
            server = world.serve(port, log)
            expected = INCIDENTS * world.pages_per_incident
            _settle(smtp, world, expected)
        finally:
            stop(server)
        ids = _ours(smtp, world)
    assert duplicates(ids) == {}, log.read_text()
    assert len(ids) == expected, log.read_text()
    recipients = _recipients(smtp, world)
    assert recipients.count("alice@crash.test") == recipients.count("bob@crash.test") == expected // 2


POSTGRES_URL = os.environ.get("TOCSIN_TEST_POSTGRES_URL")


@pytest.mark.e2e
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TOCSIN_TEST_POSTGRES_URL")
def test_two_engine_processes_on_one_postgres_never_double_send(tmp_path: Path) -> None:
    assert POSTGRES_URL
    incidents = 12
    with SmtpServer() as smtp:
        world = PagingWorld(tmp_path, POSTGRES_URL, smtp.port)
        world.migrate()
        world.seed(slug=f"two-engines-{time.time_ns()}")
        port = free_port()
        log = tmp_path / "engines.log"
        server = world.serve(port, log, TOCSIN_ENGINE_ENABLED="false")
        # Two jobs at a time each, so neither can take the whole burst alone.
        workers = [world.worker(log, TOCSIN_ENGINE_CONCURRENCY="2") for _ in range(2)]
        try:
            # Most likely both listening by now. Only speed rests on it: a worker that is not
            # yet listening finds the jobs at its next poll (0.25 s), and the count is the same.
            time.sleep(1.0)
            for n in range(incidents):
                world.trigger(port, f"incident-{n}")
            _settle(smtp, world, incidents * world.pages_per_incident)
        finally:
            for process in (server, *workers):
                stop(process)
        ids = _ours(smtp, world)
    assert duplicates(ids) == {}, log.read_text()
    assert len(ids) == incidents * world.pages_per_incident, log.read_text()
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            owners = connection.execute(
                text(
                    "SELECT lease_owner, count(*) FROM jobs JOIN orgs ON orgs.id = jobs.org_id "
                    "WHERE orgs.slug = :slug AND jobs.status = 'done' GROUP BY lease_owner"
                ),
                {"slug": world.slug},
            ).all()
    finally:
        engine.dispose()
    assert len(owners) == 2, owners  # both engines did some of the work
