"""Outbound webhook deliveries end to end on a real database and real local HTTP receivers: emit in
the incident's transaction, claim the job, run the handler, read the delivery log over the API.

The handler is driven the way the engine drives it: ``jobs.claim`` at a test-clock time, the
handler, then ``finish`` / ``retry`` / ``fail`` by its outcome. Each test runs in its own era of
1999, long before any real-time job, so it claims only what it queued."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.factories.engine import job_context
from tests.factories.orgs import OrgFactory, OrgHandle
from tests.factories.recorder import RecordedRequest, Recorder, silent_listener, unused_port
from tocsin.clock import FakeClock
from tocsin.config import Settings
from tocsin.db.models import Incident, IncidentAssignee, Job, WebhookDelivery
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.domain.signing import verify
from tocsin.domain.webhook_events import rfc3339
from tocsin.engine.base import GiveUp, RetryLater
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.webhooks import HANDLERS, deliver_webhook
from tocsin.ids import new_id
from tocsin.notify.outbound import headers_for, post_signed, retry_after_seconds
from tocsin.services import jobs
from tocsin.services.jobs import ClaimedJob
from tocsin.services.webhooks import deliveries as webhook_deliveries

OWNER = "webhook-test-worker"
DEFAULT_BACKOFF = timedelta(seconds=30)  # what the test engine uses when the handler gives no delay
_eras = itertools.count()
_numbers = itertools.count(1)


@pytest.fixture
def recorder() -> Any:
    with Recorder() as server:
        yield server


@dataclass
class Outcome:
    kind: str  # done | retry | give_up
    note: str | None = None
    delay: timedelta | None = None


class Engine:
    """The engine loop, one step at a time, on a clock the test moves."""

    def __init__(self, database: Database, org_id: str, timeout: float = 5.0) -> None:
        self.database = database
        self.org_id = org_id
        self.clock = FakeClock(datetime(1999, 1, 1, tzinfo=UTC) + timedelta(days=7 * next(_eras)))
        self.settings = Settings(database_url=database.url, webhook_timeout_seconds=timeout)
        self.metrics = EngineMetrics()

    def delivered(self, outcome: str) -> float:
        """``tocsin_webhook_deliveries_total{outcome=...}`` as this engine's scrape shows it."""
        value = self.metrics.registry.get_sample_value(
            "tocsin_webhook_deliveries_total", {"outcome": outcome}
        )
        return value or 0.0

    def claim(self) -> list[ClaimedJob]:
        with self.database.write() as session:
            claimed = jobs.claim(
                session=session, owner=OWNER, now=self.clock.now(), lease=timedelta(minutes=5), limit=20
            )
        assert all(job.org_id == self.org_id and job.kind == "webhook" for job in claimed), claimed
        return claimed

    def run(self, job: ClaimedJob) -> Outcome:
        async def call() -> Outcome:
            async with httpx.AsyncClient() as client:
                ctx = job_context(
                    self.database, client, self.clock.now, settings=self.settings, metrics=self.metrics
                )
                try:
                    return Outcome("done", await HANDLERS[job.kind](job, ctx))
                except RetryLater as exc:
                    return Outcome("retry", exc.reason, exc.delay)
                except GiveUp as exc:
                    return Outcome("give_up", exc.reason)

        outcome = asyncio.run(call())
        now = self.clock.now()
        with self.database.write() as session:
            if outcome.kind == "done":
                assert jobs.finish(session=session, job=job, owner=OWNER, now=now, result=outcome.note)
            elif outcome.kind == "retry":
                run_at = now + (outcome.delay or DEFAULT_BACKOFF)
                assert jobs.retry(
                    session=session, job=job, owner=OWNER, now=now, run_at=run_at, error=outcome.note or ""
                )
            else:
                assert jobs.fail(session=session, job=job, owner=OWNER, now=now, error=outcome.note or "")
        return outcome

    def run_one(self) -> Outcome:
        [job] = self.claim()
        return self.run(job)


