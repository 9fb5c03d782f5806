"""Failures people can see (issue 19): with the SMTP server down, every failed page attempt is on
the timeline with the retry the engine really scheduled, the give-up too; pages that would come
too late (acknowledged, resolved, escalated past) are dropped with the reason, never sent late;
retries stop at the next escalation step; each attempt lands on the channel's health and the
engine's metrics. A real SMTP server (aiosmtpd), stopped for the outage and started again on its
port; the fake clock moves the engine from one retry to the next."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.factories.orgs import OrgFactory
from tests.factories.recorder import Recorder
from tests.factories.smtp import SmtpServer
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.models import ChannelHealth, ChannelHour, Job
from tocsin.db.session import Database
from tocsin.engine.journal import journal_for
from tocsin.engine.metrics import EngineMetrics
from tocsin.notify.email import EmailConfig
from tocsin.notify.registry import Channels
from tocsin.notify.twilio import TwilioConfig
from tocsin.services.escalation import delivery as page_delivery


def _days_back(h: Harness) -> Harness:
    """Move the harness days before every other test's clock: no job another test left for later
    comes due while this one moves its clock, so the metrics count this test's pages only."""
    h.clock.set(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3))
    h.drain()
    h.metrics = EngineMetrics()
    return h


def _leave_no_jobs(h: Harness) -> None:
    """This test's clock is days behind the others': a job it left pending would be due at once
    for the next test's engine. Cancel them."""
    with h.database.write() as session:
        session.execute(
            update(Job)
            .where(Job.org_id == h.org.org_id, Job.status.in_(("pending", "running")))
            .values(status="cancelled")
        )


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    for made in harness(orgs, app_client, database, db_url):
        yield _days_back(made)
        _leave_no_jobs(made)


