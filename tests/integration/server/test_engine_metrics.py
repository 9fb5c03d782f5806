"""``tocsin serve`` with the engine in its own process (``TOCSIN_ENGINE_PROCESS=false``): the app
``server.processes.application`` builds runs the real engine in its lifespan, and that engine's
series are in the app's ``/metrics`` beside the HTTP ones: one scrape sees everything. (The engine
child's case, through files, is the e2e test ``tests/e2e/test_metrics_child.py``.)

A database of its own: a running engine takes every due job it finds, and the shared test
database holds other tests' jobs for their own hand-driven engines."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory
from tests.factories.scrape import sample
from tests.factories.waiting import eventually
from tocsin.db.migrate import upgrade
from tocsin.db.session import Database
from tocsin.server.processes import application


def test_the_in_process_engine_series_are_in_the_app_scrape(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url)
    database = Database(url)
    settings = settings_for(url, engine_process=False, engine_poll_seconds=0.2)
    try:
        with application(settings, database) as app, TestClient(app) as client:
            org = OrgFactory(database, client).new()
            _, routing_key = org.make_service()
            assert org.trigger(routing_key, dedup_key="scraped").status_code == 202

            def lag_count() -> float | None:
                return sample(
                    client.get("/metrics").text, "tocsin_engine_job_lag_seconds_count", {"kind": "escalate"}
                )

            assert eventually(lambda: lag_count() == 1, 30), client.get("/metrics").text
            text = client.get("/metrics").text
            assert (
                sample(text, "tocsin_events_ingested_total", {"action": "trigger", "outcome": "created"}) == 1
            )
            assert sample(text, "tocsin_engine_oldest_due_job_age_seconds") is not None
    finally:
        database.dispose()
