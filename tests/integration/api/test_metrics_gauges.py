"""The gauges ``/metrics`` counts from the database at scrape time (``api.gauges``): jobs pending by
kind, the age of the oldest due job, heartbeats by state, incidents by status; and a scrape that
still answers, with every other series, when the database cannot be read.

The database is shared by the whole session, so figures other tests move (heartbeats) are read as
differences around this test's own changes, jobs carry a kind of their own, and the app's clock
stands in 1970, before any other test's job is due."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tests.factories.scrape import families, sample
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.models import Job
from tocsin.db.session import Database
from tocsin.services import jobs
from tocsin.services.ingest import heartbeats

NOW = datetime(1970, 1, 2, tzinfo=UTC)
HEARTBEAT_STATES = [(state, mode) for state in ("waiting", "up", "missed") for mode in ("true", "false")]


@pytest.fixture
def scraper(db_url: str, database: Database) -> Iterator[TestClient]:
    app = create_app(settings_for(db_url), database=database, clock=FakeClock(NOW))
    with TestClient(app) as client:
        yield client


def _heartbeat(org: OrgHandle) -> str:
    """A heartbeat on a new service of ``org``'s tenant (live or test mode); its beat token."""
    service_id, _ = org.make_service(f"Watched {uuid.uuid4().hex[:6]}")
    with org.database.write() as session:
        _, token = heartbeats.create_heartbeat(
            session=session,
            tenant=org.tenant,
            service_id=service_id,
            name="watchdog",
            interval_seconds=60,
            timeout_seconds=300,
            now=datetime.now(UTC),
        )
    return token


def _heartbeat_counts(text: str) -> dict[tuple[str, str], float | None]:
    return {
        (state, mode): sample(text, "tocsin_heartbeats", {"state": state, "livemode": mode})
        for state, mode in HEARTBEAT_STATES
    }


def test_jobs_pending_by_kind_and_the_oldest_due_age(orgs: OrgFactory, scraper: TestClient) -> None:
    org = orgs.new()
    kind = f"gauge-{uuid.uuid4().hex[:8]}"
    before = scraper.get("/metrics").text
    assert sample(before, "tocsin_engine_jobs_pending", {"kind": kind}) is None
    assert sample(before, "tocsin_engine_oldest_due_job_age_seconds") == 0  # nothing due in 1970
    with org.database.write() as session:
        for name, run_at in (("due", NOW - timedelta(seconds=90)), ("later", NOW + timedelta(hours=1))):
            jobs.enqueue(
                session=session, tenant=org.tenant, kind=kind, key=f"{kind}:{name}", run_at=run_at, now=NOW
            )
    try:
        text = scraper.get("/metrics").text
        assert sample(text, "tocsin_engine_jobs_pending", {"kind": kind}) == 2  # due or not
        assert sample(text, "tocsin_engine_oldest_due_job_age_seconds") == 90
        assert "# TYPE tocsin_engine_jobs_pending gauge" in text
    finally:
        # Settled, so no later test's engine (the webhook tests claim in 1999) meets them.
        with org.database.write() as session:
            session.execute(update(Job).where(Job.kind == kind).values(status="cancelled"))


def test_heartbeats_by_state_and_mode(orgs: OrgFactory, scraper: TestClient, app_client: TestClient) -> None:
    org = orgs.new()
    before = _heartbeat_counts(scraper.get("/metrics").text)
    assert all(value is not None for value in before.values()), before  # every state, even at 0
    _heartbeat(org)
    beating = _heartbeat(org)
    _heartbeat(replace(org, livemode=False))
    assert app_client.get(f"/heartbeats/{beating}").status_code == 200
    after = _heartbeat_counts(scraper.get("/metrics").text)
    changed = {key: after[key] - before[key] for key in after if after[key] != before[key]}  # type: ignore[operator]
    assert changed == {("waiting", "true"): 1, ("up", "true"): 1, ("waiting", "false"): 1}


def test_incidents_by_status_still_counted(orgs: OrgFactory, scraper: TestClient) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    labels = {"status": "OPEN", "livemode": "true"}
    before = sample(scraper.get("/metrics").text, "tocsin_incidents", labels) or 0
    assert org.trigger(routing_key, dedup_key="gauge").status_code == 202
    assert sample(scraper.get("/metrics").text, "tocsin_incidents", labels) == before + 1


def test_a_database_that_cannot_be_read_drops_its_families_not_the_scrape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real database with no tables (never migrated): every count fails as a real outage would."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    database = Database(url)
    try:
        with TestClient(create_app(settings_for(url), database=database)) as client:
            client.get("/healthz")
            with caplog.at_level(logging.WARNING, logger="tocsin.metrics"):
                response = client.get("/metrics")
    finally:
        database.dispose()
    assert response.status_code == 200
    found = families(response.text)
    assert "tocsin_http_requests" in found  # the HTTP series still answer
    assert not found & {"tocsin_incidents", "tocsin_engine_jobs_pending", "tocsin_heartbeats"}
    assert "tocsin_engine_oldest_due_job_age_seconds" not in found
    assert "tocsin_channel_failing" not in found
    left_out = sorted(r.getMessage() for r in caplog.records if r.name == "tocsin.metrics")
    assert left_out == [
        f"could not read {name} for /metrics; left out of this scrape"
        for name in sorted(
            [
                "tocsin_channel_failing",
                "tocsin_engine_jobs_pending",
                "tocsin_engine_oldest_due_job_age_seconds",
                "tocsin_heartbeats",
                "tocsin_incidents",
            ]
        )
    ] + ["readiness metric: computing the findings failed; keeping the last figure"]
