"""The SMTP outage of issue 19, with real processes: ``tocsin serve`` (its engine child) pages
through an SMTP server that is down. The timeline shows each failed attempt and when it is retried;
``/metrics`` (the engine child's series and the server's gauges, one scrape) and ``tocsin doctor``
show the failing channel; someone acknowledges during the outage; the server comes back; the retry
is dropped with the reason, and nothing reaches the responder after the acknowledgement. On
SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.engine_proc import HOST, PagingWorld, SmtpProcess, free_port, stop
from tests.factories.waiting import eventually

POSTGRES_URL = os.environ.get("TOCSIN_TEST_POSTGRES_URL")
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason="no PG"))]


def _reader_key(world: PagingWorld) -> str:
    """A key of the world's org that may read and act on incidents (the seeded one sends events)."""
    from tocsin.db.models import Org
    from tocsin.db.session import Database
    from tocsin.domain.actor import Tenant
    from tocsin.services.access import keys

    database = Database(world.db_url)
    try:
        with database.write() as session:
            org_id = session.scalars(select(Org.id).where(Org.slug == world.slug)).one()
            _, secret = keys.create_key(
                session=session,
                tenant=Tenant(org_id, True),
                name="responder",
                scopes=["incidents:read", "incidents:write", "services:read"],
                now=datetime.now(UTC),
            )
            return secret
    finally:
        database.dispose()


def _sample(text: str, name: str, **labels: str) -> float | None:
    """One sample of a Prometheus text exposition, by name and (a subset of) its labels."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def _doctor(port: int, key: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    """``tocsin doctor --json`` against the live server, as an operator would run it."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cli"), "NO_COLOR": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tocsin.cli",
            "doctor",
            "--url",
            f"http://{HOST}:{port}",
            "--key",
            key,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


@pytest.mark.e2e
@pytest.mark.parametrize("backend", DATABASES)
def test_an_ack_during_an_smtp_outage_drops_the_retry_and_nothing_is_sent_after_it(
    tmp_path: Path, backend: str
) -> None:
    smtp = SmtpProcess(tmp_path)  # its port is chosen, nothing listens on it yet: connection refused
    db_url = (
        POSTGRES_URL if backend == "postgresql" and POSTGRES_URL else f"sqlite:///{tmp_path / 'tocsin.db'}"
    )
    stamp = time.time_ns()
    # Policy minutes of a real minute: level 2 (the retries' deadline) stays far away.
    world = PagingWorld(tmp_path, db_url, smtp.port, minute_seconds=60.0)
    world.migrate()
    world.seed(slug=f"outage-{stamp}")
    key = _reader_key(world)
    port = free_port()
    log = tmp_path / "serve.log"
    # A channel counts as failing after 3 s without a success (the default is 5 minutes).
    server = world.serve(
        port, log, TOCSIN_ENGINE_RETRY_BASE_SECONDS="1", TOCSIN_CHANNEL_FAILING_MINUTES="0.05"
    )
    api = httpx.Client(
        base_url=f"http://{HOST}:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    try:
        world.trigger(port, "outage")
        incidents = api.get("/api/incidents").json()["data"]
        [incident] = [i["id"] for i in incidents if i["dedup_key"] == "outage"]

        def entries(kind: str) -> list[dict[str, Any]]:
            response = api.get(f"/api/incidents/{incident}/timeline", params={"limit": 100})
            assert response.status_code == 200, response.text
            return [entry for entry in response.json()["data"] if entry["type"] == kind]

        assert eventually(lambda: len(entries("notify_retrying")) >= 2, 60, every=0.25), log.read_text()
        first, second = entries("notify_retrying")[:2]
        assert first["message"].startswith("Email to Alice failed: email: cannot deliver through")
        assert first["message"].endswith("retrying in 1 s (attempt 2 of 8)")
        assert second["message"].endswith("retrying in 2 s (attempt 3 of 8)")

        # One scrape of the server shows the engine child's retries and the failing channel.
        def scrape() -> str:
            response = httpx.get(f"http://{HOST}:{port}/metrics", timeout=10)
            assert response.status_code == 200
            return response.text

        assert eventually(
            lambda: (_sample(scrape(), "tocsin_channel_failing", channel="email") or 0) >= 1, 30, every=0.25
        ), scrape()
        metrics = scrape()
        assert (_sample(metrics, "tocsin_pages_total", channel="email", outcome="retried") or 0) >= 2
        assert _sample(metrics, "tocsin_pages_total", channel="email", outcome="sent") in (None, 0.0)
        assert (_sample(metrics, "tocsin_engine_jobs_pending", kind="notify") or 0) >= 1

        # ``tocsin doctor`` says the same, and exits 4: the pager cannot page.
        code, report = _doctor(port, key, tmp_path)
        assert code == 4, report
        email = next(entry for entry in report["channels"]["channels"] if entry["channel"] == "email")
        assert email["status"] == "failing" and email["last_success_at"] is None
        assert email["last_error"].startswith("email: cannot deliver through"), email
        assert email["last_24h"]["failed"] >= 2 and email["last_24h"]["succeeded"] == 0

        acked = api.post(f"/api/incidents/{incident}/acknowledge")
        assert acked.status_code == 200, acked.text
        with smtp:  # the outage ends
            assert eventually(lambda: len(entries("notify_skipped")) == 1, 60, every=0.25), log.read_text()
            [skipped] = entries("notify_skipped")
            assert skipped["message"].startswith("Page to Alice by email skipped: incident acknowledged by")
            assert eventually(lambda: world.unsettled_jobs() == 0, 60, every=0.25), "jobs still pending"
            # Every job settled: nothing can be sent any more, and nothing was. (On the shared
            # PostgreSQL test database the engine also runs other tests' leftover jobs, whose
            # pages may reach this SMTP server: only this incident's count.)
            ours = [m for m in smtp.messages if "Crash test outage" in str(m.message["Subject"])]
            assert ours == []
            assert entries("notified") == []
    finally:
        api.close()
        stop(server)
