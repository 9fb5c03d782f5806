"""A heartbeat across a real ``tocsin serve`` stopped and started again: a deadline that passed
while the server was down raises no alarm after the restart (the heartbeat gets one fresh
timeout from the engine's start); a beat within it keeps it quiet; a miss then pages, and the
next beat resolves the incident."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.engine_proc import HOST, PagingWorld, SmtpProcess, free_port, stop
from tests.factories.waiting import eventually
from tocsin.db.models import Heartbeat, Incident, Integration, Job
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.ingest import heartbeats

TIMEOUT_SECONDS = 5
POSTGRES_URL = os.environ.get("TOCSIN_TEST_POSTGRES_URL")
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason="no PG"))]


def _create(database: Database, routing_key: str) -> tuple[str, str]:
    """A heartbeat on the world's service: (heartbeat id, beat token)."""
    with database.write() as session:
        integration = session.scalars(select(Integration).where(Integration.routing_key == routing_key)).one()
        heartbeat, token = heartbeats.create_heartbeat(
            session=session,
            tenant=Tenant(integration.org_id, integration.livemode),
            service_id=integration.service_id,
            name="prometheus-watchdog",
            interval_seconds=1,
            timeout_seconds=TIMEOUT_SECONDS,
            now=datetime.now(UTC),
        )
        return heartbeat.id, token


def _incidents(database: Database, heartbeat_id: str) -> list[tuple[str, str]]:
    with database.read() as session:
        rows = session.execute(
            select(Incident.id, Incident.status)
            .where(Incident.dedup_key == heartbeats.dedup_key(heartbeat_id))
            .order_by(Incident.number)
        )
        return [(incident_id, status) for incident_id, status in rows]


def _deadline_results(database: Database, heartbeat_id: str) -> list[str]:
    with database.read() as session:
        return [
            result or ""
            for result in session.scalars(
                select(Job.result).where(Job.key.like(f"heartbeat:{heartbeat_id}:%"), Job.status == "done")
            )
        ]


def _state(database: Database, heartbeat_id: str) -> str:
    with database.read() as session:
        return session.get_one(Heartbeat, heartbeat_id).state


@pytest.mark.e2e
@pytest.mark.parametrize("backend", DATABASES)
def test_downtime_raises_no_alarm_and_a_miss_after_it_does(tmp_path: Path, backend: str) -> None:
    with SmtpProcess(tmp_path) as smtp:
        db_url = (
            POSTGRES_URL
            if backend == "postgresql" and POSTGRES_URL
            else f"sqlite:///{tmp_path / 'tocsin.db'}"
        )
        world = PagingWorld(tmp_path, db_url, smtp.port, minute_seconds=60.0)
        world.migrate()
        world.seed(slug=f"heartbeat-{time.time_ns()}")
        database = Database(db_url)
        try:
            heartbeat_id, token = _create(database, world.routing_key)
            port = free_port()
            log = tmp_path / "serve.log"
            beat_url = f"http://{HOST}:{port}/heartbeats/{token}"

            server = world.serve(port, log)
            assert httpx.get(beat_url, timeout=10).status_code == 200
            stop(server)
            # Down for longer than the timeout: the deadline passes while no engine runs. Timed
            # on the wall clock, which the deadlines are written in.
            down_until = datetime.now(UTC) + timedelta(seconds=TIMEOUT_SECONDS + 1)
            assert eventually(lambda: datetime.now(UTC) > down_until, 120, every=0.1)

            server = world.serve(port, log)
            try:
                # The overdue deadline ran and wrote the next one instead of firing.
                assert eventually(
                    lambda: any(
                        r.startswith("next deadline") for r in _deadline_results(database, heartbeat_id)
                    ),
                    60,
                ), log.read_text()
                assert _incidents(database, heartbeat_id) == []
                beat = httpx.post(
                    beat_url, json={"receiver": "heartbeat", "status": "firing", "alerts": []}, timeout=10
                )
                assert beat.status_code == 200, beat.text
                assert _incidents(database, heartbeat_id) == []

                # No more beats: a miss, paged to Alice by email.
                assert eventually(lambda: _state(database, heartbeat_id) == "missed", 120), log.read_text()
                [(incident_id, status)] = _incidents(database, heartbeat_id)
                assert status != "RESOLVED"
                assert eventually(
                    lambda: any("alice@crash.test" in mail.rcpt_tos for mail in smtp.messages), 60
                ), log.read_text()

                # The next beat resolves it.
                assert httpx.get(beat_url, timeout=10).status_code == 200
                assert _incidents(database, heartbeat_id) == [(incident_id, "RESOLVED")]
            finally:
                stop(server)
        finally:
            database.dispose()
