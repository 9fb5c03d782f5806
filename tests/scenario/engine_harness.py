"""An in-process engine on the test database with a clock the test moves: trigger through the API,
``drain()`` to run every due job, ``advance()`` to let escalation delays pass. Pages go to a
recording sink unless a test passes real channels.

The test database is shared by the whole session, so the engine also runs jobs other tests left
behind; every assertion here filters by the test's own incidents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.app import build_engine
from tocsin.engine.metrics import EngineMetrics
from tocsin.notify.registry import Channels, RecordingSink
from tocsin.server.app import create_app
from tocsin.services import jobs


@dataclass
class Harness:
    org: OrgHandle
    clock: FakeClock
    database: Database
    db_url: str
    sink: RecordingSink = field(default_factory=RecordingSink)
    channels: Channels | None = None
    # Real channels need the engine's HTTP client: ``lambda http: Channels(http)``.
    channels_factory: Callable[[httpx.AsyncClient], Channels] | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    # One registry for every ``drain``: what the engines counted, read with ``get_sample_value``.
    metrics: EngineMetrics = field(default_factory=EngineMetrics)

    def drain(self) -> int:
        """Run every job due at the clock's time (and the ones they make due), then return."""

        async def run() -> int:
            async with httpx.AsyncClient() as http:
                engine = build_engine(
                    settings_for(self.db_url, **self.settings_overrides),
                    self.database,
                    http=http,
                    clock=self.clock,
                    channels=self.channels_factory(http)
                    if self.channels_factory
                    else self.channels or Channels.recording(self.sink),
                    owner="test-engine",
                    metrics=self.metrics,
                )
                try:
                    return await engine.drain()
                finally:
                    engine.close()

        return asyncio.run(run())

    def advance(self, minutes: float = 0, seconds: float = 0) -> int:
        self.clock.advance(timedelta(minutes=minutes, seconds=seconds))
        return self.drain()

    def pages(self, incident_id: str) -> list[tuple[str, str, str]]:
        """(channel type, address, event) of every page recorded for ``incident_id``."""
        return [
            (d.channel_type, d.address, d.page.event)
            for d in self.sink.deliveries
            if d.page.incident_id == incident_id
        ]

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        response = self.org.get(f"/api/incidents/{incident_id}/timeline", params={"limit": 100})
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def jobs(self, incident_id: str, *kinds: str) -> list[Any]:
        with self.database.read() as session:
            return jobs.list_jobs(
                session=session, tenant=self.org.tenant, incident_id=incident_id, kinds=kinds
            )


def harness(
    orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str, **overrides: Any
) -> Iterator[Harness]:
    """A fresh org whose API client shares the harness clock (starting at the real now)."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        org = replace(orgs.new(), client=client)
        yield Harness(org, clock, database, db_url, settings_overrides=overrides)
