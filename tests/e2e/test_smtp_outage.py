"""The SMTP outage of issue 19, with real processes: ``tocsin serve`` (its engine child) pages
through an SMTP server that is down. The timeline shows each failed attempt and when it is retried;
someone acknowledges during the outage; the server comes back; the retry is dropped with the
reason, and nothing reaches the responder after the acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.engine_proc import HOST, PagingWorld, SmtpProcess, free_port, stop
from tests.factories.waiting import eventually


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
                scopes=["incidents:read", "incidents:write"],
                now=datetime.now(UTC),
            )
            return secret
    finally:
        database.dispose()


@pytest.mark.e2e
def test_an_ack_during_an_smtp_outage_drops_the_retry_and_nothing_is_sent_after_it(tmp_path: Path) -> None:
    smtp = SmtpProcess(tmp_path)  # its port is chosen, nothing listens on it yet: connection refused
    # Policy minutes of a real minute: level 2 (the retries' deadline) stays far away.
    world = PagingWorld(tmp_path, f"sqlite:///{tmp_path / 'tocsin.db'}", smtp.port, minute_seconds=60.0)
    world.migrate()
    world.seed()
    key = _reader_key(world)
    port = free_port()
    log = tmp_path / "serve.log"
    server = world.serve(port, log, TOCSIN_ENGINE_RETRY_BASE_SECONDS="1")
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
        acked = api.post(f"/api/incidents/{incident}/acknowledge")
        assert acked.status_code == 200, acked.text
        with smtp:  # the outage ends
            assert eventually(lambda: len(entries("notify_skipped")) == 1, 60, every=0.25), log.read_text()
            [skipped] = entries("notify_skipped")
            assert skipped["message"].startswith("Page to Alice by email skipped: incident acknowledged by")
            assert eventually(lambda: world.unsettled_jobs() == 0, 60, every=0.25), "jobs still pending"
            # Every job settled: nothing can be sent any more, and nothing was.
            assert smtp.messages == []
            assert entries("notified") == []
    finally:
        api.close()
        stop(server)
