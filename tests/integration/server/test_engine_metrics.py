"""``tocsin serve`` with the engine in its own process (``TOCSIN_ENGINE_PROCESS=false``): the app
``server.processes.application`` builds runs the real engine in its lifespan, and that engine's
series are in the app's ``/metrics`` beside the HTTP ones: one scrape sees everything. (The engine
child's case, through files, is the e2e test ``tests/e2e/test_metrics_child.py``.)

A database of its own: a running engine takes every due job it finds, and the shared test
database holds other tests' jobs for their own hand-driven engines."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory
from tests.factories.scrape import sample
from tests.factories.waiting import eventually
from tocsin.api.app import create_app
from tocsin.db.migrate import upgrade
from tocsin.db.session import Database
from tocsin.server.engine_metrics import EngineMetricsFiles
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


def test_a_damaged_engine_metrics_file_leaves_only_the_engine_series_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file in the child's directory that prometheus_client cannot read (its key is not JSON)."""
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with EngineMetricsFiles() as files:
            key = b"{not json}"
            header = struct.pack("i", 64) + b"\0" * 4
            (files.path / "counter_4242.db").write_bytes(
                header + struct.pack("i", len(key)) + key + b"\0" * 46
            )
            app = create_app(settings_for(url), database=database, metrics_from=[files.collector()])
            with TestClient(app) as client, caplog.at_level(logging.WARNING, logger="tocsin.metrics"):
                client.get("/healthz")
                response = client.get("/metrics")
    finally:
        database.dispose()
    assert response.status_code == 200
    assert (
        sample(
            response.text,
            "tocsin_http_requests_total",
            {"method": "GET", "route": "/healthz", "status": "200"},
        )
        == 1
    )
    assert sample(response.text, "tocsin_engine_oldest_due_job_age_seconds") == 0
    assert [r.getMessage() for r in caplog.records if r.name == "tocsin.metrics"] == [
        "could not read the engine's series for /metrics; left out of this scrape"
    ]