@pytest.fixture
def quick(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    """A harness whose engine backs off from one second: eight attempts fit in ten minutes."""
    for made in harness(orgs, app_client, database, db_url, engine_retry_base_seconds=1):
        yield _days_back(made)
        _leave_no_jobs(made)


class Outage:
    """An SMTP server that is down (connection refused) until ``end()`` starts it on its port."""

    def __init__(self) -> None:
        self.server = SmtpServer().start()
        self.port = self.server.port
        self.server.stop()

    def end(self) -> SmtpServer:
        self.server = SmtpServer(port=self.port).start()
        return self.server


def _outage(h: Harness) -> Iterator[Outage]:
    down = Outage()
    config = EmailConfig(host="127.0.0.1", port=down.port, from_address="Tocsin <pager@example.com>")
    h.channels_factory = lambda http: Channels(http, email=config)
    yield down
    down.server.stop()


@pytest.fixture
def outage(h: Harness) -> Iterator[Outage]:
    yield from _outage(h)


@pytest.fixture
def quick_outage(quick: Harness) -> Iterator[Outage]:
    yield from _outage(quick)


def _paging(h: Harness, levels: list[tuple[str, int]]) -> tuple[str, dict[str, str]]:
    """A service whose policy pages each named person at a level after its delay (minutes);
    returns its routing key and the people's ids by name. The org pages unverified contact
    methods: what these tests add by hand is not verified, and verification is not their point."""
    org = h.org
    assert org.patch("/api/org", json={"page_unverified_contacts": True}).status_code == 200
    people = {name: org.make_user(name, f"{name.lower()}@example.com") for name, _ in levels}
    rules = [
        {"delay_minutes": delay, "targets": [{"type": "user", "id": people[name]}]} for name, delay in levels
    ]
    policy = org.post("/api/escalation-policies", json={"name": "Storage", "rules": rules})
    assert policy.status_code == 201, policy.text
    service_id, routing_key = org.make_service("Storage")
    patched = org.patch(
        f"/api/services/{service_id}", json={"escalation_policy_id": policy.json()["data"]["id"]}
    )
    assert patched.status_code == 200, patched.text
    return routing_key, people


def _trigger(h: Harness, routing_key: str) -> str:
    assert h.org.trigger(routing_key, dedup_key="disk").status_code == 202
    [incident] = [i for i in h.org.get("/api/incidents", params={"limit": 100}).json()["data"]]
    return str(incident["id"])


def _entries(h: Harness, incident: str, *types: str) -> list[dict[str, Any]]:
    return [entry for entry in h.timeline(incident) if entry["type"] in types]


def _page_job(h: Harness, incident: str, user_id: str) -> Any:
    [job] = [job for job in h.jobs(incident, "notify") if job.payload["user_id"] == user_id]
    return job


def _pages(h: Harness, channel: str, outcome: str) -> float:
    value = h.metrics.registry.get_sample_value(
        "tocsin_pages_total", {"channel": channel, "outcome": outcome}
    )
    return value or 0.0


def _health(h: Harness) -> tuple[ChannelHealth | None, list[ChannelHour]]:
    with h.database.read() as session:
        tenancy = (ChannelHealth.org_id == h.org.org_id, ChannelHealth.livemode.is_(True))
        health = session.scalars(
            select(ChannelHealth).where(*tenancy, ChannelHealth.channel == "email")
        ).first()
        hours = session.scalars(
            select(ChannelHour).where(
                ChannelHour.org_id == h.org.org_id,
                ChannelHour.livemode.is_(True),
                ChannelHour.channel == "email",
            )
        ).all()
        session.expunge_all()
        return health, list(hours)


def test_each_failed_attempt_says_when_the_retry_comes_until_the_last_level_cap(
    h: Harness, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    routing_key, people = _paging(h, [("Dana", 0)])
    started = h.clock.now()
    incident = _trigger(h, routing_key)
    caplog.set_level(logging.INFO, logger="tocsin.engine.paging")
    h.drain()
    # The engine's backoff (base 10 s, doubling), as many retries as fit in the last level's cap.
    for attempt, (seconds, spoken) in enumerate(
        [(10, "10 s"), (20, "20 s"), (40, "40 s"), (80, "1 min 20 s"), (160, "2 min 40 s")], start=1
    ):
        job = _page_job(h, incident, people["Dana"])
        assert job.status == "pending" and job.attempts == attempt
        # The entry tells the wait the job was really given, and which attempt comes next.
        assert job.run_at - h.clock.now() == timedelta(seconds=seconds)
        [*_, entry] = _entries(h, incident, "notify_retrying")
        assert entry["message"] == (
            f"Email to Dana failed: {entry['data']['error']}; retrying in {spoken} (attempt {attempt + 1} of 8)"
        )
        assert entry["data"]["error"].startswith(f"email: cannot deliver through 127.0.0.1:{outage.port}")
        h.advance(seconds=seconds)
    job = _page_job(h, incident, people["Dana"])
    # Attempt 6 failed 310 s in; a retry 320 s later would pass ten minutes since the first failure.
    assert job.status == "failed" and job.attempts == 6
    assert h.clock.now() - started == timedelta(seconds=310)
    [given_up] = _entries(h, incident, "notify_failed")
    assert given_up["message"] == (
        f"Email to Dana failed: {given_up['data']['error']}; stopped retrying after 6 of 8 attempts: "
        "a page is retried for at most 10 min"
    )
    assert len(_entries(h, incident, "notify_retrying")) == 5
    # Channel health: six failed attempts, failing since the first; metrics count them too.
    health, hours = _health(h)
    assert health is not None and health.failing_since == started and health.last_success_at is None
    assert health.last_failure_at == h.clock.now() and "cannot deliver" in str(health.last_error)
    assert sum(hour.failed for hour in hours) == 6 and sum(hour.succeeded for hour in hours) == 0
    assert (_pages(h, "email", "retried"), _pages(h, "email", "failed"), _pages(h, "email", "sent")) == (
        5,
        1,
        0,
    )
    retrying = [r for r in caplog.records if r.getMessage() == "page failed; retrying"]
    assert len(retrying) == 5
    assert {(r.channel, r.address, r.user_id) for r in retrying} == {  # type: ignore[attr-defined]
        ("email", "dana@example.com", people["Dana"])
    }
    [failed] = [r for r in caplog.records if r.getMessage() == "page failed for good"]
    assert failed.stopped == "deadline"  # type: ignore[attr-defined]
    [step] = [r for r in caplog.records if r.getMessage() == "escalation step" and r.incident_id == incident]  # type: ignore[attr-defined]
    assert (step.escalation_level, step.escalation_pass, step.targets) == (1, 1, 1)  # type: ignore[attr-defined]


def test_a_page_is_given_up_for_good_when_its_attempts_are_spent(
    quick: Harness, quick_outage: Outage
) -> None:
    h = quick
    routing_key, people = _paging(h, [("Dana", 0)])
    incident = _trigger(h, routing_key)
    h.drain()
    for wait in (1, 2, 4, 8, 16, 32, 64):
        job = _page_job(h, incident, people["Dana"])
        assert job.status == "pending" and job.run_at - h.clock.now() == timedelta(seconds=wait)
        h.advance(seconds=wait)
    job = _page_job(h, incident, people["Dana"])
    assert job.status == "failed" and job.attempts == job.max_attempts == 8
    retries = _entries(h, incident, "notify_retrying")
    assert [entry["data"]["attempt"] for entry in retries] == [1, 2, 3, 4, 5, 6, 7]
    [given_up] = _entries(h, incident, "notify_failed")
    assert (
        given_up["message"] == f"Email to Dana failed for good after 8 attempts: {given_up['data']['error']}"
    )
    assert given_up["data"]["stopped"] == "attempts"
    assert (_pages(h, "email", "retried"), _pages(h, "email", "failed")) == (7, 1)


def test_an_ack_during_the_outage_drops_the_retry_and_nothing_is_sent_after_it(
    h: Harness, outage: Outage
) -> None:
    routing_key, people = _paging(h, [("Dana", 0)])
    erik = h.org.make_user("Erik", "erik@example.com")
    erik_key = h.org.make_key(["incidents:read", "incidents:write"], name="erik", user_id=erik)
    incident = _trigger(h, routing_key)
    h.drain()
    [retrying] = _entries(h, incident, "notify_retrying")
    assert retrying["message"].endswith("retrying in 10 s (attempt 2 of 8)")
    h.advance(seconds=5)
    assert h.org.post(f"/api/incidents/{incident}/acknowledge", key=erik_key).status_code == 200
    smtp = outage.end()  # the server is back before the retry is due
    h.advance(seconds=5)
    [skipped] = _entries(h, incident, "notify_skipped")
    assert skipped["message"] == "Page to Dana by email skipped: incident acknowledged by Erik"
    assert skipped["data"]["reason"] == "incident acknowledged by Erik"
    job = _page_job(h, incident, people["Dana"])
    assert job.status == "done" and job.result == "skipped: incident acknowledged by Erik"
    h.advance(minutes=15)
    assert smtp.messages == []  # no page, and no notice: Dana was never reached
    assert (_pages(h, "email", "retried"), _pages(h, "email", "skipped"), _pages(h, "email", "sent")) == (
        1,
        1,
        0,
    )
    health, hours = _health(h)
    # A skipped page is not an attempt: one failure on the channel, nothing else.
    assert health is not None and sum(hour.failed for hour in hours) == 1
    assert sum(hour.succeeded for hour in hours) == 0


def test_a_resolve_during_the_outage_drops_the_retry(h: Harness, outage: Outage) -> None:
    routing_key, _ = _paging(h, [("Dana", 0)])
    incident = _trigger(h, routing_key)
    h.drain()
    assert h.org.post(f"/api/incidents/{incident}/resolve").status_code == 200
    smtp = outage.end()
    h.advance(seconds=10)
    [skipped] = _entries(h, incident, "notify_skipped")
    resolved_by = _entries(h, incident, "resolved")[0]["actor_name"]
    assert skipped["message"] == f"Page to Dana by email skipped: incident resolved by {resolved_by}"
    h.advance(minutes=15)
    assert smtp.messages == []


def test_retries_stop_when_the_escalation_moves_on_and_the_next_level_is_paged(
    h: Harness, outage: Outage
) -> None:
    routing_key, people = _paging(h, [("Dana", 0), ("Erik", 1)])
    incident = _trigger(h, routing_key)
    h.drain()  # t=0: Dana fails, retry at 10 s
    h.advance(seconds=10)  # fails, retry at 30 s
    h.advance(seconds=20)  # fails; the next retry (70 s) would come after level 2 (60 s)
    dana = _page_job(h, incident, people["Dana"])
    assert dana.status == "failed" and dana.attempts == 3
    [stopped] = _entries(h, incident, "notify_failed")
    assert stopped["message"] == (
        f"Email to Dana failed: {stopped['data']['error']}; stopped retrying after 3 of 8 attempts: "
        "the escalation moves on before the next retry"
    )
    smtp = outage.end()
    h.advance(seconds=30)  # t=60: level 2 pages Erik, who gets it; Dana gets nothing late
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ["erik@example.com"]
    assert _pages(h, "email", "sent") == 1 and _pages(h, "email", "failed") == 1
    # From the trigger to Erik's server accepting, on the fake clock.
    latency = h.metrics.registry.get_sample_value("tocsin_page_latency_seconds_sum", {"channel": "email"})
    assert latency == 60.0
    health, hours = _health(h)
    assert health is not None and health.failing_since is None and health.last_success_at == h.clock.now()
    assert (sum(hour.failed for hour in hours), sum(hour.succeeded for hour in hours)) == (3, 1)


def test_a_delayed_page_of_a_level_the_escalation_left_is_skipped(h: Harness) -> None:
    routing_key, people = _paging(h, [("Dana", 0), ("Erik", 1)])
    for kind, address, delay in (("email", "dana@example.com", 0), ("sms", "+15551234567", 2)):
        method = h.org.post(
            f"/api/users/{people['Dana']}/contact-methods", json={"type": kind, "address": address}
        )
        assert method.status_code == 201, method.text
        rule = h.org.post(
            f"/api/users/{people['Dana']}/notification-rules",
            json={
                "contact_method_id": method.json()["data"]["id"],
                "urgency": "high",
                "delay_minutes": delay,
            },
        )
        assert rule.status_code == 201, rule.text
    incident = _trigger(h, routing_key)
    h.drain()
    h.advance(minutes=1)  # level 2: Erik
    h.advance(minutes=1)  # Dana's SMS of level 1 is due, but the escalation moved on
    assert [(kind, address) for kind, address, _ in h.pages(incident)] == [
        ("email", "dana@example.com"),
        ("email", "erik@example.com"),
    ]
    [skipped] = _entries(h, incident, "notify_skipped")
    assert skipped["message"] == "Page to Dana by sms skipped: escalation moved to level 2"
    assert _pages(h, "sms", "skipped") == 1 and _pages(h, "email", "sent") == 2


def _health_of(h: Harness, channel: str) -> tuple[ChannelHealth | None, int, int]:
    """The channel's health row and its (failed, succeeded) attempts over all hours."""
    with h.database.read() as session:
        health = session.scalars(
            select(ChannelHealth).where(
                ChannelHealth.org_id == h.org.org_id,
                ChannelHealth.livemode.is_(True),
                ChannelHealth.channel == channel,
            )
        ).first()
        hours = session.scalars(
            select(ChannelHour).where(
                ChannelHour.org_id == h.org.org_id,
                ChannelHour.livemode.is_(True),
                ChannelHour.channel == channel,
            )
        ).all()
        session.expunge_all()
        return health, sum(hour.failed for hour in hours), sum(hour.succeeded for hour in hours)


def test_a_notice_that_fails_is_retried_and_counted_but_never_skipped(h: Harness, outage: Outage) -> None:
    routing_key, people = _paging(h, [("Dana", 0)])
    erik = h.org.make_user("Erik", "erik@example.com")
    erik_key = h.org.make_key(["incidents:read", "incidents:write"], name="erik", user_id=erik)
    smtp = outage.end()
    incident = _trigger(h, routing_key)
    h.drain()
    smtp.wait_for(1)
    smtp.stop()  # down again before Erik acknowledges: Dana's notice fails
    assert h.org.post(f"/api/incidents/{incident}/acknowledge", key=erik_key).status_code == 200
    h.drain()
    [notice] = h.jobs(incident, "notice")
    assert notice.status == "pending" and notice.run_at - h.clock.now() == timedelta(seconds=10)
    # The incident is resolved before the retry: the acknowledged notice is still the truth, sent.
    assert h.org.post(f"/api/incidents/{incident}/resolve", key=erik_key).status_code == 200
    smtp = outage.end()
    h.advance(seconds=10)
    subjects = sorted(str(mail.message["Subject"]).lower() for mail in smtp.wait_for(2))
    assert len(subjects) == 2 and "acknowledged" in subjects[0] and "resolved" in subjects[1], subjects
    assert _pages(h, "email", "retried") == 1  # the acknowledged notice, once
    assert _pages(h, "email", "sent") == 3  # the page, then both notices
    assert _pages(h, "email", "skipped") == 0
    health, failed, succeeded = _health_of(h, "email")
    assert health is not None and health.failing_since is None and (failed, succeeded) == (1, 3)


def test_a_room_post_that_fails_is_on_the_rooms_channel_health(h: Harness) -> None:
    with Recorder() as receiver:
        h.channels_factory = lambda http: Channels(http)
        service_id, routing_key = h.org.make_service()
        room = h.org.post(
            f"/api/services/{service_id}/channels", json={"type": "slack", "url": f"{receiver.url}/slack"}
        )
        assert room.status_code == 201, room.text
        receiver.respond(503, body="busy", path="/slack")
        assert h.org.trigger(routing_key, dedup_key="room").status_code == 202
        h.drain()
        health, failed, succeeded = _health_of(h, "slack")
        assert health is not None and health.failing_since == h.clock.now() and (failed, succeeded) == (1, 0)
        assert "503" in str(health.last_error)
        h.advance(seconds=10)
        assert len(receiver.to("/slack")) == 2
        health, failed, succeeded = _health_of(h, "slack")
        assert health is not None and health.failing_since is None and (failed, succeeded) == (1, 1)
        # A room post is not a page: the page metrics do not count it.
        assert _pages(h, "slack", "retried") == _pages(h, "slack", "sent") == 0


def test_a_refused_page_is_not_retried(h: Harness, outage: Outage) -> None:
    smtp = outage.end()
    smtp.refuse("RCPT", 550, "5.1.1 No such user")
    routing_key, people = _paging(h, [("Dana", 0)])
    incident = _trigger(h, routing_key)
    h.drain()
    job = _page_job(h, incident, people["Dana"])
    assert job.status == "failed" and job.attempts == 1
    [refused] = _entries(h, incident, "notify_failed")
    assert refused["message"] == (
        f"Email to Dana failed: {refused['data']['error']}; not retried (the provider refused it for good)"
    )
    assert "550" in refused["data"]["error"] and refused["data"]["stopped"] == "permanent"
    assert _entries(h, incident, "notify_retrying") == []
    assert (_pages(h, "email", "failed"), _pages(h, "email", "retried")) == (1, 0)


def test_a_page_the_journal_lists_is_recorded_as_sent_even_after_an_ack(
    h: Harness, outage: Outage, db_url: str
) -> None:
    """The provider accepted the page, then the engine died before recording it: the retry finds
    it in the sent journal and records it as sent, not as skipped, though the incident was
    acknowledged meanwhile; and it is not sent again."""
    journal = journal_for(db_url)
    if journal is None:
        pytest.skip("the sent journal is SQLite's")
    routing_key, people = _paging(h, [("Dana", 0)])
    incident = _trigger(h, routing_key)
    h.drain()
    job = _page_job(h, incident, people["Dana"])
    journal.record(job.id)  # as if the next attempt's send had been accepted just before a crash
    journal.close()
    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    smtp = outage.end()
    h.advance(seconds=10)
    assert _entries(h, incident, "notify_skipped") == []
    [notified] = _entries(h, incident, "notified")
    assert notified["message"] == "Notified Dana by email (dana@example.com)"
    assert _page_job(h, incident, people["Dana"]).status == "done"
    assert smtp.messages == []


def test_a_manual_escalation_drops_the_retry_of_the_run_it_replaced(h: Harness, outage: Outage) -> None:
    routing_key, people = _paging(h, [("Dana", 0), ("Erik", 5)])
    incident = _trigger(h, routing_key)
    h.drain()
    assert _page_job(h, incident, people["Dana"]).status == "pending"  # retried in 10 s
    assert h.org.post(f"/api/incidents/{incident}/escalate").status_code == 200
    smtp = outage.end()
    h.drain()  # the new run pages Erik at level 2
    h.advance(seconds=10)
    [skipped] = _entries(h, incident, "notify_skipped")
    assert skipped["message"] == "Page to Dana by email skipped: escalation started over"
    assert [mail.rcpt_tos for mail in smtp.wait_for(1)] == [["erik@example.com"]]
    h.advance(minutes=15)
    assert len(smtp.messages) == 1


def test_an_sms_provider_asking_to_wait_is_waited_for_and_the_number_is_masked_in_the_log(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with Recorder() as twilio:
        config = TwilioConfig(
            account_sid="AC0123456789abcdef0123456789abcdef",
            auth_token="twilio-auth-token-secret",
            from_number="+15550001111",
            base_url=twilio.url,
            timeout=5.0,
        )
        h.channels_factory = lambda http: Channels(http, twilio=config)
        routing_key, people = _paging(h, [("Dana", 0)])
        sms = h.org.post(
            f"/api/users/{people['Dana']}/contact-methods", json={"type": "sms", "address": "+15551234567"}
        )
        assert sms.status_code == 201, sms.text
        rule = h.org.post(
            f"/api/users/{people['Dana']}/notification-rules",
            json={"contact_method_id": sms.json()["data"]["id"], "urgency": "high", "delay_minutes": 0},
        )
        assert rule.status_code == 201, rule.text
        twilio.respond(
            429, json={"code": 20429, "message": "Too Many Requests"}, headers={"Retry-After": "30"}
        )
        incident = _trigger(h, routing_key)
        caplog.set_level(logging.INFO, logger="tocsin.engine.paging")
        h.drain()
        [entry] = _entries(h, incident, "notify_retrying")
        # The provider's Retry-After, not the engine's backoff, is the wait.
        assert entry["message"] == (
            f"SMS to Dana failed: {entry['data']['error']}; retrying in 30 s (attempt 2 of 8)"
        )
        assert _page_job(h, incident, people["Dana"]).run_at - h.clock.now() == timedelta(seconds=30)
        h.advance(seconds=30)
        assert len(twilio.requests) == 2 and _page_job(h, incident, people["Dana"]).status == "done"
        [notified] = _entries(h, incident, "notified")
        assert notified["message"] == "Notified Dana by sms (+15551234567)"
        health, failed, succeeded = _health_of(h, "sms")
        assert health is not None and health.failing_since is None and (failed, succeeded) == (1, 1)
        lines = [
            r
            for r in caplog.records
            if r.name == "tocsin.engine.paging" and getattr(r, "channel", None) == "sms"
        ]
        assert [r.getMessage() for r in lines] == ["page failed; retrying", "page sent"]
        assert {r.address for r in lines} == {"+15*******67"}  # type: ignore[attr-defined]
        assert all("+15551234567" not in str(vars(r)) for r in lines)


def test_a_page_due_when_the_next_level_is_due_is_still_current(h: Harness) -> None:
    """Levels with no delay between them: the engine may run the next step before the first
    level's page (same instant, any order). The page is stale only when the escalation moved on
    at a time set before the page was due, so both levels are paged whatever the order."""
    routing_key, people = _paging(h, [("Dana", 0), ("Erik", 0)])
    incident = _trigger(h, routing_key)
    h.drain()
    assert sorted(address for _, address, _ in h.pages(incident)) == ["dana@example.com", "erik@example.com"]
    assert _entries(h, incident, "notify_skipped") == []
    dana = _page_job(h, incident, people["Dana"])
    with h.database.read() as session:

        def plan(due_at: datetime) -> object:
            return page_delivery.plan_page(
                session=session, tenant=h.org.tenant, incident_id=incident, payload=dana.payload,
                link_key="k", due_at=due_at,
            )  # fmt: skip

        assert isinstance(plan(dana.run_at), page_delivery.PagePlan)
        late = plan(dana.run_at + timedelta(seconds=1))
        assert isinstance(late, page_delivery.Stale) and late.reason == "escalation moved to level 2"


def test_at_the_last_level_the_repeat_is_the_retries_deadline(h: Harness, outage: Outage) -> None:
    dana = h.org.make_user("Dana", "dana@example.com")
    policy = h.org.post(
        "/api/escalation-policies",
        json={
            "name": "Storage",
            "rules": [{"delay_minutes": 0, "targets": [{"type": "user", "id": dana}]}],
            "repeat_count": 1,
            "repeat_delay_minutes": 1,
        },
    )
    assert policy.status_code == 201, policy.text
    service_id, routing_key = h.org.make_service("Storage")
    assert (
        h.org.patch(
            f"/api/services/{service_id}", json={"escalation_policy_id": policy.json()["data"]["id"]}
        ).status_code
        == 200
    )
    incident = _trigger(h, routing_key)
    h.drain()
    h.advance(seconds=10)
    h.advance(seconds=20)  # attempt 3 fails at 30 s; the next (70 s) would pass the repeat (60 s)
    [stopped] = _entries(h, incident, "notify_failed")
    assert stopped["message"].endswith(
        "stopped retrying after 3 of 8 attempts: the escalation moves on before the next retry"
    )
    smtp = outage.end()
    h.advance(seconds=30)  # the second pass pages Dana again, once
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ["dana@example.com"]
    h.advance(minutes=15)
    assert len(smtp.messages) == 1
