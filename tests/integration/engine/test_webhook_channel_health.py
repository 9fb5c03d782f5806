"""Webhook deliveries feed the channel-health view: a real local receiver answers 500 then 200, and
the ``webhook`` channel goes failing, then recovers, in the transactions that log each attempt. What
never reaches a receiver (test mode, a disabled subscription) is not a channel attempt. The engine's
hourly housekeeping drops old hourly counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from tests.factories import recorder as recorder_factory
from tests.factories.engine import job_context
from tests.factories.orgs import OrgFactory
from tests.factories.recorder import Recorder
from tests.integration.engine.test_webhook_delivery import (
    DEFAULT_BACKOFF,
    Engine,
    _emit,
    _incident,
    _subscribe,
)
from tocsin.clock import FakeClock
from tocsin.db.models import ChannelHour
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.engine.runner import Engine as JobEngine
from tocsin.services.deliveries.attempts import HOURS_KEPT, record_attempt
from tocsin.services.deliveries.health import ChannelReport, channel_health

FAILING_AFTER = timedelta(minutes=5)
recorder = recorder_factory.recorder  # the fixture, requested by name below


def _webhook(database: Database, tenant: Tenant, now: datetime) -> ChannelReport:
    with database.read() as session:
        reports = channel_health(
            session=session, tenant=tenant, configured={"webhook"}, now=now, failing_after=FAILING_AFTER
        )
    [report] = [report for report in reports if report.channel == "webhook"]
    return report


def test_a_500_then_a_200_fails_then_recovers_the_webhook_channel(
    orgs: OrgFactory, recorder: Recorder
) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    _subscribe(org, recorder.url + "/hook")
    _emit(engine, org, _incident(org))
    recorder.respond(500, body="database is down")
    failed_at = engine.clock.now()

    assert engine.run_one().kind == "retry"
    after_failure = _webhook(org.database, org.tenant, engine.clock.now())
    assert after_failure.last_error == "HTTP 500: database is down"
    assert after_failure.failing_since == after_failure.last_failure_at == failed_at
    assert after_failure.last_success_at is None and after_failure.status == "ok"  # not five minutes yet
    assert (after_failure.succeeded_24h, after_failure.failed_24h) == (0, 1)
    assert _webhook(org.database, org.tenant, failed_at + FAILING_AFTER).status == "failing"

    engine.clock.advance(DEFAULT_BACKOFF)
    assert engine.run_one().kind == "done"
    assert [request.path for request in recorder.requests] == ["/hook", "/hook"]
    recovered = _webhook(org.database, org.tenant, engine.clock.now())
    assert recovered.status == "ok" and recovered.failing_since is None
    assert recovered.last_success_at == failed_at + DEFAULT_BACKOFF
    assert recovered.last_failure_at == failed_at and recovered.last_error == "HTTP 500: database is down"
    assert (recovered.succeeded_24h, recovered.failed_24h) == (1, 1)


def test_what_never_reaches_a_receiver_is_not_an_attempt(orgs: OrgFactory, recorder: Recorder) -> None:
    live = orgs.new()
    test = live.test_mode()
    engine = Engine(live.database, live.org_id)
    _subscribe(test, recorder.url + "/test-mode")
    _emit(engine, test, _incident(live, tenant=test.tenant))
    assert engine.run_one().note == "test mode: recorded to the sink, not sent"

    paused = _subscribe(live, recorder.url + "/paused")
    _emit(engine, live, _incident(live))
    assert live.patch(f"/api/webhooks/{paused['id']}", json={"enabled": False}).status_code == 200
    assert engine.run_one().note == "not sent: the webhook is disabled"

    assert len(recorder) == 0
    for tenant in (live.tenant, test.tenant):
        report = _webhook(live.database, tenant, engine.clock.now())
        assert report.status == "unused" and (report.succeeded_24h, report.failed_24h) == (0, 0)


def test_housekeeping_drops_hourly_counts_past_their_keeping(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    now = datetime(1998, 6, 20, 12, tzinfo=UTC)
    kept, dropped = now - HOURS_KEPT, now - HOURS_KEPT - timedelta(hours=1)
    with database.write() as session:
        for at in (kept, dropped):
            record_attempt(session=session, tenant=org.tenant, channel="email", ok=True, error=None, now=at)

    async def housekeep() -> None:
        async with httpx.AsyncClient() as http:
            engine = JobEngine(job_context(database, http, FakeClock(now).now), {})
            try:
                await asyncio.to_thread(engine._purge)
            finally:
                engine.close()

    asyncio.run(housekeep())
    with database.read() as session:
        hours = session.scalars(select(ChannelHour.hour).where(ChannelHour.org_id == org.org_id)).all()
    assert hours == [kept]