def _incident(org: OrgHandle, *, assignee: bool = True, tenant: Tenant | None = None) -> str:
    """An incident row as the incident code leaves it (without the paging jobs it would queue)."""
    tenant = tenant or org.tenant
    service_id, _ = org.make_service("Payment API")
    user_id = org.make_user("Alice Smith") if assignee and tenant.livemode else None
    now = datetime.now(UTC)
    with org.database.write() as session:
        incident = Incident(
            id=new_id("incident"),
            org_id=tenant.org_id,
            livemode=tenant.livemode,
            number=next(_numbers),
            title="High CPU on web-01",
            status="OPEN",
            urgency="HIGH",
            service_id=service_id,
            dedup_key="cpu-web-01",
            created_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        if user_id is not None:
            session.add(IncidentAssignee(incident_id=incident.id, user_id=user_id, created_at=now))
        return incident.id


def _emit(
    engine: Engine, org: OrgHandle, incident_id: str, event: str = "incident.triggered", **kw: Any
) -> int:
    with org.database.write() as session:
        incident = session.get_one(Incident, incident_id)
        return webhook_deliveries.emit(
            session=session, tenant=Tenant(incident.org_id, incident.livemode), event=event, incident=incident,
            now=engine.clock.now(), **kw,
        )  # fmt: skip


def _subscribe(org: OrgHandle, url: str, **body: Any) -> dict[str, Any]:
    response = org.post("/api/webhooks", json={"url": url, **body})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _deliveries(org: OrgHandle, webhook_id: str) -> list[dict[str, Any]]:
    response = org.get(f"/api/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _signed(request: RecordedRequest, secret: str) -> bool:
    return verify(secret, request.body, request.header("X-Tocsin-Signature")) and request.header(
        "X-OpsKnight-Signature"
    ) == request.header("X-Tocsin-Signature")


def _job_status(database: Database, delivery_id: str) -> str:
    with database.read() as session:
        return session.scalars(select(Job.status).where(Job.key == f"webhook:{delivery_id}")).one()


def test_a_signed_delivery_reaches_the_receiver(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hooks/tocsin", description="ops bridge")
    incident_id = _incident(org)
    assert _emit(engine, org, incident_id, base_url="https://oncall.example.com/") == 1

    outcome = engine.run_one()
    assert outcome == Outcome("done", "delivered: HTTP 200")
    [request] = recorder.requests
    assert request.method == "POST" and request.path == "/hooks/tocsin"
    assert _signed(request, hook["secret"])
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == "Tocsin-Webhooks/1"
    assert request.header("X-Tocsin-Event") == "incident.triggered"
    [delivery] = _deliveries(org, hook["id"])
    assert request.header("X-Tocsin-Delivery") == delivery["id"] and delivery["id"].startswith("whd_")
    body = request.json
    assert body["event"] == "incident.triggered" and body["timestamp"] == rfc3339(engine.clock.now())
    incident = body["incident"]
    assert incident["id"] == incident_id and incident["title"] == "High CPU on web-01"
    assert (incident["status"], incident["urgency"]) == ("OPEN", "HIGH")
    assert incident["service"]["name"] == "Payment API" and incident["service"]["id"].startswith("svc_")
    assert incident["assignee"]["name"] == "Alice Smith" and incident["assignee"]["id"].startswith("usr_")
    assert incident["html_url"] == f"https://oncall.example.com/incidents/{incident_id}"
    assert incident["dedup_key"] == "cpu-web-01" and isinstance(incident["number"], int)

    assert delivery["status"] == "succeeded" and delivery["event"] == "incident.triggered"
    assert delivery["incident_id"] == incident_id and delivery["webhook_id"] == hook["id"]
    assert delivery["delivered_at"] == delivery["attempts"][0]["at"]
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None and attempt["latency_ms"] >= 0
    assert attempt["sink"] is False
    assert _job_status(org.database, delivery["id"]) == "done"

    # The detail carries the exact bytes that were signed and sent.
    detail = org.get(f"/api/webhooks/{hook['id']}/deliveries/{delivery['id']}").json()["data"]
    assert detail["body"].encode() == request.body


def test_500_then_200_is_delivered_once_after_a_retry(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hook")
    _emit(engine, org, _incident(org))
    recorder.respond(500, body="database is down")

    first = engine.run_one()
    assert first.kind == "retry" and first.delay is None and "HTTP 500" in (first.note or "")
    [pending] = _deliveries(org, hook["id"])
    assert pending["status"] == "pending" and pending["delivered_at"] is None

    engine.clock.advance(DEFAULT_BACKOFF - timedelta(seconds=1))
    assert engine.claim() == []
    engine.clock.advance(timedelta(seconds=1))
    [job] = engine.claim()
    assert job.attempts == 2
    assert engine.run(job) == Outcome("done", "delivered: HTTP 200")

    retried, succeeded = recorder.requests
    assert (
        retried.body == succeeded.body
        and _signed(retried, hook["secret"])
        and _signed(succeeded, hook["secret"])
    )
    assert retried.header("X-Tocsin-Delivery") == succeeded.header("X-Tocsin-Delivery") == pending["id"]

    [delivery] = _deliveries(org, hook["id"])
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert all(
        isinstance(a["latency_ms"], float | int) and a["latency_ms"] >= 0 for a in delivery["attempts"]
    )
    assert delivery["attempts"][0]["error"] == "HTTP 500: database is down"
    assert delivery["attempts"][1]["error"] is None
    assert delivery["attempts"][1]["at"] == delivery["delivered_at"]
    assert engine.claim() == []
    assert [engine.delivered(o) for o in ("retried", "succeeded", "failed")] == [1, 1, 0]


def test_429_honours_retry_after(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hook")
    _emit(engine, org, _incident(org))
    recorder.respond(429, headers={"Retry-After": "120"})

    outcome = engine.run_one()
    assert outcome.kind == "retry" and outcome.delay == timedelta(seconds=120)
    engine.clock.advance(timedelta(seconds=119))
    assert engine.claim() == []
    engine.clock.advance(timedelta(seconds=1))
    assert engine.run_one().kind == "done"
    [delivery] = _deliveries(org, hook["id"])
    assert [a["status_code"] for a in delivery["attempts"]] == [429, 200]


def test_a_404_gives_up_at_once(
    orgs: OrgFactory, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tocsin.engine")
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/gone")
    _emit(engine, org, _incident(org))
    recorder.set_default(404, body="no such hook")

    outcome = engine.run_one()
    assert outcome.kind == "give_up" and "HTTP 404" in (outcome.note or "")
    [delivery] = _deliveries(org, hook["id"])
    assert delivery["status"] == "failed" and delivery["delivered_at"] is None
    assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [(404, "HTTP 404: no such hook")]
    assert _job_status(org.database, delivery["id"]) == "failed"
    engine.clock.advance(timedelta(days=1))
    assert engine.claim() == [] and len(recorder) == 1
    assert [engine.delivered(o) for o in ("retried", "succeeded", "failed")] == [0, 0, 1]
    [line] = [r for r in caplog.records if r.name == "tocsin.engine" and "webhook delivery" in r.message]
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        f"webhook delivery {delivery['id']} failed: HTTP 404: no such hook (attempt 1 of 8; giving up)"
    )
    fields = ("webhook_id", "delivery_id", "status_code", "attempt", "retrying")
    assert [getattr(line, name) for name in fields] == [hook["id"], delivery["id"], 404, 1, False]
    assert "/gone" not in str(vars(line))  # ids only: a webhook URL may carry its receiver's secret


def test_a_redirect_is_not_followed(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/old")
    _emit(engine, org, _incident(org))
    recorder.respond(302, headers={"Location": recorder.url + "/new"})

    outcome = engine.run_one()
    assert outcome.kind == "give_up" and "not followed" in (outcome.note or "")
    assert [r.path for r in recorder.requests] == ["/old"]
    assert _deliveries(org, hook["id"])[0]["status"] == "failed"


def test_a_timeout_is_retryable(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id, timeout=0.2)
    hook = _subscribe(org, recorder.url + "/slow")
    _emit(engine, org, _incident(org))
    recorder.respond(delay=30)

    outcome = engine.run_one()
    assert outcome.kind == "retry" and outcome.delay is None and "timed out" in (outcome.note or "")
    [delivery] = _deliveries(org, hook["id"])
    [attempt] = delivery["attempts"]
    assert delivery["status"] == "pending" and attempt["status_code"] is None
    assert attempt["error"] == "timed out after 0.2s"

    engine.clock.advance(DEFAULT_BACKOFF)
    assert engine.run_one().kind == "done"
    assert [a["status_code"] for a in _deliveries(org, hook["id"])[0]["attempts"]] == [None, 200]


def test_refused_connections_retry_until_the_last_attempt(orgs: OrgFactory) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, f"http://127.0.0.1:{unused_port()}/hook")
    _emit(engine, org, _incident(org), max_attempts=2)

    first = engine.run_one()
    assert first.kind == "retry" and "connection failed" in (first.note or "")
    engine.clock.advance(DEFAULT_BACKOFF)
    last = engine.run_one()
    assert last.kind == "give_up" and "attempt 2 of 2" in (last.note or "")
    [delivery] = _deliveries(org, hook["id"])
    assert delivery["status"] == "failed" and len(delivery["attempts"]) == 2
    assert all(a["status_code"] is None and "connection failed" in a["error"] for a in delivery["attempts"])
    assert [engine.delivered(o) for o in ("retried", "succeeded", "failed")] == [1, 0, 1]


def test_test_mode_never_reaches_the_network(orgs: OrgFactory, recorder: Recorder) -> None:
    live = orgs.new()
    test = live.test_mode()
    engine = Engine(live.database, live.org_id)
    hook = _subscribe(test, recorder.url + "/hook")
    assert hook["livemode"] is False
    incident_id = _incident(live, tenant=test.tenant)
    assert _emit(engine, test, incident_id) == 1

    assert engine.run_one() == Outcome("done", "test mode: recorded to the sink, not sent")
    assert len(recorder) == 0
    [delivery] = _deliveries(test, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["livemode"] is False
    [attempt] = delivery["attempts"]
    assert attempt["sink"] is True and attempt["status_code"] is None and attempt["error"] is None
    # The live side of the org sees none of it.
    assert live.get(f"/api/webhooks/{hook['id']}/deliveries").status_code == 404


def test_filters_and_disabled_subscriptions(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    everything = _subscribe(org, recorder.url + "/all")
    resolved_only = _subscribe(org, recorder.url + "/resolved", events=["incident.resolved"])
    _subscribe(org, recorder.url + "/off", enabled=False)
    other = orgs.new()
    _subscribe(other, recorder.url + "/other-org")
    incident_id = _incident(org)

    assert _emit(engine, org, incident_id, "incident.triggered") == 1
    assert _emit(engine, org, incident_id, "incident.resolved") == 2
    with pytest.raises(ValueError):
        _emit(engine, org, incident_id, "incident.exploded")
    for job in engine.claim():
        assert engine.run(job).kind == "done"
    assert sorted((r.path, r.header("X-Tocsin-Event")) for r in recorder.requests) == [
        ("/all", "incident.resolved"),
        ("/all", "incident.triggered"),
        ("/resolved", "incident.resolved"),
    ]
    assert [d["event"] for d in _deliveries(org, everything["id"])] == [
        "incident.resolved",
        "incident.triggered",
    ]
    assert len(_deliveries(org, resolved_only["id"])) == 1


def test_disabled_or_deleted_after_queueing_is_not_sent(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    paused = _subscribe(org, recorder.url + "/paused")
    deleted = _subscribe(org, recorder.url + "/deleted")
    _emit(engine, org, _incident(org))
    assert org.patch(f"/api/webhooks/{paused['id']}", json={"enabled": False}).status_code == 200
    assert org.delete(f"/api/webhooks/{deleted['id']}").status_code == 204

    notes = sorted(engine.run(job).note or "" for job in engine.claim())
    assert notes == [
        "not sent: the webhook (and its delivery) was deleted",
        "not sent: the webhook is disabled",
    ]
    assert len(recorder) == 0
    [delivery] = _deliveries(org, paused["id"])
    assert (
        delivery["status"] == "failed"
        and delivery["attempts"][0]["error"] == "not sent: the webhook is disabled"
    )


def test_a_delivered_delivery_is_never_sent_again(orgs: OrgFactory, recorder: Recorder) -> None:
    """A worker that crashed after the POST but before finishing the job: the job is claimed again."""
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    _subscribe(org, recorder.url + "/hook")
    _emit(engine, org, _incident(org))
    [job] = engine.claim()

    async def call() -> str | None:
        async with httpx.AsyncClient() as client:
            ctx = job_context(org.database, client, engine.clock.now)
            first = await deliver_webhook(job, ctx)
            assert first == "delivered: HTTP 200"
            return await deliver_webhook(job, ctx)

    assert asyncio.run(call()) == "not sent again: the delivery already succeeded"
    assert len(recorder) == 1
    with org.database.write() as session:
        assert jobs.finish(session=session, job=job, owner=OWNER, now=engine.clock.now())


def test_emit_rolls_back_with_the_state_change(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hook")
    incident_id = _incident(org)
    with pytest.raises(RuntimeError), org.database.write() as session:
        incident = session.get_one(Incident, incident_id)
        assert (
            webhook_deliveries.emit(
                session=session,
                tenant=org.tenant,
                event="incident.acknowledged",
                incident=incident,
                now=engine.clock.now(),
            )
            == 1
        )
        raise RuntimeError("the acknowledge failed")
    assert _deliveries(org, hook["id"]) == [] and engine.claim() == []


def test_a_test_delivery_is_signed_and_sent(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hook", events=["incident.resolved"], enabled=False)
    with org.database.write() as session:
        queued = webhook_deliveries.send_test(
            session=session, tenant=org.tenant, webhook_id=hook["id"], now=engine.clock.now()
        )
    assert engine.run_one() == Outcome("done", "delivered: HTTP 200")
    [request] = recorder.requests
    assert request.header("X-Tocsin-Event") == "webhook.test" and _signed(request, hook["secret"])
    assert request.json["incident"]["title"] == "Test delivery from Tocsin"
    assert _deliveries(org, hook["id"])[0]["id"] == queued.id


def test_a_rotated_secret_signs_the_next_attempt(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hook", secret="an-old-secret-of-sixteen")
    _emit(engine, org, _incident(org))
    recorder.respond(503)
    assert engine.run_one().kind == "retry"
    rotated = org.post(f"/api/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    engine.clock.advance(DEFAULT_BACKOFF)
    assert engine.run_one().kind == "done"
    before, after = recorder.requests
    assert _signed(before, "an-old-secret-of-sixteen") and not _signed(after, "an-old-secret-of-sixteen")
    assert _signed(after, rotated.json()["data"]["secret"]) and before.body == after.body


# The transport on its own ------------------------------------------------------------------------


def _post(url: str, *, timeout: float = 5.0) -> Any:
    async def call() -> Any:
        async with httpx.AsyncClient() as client:
            return await post_signed(
                client, url, "s3cret-s3cret-s3cret", b'{"a":1}', event="incident.triggered", delivery_id="whd_1",
                timeout=timeout,
            )  # fmt: skip

    return asyncio.run(call())


def test_headers_carry_both_signature_names() -> None:
    headers = headers_for("s3cret", b"{}", event="incident.resolved", delivery_id="whd_9")
    assert headers["X-Tocsin-Signature"] == headers["X-OpsKnight-Signature"]
    assert verify("s3cret", b"{}", headers["X-Tocsin-Signature"])
    assert (headers["X-Tocsin-Event"], headers["X-Tocsin-Delivery"]) == ("incident.resolved", "whd_9")


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (200, None),
        (204, None),
        (400, False),
        (401, False),
        (410, False),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
    ],
)
def test_status_classes(recorder: Recorder, status: int, retryable: bool | None) -> None:
    recorder.respond(status)
    attempt = _post(recorder.url + "/x")
    assert attempt.status_code == status
    assert attempt.succeeded is (retryable is None)
    if retryable is not None:
        assert attempt.retryable is retryable and attempt.error.startswith(f"HTTP {status}")
    [request] = recorder.requests
    assert request.body == b'{"a":1}' and _signed(request, "s3cret-s3cret-s3cret")


def test_retry_after_forms(recorder: Recorder) -> None:
    recorder.respond(503, headers={"Retry-After": "7"})
    assert _post(recorder.url).retry_after == 7.0
    recorder.respond(429)
    assert _post(recorder.url).retry_after is None
    now = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert retry_after_seconds("Mon, 15 Jan 2024 10:31:00 GMT", now) == 60.0
    assert retry_after_seconds("Mon, 15 Jan 2024 10:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds("-5") == 0.0


def test_a_silent_server_times_out() -> None:
    with silent_listener() as port:
        attempt = _post(f"http://127.0.0.1:{port}/", timeout=0.2)
    assert attempt.status_code is None and attempt.retryable and attempt.error == "timed out after 0.2s"


def test_a_delivery_body_is_the_stored_text(orgs: OrgFactory, recorder: Recorder) -> None:
    org = orgs.new()
    engine = Engine(org.database, org.org_id)
    hook = _subscribe(org, recorder.url + "/hook")
    _emit(engine, org, _incident(org))
    engine.run_one()
    with org.database.read() as session:
        stored = session.scalars(
            select(WebhookDelivery.body).where(WebhookDelivery.webhook_id == hook["id"])
        ).one()
    assert (
        recorder.requests[0].body == stored.encode() and json.loads(stored)["event"] == "incident.triggered"
    )
