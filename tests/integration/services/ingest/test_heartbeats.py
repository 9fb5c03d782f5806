"""The deadline check on a real database, with ``now`` and the engine's start as arguments: a
deadline that passed while no engine ran gets one fresh timeout from the engine's start, and
fires only after it; a deadline met by a beat moves to the last beat plus the timeout."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.factories.orgs import OrgFactory, OrgHandle, now
from tocsin.db.models import Heartbeat, Incident, Job
from tocsin.services.ingest import heartbeats
from tocsin.services.paging import PagingSettings

TIMEOUT = timedelta(seconds=120)


def _heartbeat(org: OrgHandle, at: datetime) -> str:
    service_id, _ = org.make_service()
    with org.database.write() as session:
        heartbeat, _token = heartbeats.create_heartbeat(
            session=session,
            tenant=org.tenant,
            service_id=service_id,
            name="watchdog",
            interval_seconds=60,
            timeout_seconds=120,
            now=at,
        )
        return heartbeat.id


def _check(org: OrgHandle, heartbeat_id: str, at: datetime, started: datetime | None) -> str:
    with org.database.write() as session:
        return heartbeats.check_deadline(
            session=session,
            tenant=org.tenant,
            payload={"heartbeat_id": heartbeat_id},
            now=at,
            engine_started_at=started,
        )


def _state(org: OrgHandle, heartbeat_id: str) -> tuple[str, int]:
    with org.database.read() as session:
        heartbeat = session.get_one(Heartbeat, heartbeat_id)
        incidents = session.scalars(
            select(Incident.id).where(Incident.dedup_key == heartbeats.dedup_key(heartbeat_id))
        ).all()
        return heartbeat.state, len(incidents)


def _pending_deadlines(org: OrgHandle, heartbeat_id: str) -> list[datetime]:
    with org.database.read() as session:
        return list(
            session.scalars(
                select(Job.run_at).where(Job.key.like(f"heartbeat:{heartbeat_id}:%"), Job.status == "pending")
            )
        )


def test_a_deadline_passed_during_downtime_gets_one_fresh_timeout_from_the_engine_start(
    orgs: OrgFactory,
) -> None:
    org = orgs.new()
    created = now()
    heartbeat_id = _heartbeat(org, created)
    # The server was down from before the deadline (created + 120 s) until created + 10 min.
    started = created + timedelta(minutes=10)
    assert _check(org, heartbeat_id, started, started).startswith("next deadline")
    assert _state(org, heartbeat_id) == ("waiting", 0)
    assert started + TIMEOUT in _pending_deadlines(org, heartbeat_id)
    # No beat within that fresh timeout: now it fires.
    assert _check(org, heartbeat_id, started + TIMEOUT, started).startswith("missed: created")
    assert _state(org, heartbeat_id) == ("missed", 1)


def test_a_beat_after_the_restart_keeps_it_quiet(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = now()
    heartbeat_id = _heartbeat(org, created)
    started = created + timedelta(minutes=10)
    _check(org, heartbeat_id, started, started)
    beat_at = started + timedelta(seconds=30)
    with org.database.write() as session:
        integration_id = session.get_one(Heartbeat, heartbeat_id).integration_id
        heartbeats.beat_integration(
            session=session, integration_id=integration_id, now=beat_at, paging=PagingSettings()
        )
    assert _check(org, heartbeat_id, started + TIMEOUT, started).startswith("next deadline")
    assert _state(org, heartbeat_id) == ("up", 0)


def test_without_an_engine_start_a_passed_deadline_fires_and_a_repeat_does_not_duplicate(
    orgs: OrgFactory,
) -> None:
    org = orgs.new()
    created = now()
    heartbeat_id = _heartbeat(org, created)
    assert _check(org, heartbeat_id, created + TIMEOUT, None).startswith("missed: created")
    assert _check(org, heartbeat_id, created + 2 * TIMEOUT, None) == "already missed"
    assert _state(org, heartbeat_id) == ("missed", 1)
