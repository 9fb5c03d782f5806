"""A Splunk On-Call world on an app whose clock the test sets: a team with a manager, a daily
rotation (Alice then Bob, handing over at 09:00Z), a policy paging that schedule, and a service
with a routing key paging through the policy. Requests carry only the X-VO headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.app import build_engine
from tocsin.notify.registry import Channels, RecordingSink

NOW = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # a Monday: Alice's turn runs 09:00Z to 09:00Z


@dataclass
class SplunkOrg:
    """One org seen through the Splunk On-Call API, with the native API at hand for set-up."""

    org: OrgHandle
    api_id: str
    clock: FakeClock
    database: Database
    db_url: str

    def drain(self) -> int:
        """Run the engine once over every job due at the clock's time (escalation pages people)."""

        async def run() -> int:
            async with httpx.AsyncClient() as http:
                engine = build_engine(
                    settings_for(self.db_url),
                    self.database,
                    http=http,
                    clock=self.clock,
                    channels=Channels.recording(RecordingSink()),
                    owner="splunk-test-engine",
                )
                try:
                    return await engine.drain()
                finally:
                    engine.close()

        return asyncio.run(run())

    def headers(self, key: str | None = None, api_id: str | None = None) -> dict[str, str]:
        return {"X-VO-Api-Id": api_id or self.api_id, "X-VO-Api-Key": key or self.org.key}

    def call(
        self, method: str, path: str, *, key: str | None = None, api_id: str | None = None, **kwargs: Any
    ) -> Any:
        headers = {**self.headers(key, api_id), **kwargs.pop("headers", {})}
        return self.org.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.call("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)


@dataclass
class World:
    splunk: SplunkOrg
    people: dict[str, str]
    team: dict[str, Any]
    schedule: dict[str, Any]
    policy: dict[str, Any]
    service: dict[str, Any]
    routing_key: str

    @property
    def org(self) -> OrgHandle:
        return self.splunk.org

    def native(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.org.request(method, path, **kwargs)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    def trigger(self, summary: str = "Disk full on db-01", dedup_key: str | None = None) -> int:
        """An incident through the events API on the world's routing key; its number."""
        body: dict[str, Any] = {
            "routing_key": self.routing_key,
            "event_action": "trigger",
            "payload": {"summary": summary, "severity": "critical", "source": "db-01"},
        }
        if dedup_key:
            body["dedup_key"] = dedup_key
        self.native("POST", "/api/events", json=body)
        incidents = self.native("GET", "/api/incidents", params={"sort": "created_at", "order": "desc"})
        number: int = incidents["data"][0]["number"]
        return number


def splunk_org(org: OrgHandle, clock: FakeClock, database: Database, db_url: str) -> SplunkOrg:
    response = org.get("/api/org")
    assert response.status_code == 200, response.text
    return SplunkOrg(org, response.json()["data"]["api_id"], clock, database, db_url)


@pytest.fixture
def clocked(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[SplunkOrg]:
    """A fresh org on an app whose clock stands at ``NOW``."""
    clock = FakeClock(NOW)
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield splunk_org(replace(orgs.new(), client=client), clock, database, db_url)


def build_world(splunk: SplunkOrg) -> World:
    org = splunk.org
    people = {
        name: org.make_user(f"{name} Example", f"{name.lower()}@example.com")
        for name in ("Alice", "Bob", "Carol")
    }
    members = [
        {"user_id": people["Alice"], "role": "manager"},
        {"user_id": people["Bob"]},
        {"user_id": people["Carol"]},
    ]

    def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = org.post(path, json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    team = created("/api/teams", {"name": "Payments", "members": members})
    layer = {
        "name": "Daily",
        "users": [people["Alice"], people["Bob"]],
        "rotation_unit": "days",
        "rotation_length": 1,
        "start": "2030-01-07T09:00:00Z",
    }
    schedule = created(
        "/api/schedules",
        {"name": "Payments primary", "time_zone": "UTC", "team_id": team["id"], "layers": [layer]},
    )
    policy = created(
        "/api/escalation-policies",
        {
            "name": "Payments EP",
            "team_id": team["id"],
            "rules": [{"delay_minutes": 0, "targets": [{"type": "schedule", "id": schedule["id"]}]}],
        },
    )
    routing_key = f"payments-{org.slug}"
    service = created(
        "/api/services",
        {
            "name": "Payment API",
            "team_id": team["id"],
            "escalation_policy_id": policy["id"],
            "integrations": [{"name": "Monitoring", "routing_key": routing_key}],
        },
    )
    return World(splunk, people, team, schedule, policy, service, routing_key)


@pytest.fixture
def world(clocked: SplunkOrg) -> World:
    return build_world(clocked)
