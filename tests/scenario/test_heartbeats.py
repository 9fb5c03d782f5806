"""Heartbeats through the durable engine with a moved clock: no beat within the timeout opens an
incident that pages, the next beat resolves it, a later miss opens a new one, and a long silence
never opens a second incident beside the first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.session import Database

WATCHDOG = {
    "version": "4",
    "groupKey": '{}:{alertname="Watchdog"}',
    "status": "firing",
    "receiver": "heartbeat",
    "groupLabels": {"alertname": "Watchdog"},
    "commonLabels": {"alertname": "Watchdog", "severity": "none"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Watchdog", "severity": "none"},
            "annotations": {"summary": "An alert that should always be firing"},
            "startsAt": "2026-12-07T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "e3b0c44298fc1c14",
        }
    ],
}


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


@pytest.fixture
def service(h: Harness) -> str:
    """A service whose policy emails Alice at once."""
    alice = h.org.make_user("Alice", "alice@example.com")
    policy = h.org.post(
        "/api/escalation-policies",
        json={"name": "Ops", "rules": [{"delay_minutes": 0, "targets": [{"type": "user", "id": alice}]}]},
    )
    assert policy.status_code == 201, policy.text
    service_id, _ = h.org.make_service("Prometheus")
    patched = h.org.patch(
        f"/api/services/{service_id}", json={"escalation_policy_id": policy.json()["data"]["id"]}
    )
    assert patched.status_code == 200, patched.text
    return service_id


def _heartbeat(h: Harness, service_id: str) -> dict[str, Any]:
    response = h.org.post(
        f"/api/services/{service_id}/heartbeats",
        json={"name": "prometheus-watchdog", "interval_seconds": 60, "timeout_seconds": 120},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _incidents(h: Harness, service_id: str) -> list[dict[str, Any]]:
    response = h.org.get("/api/incidents", params={"service_id": service_id, "limit": 100})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return sorted(found, key=lambda incident: incident["number"])


def test_miss_pages_beat_resolves_and_next_miss_opens_a_new_incident(h: Harness, service: str) -> None:
    heartbeat = _heartbeat(h, service)
    beat_path = urlsplit(heartbeat["beat_url"]).path
    h.advance(seconds=60)
    assert h.org.get(beat_path).status_code == 200
    # The first deadline (created + 120 s) passes, but a beat came at 60 s: the next is at 180 s.
    h.advance(seconds=100)
    assert _incidents(h, service) == []

    h.advance(seconds=30)
    [incident] = _incidents(h, service)
    assert incident["title"] == "Heartbeat 'prometheus-watchdog' missed: last beat 2 min ago"
    assert incident["status"] in ("OPEN", "open", "triggered")
    assert [address for kind, address, _ in h.pages(incident["id"]) if kind == "email"] == [
        "alice@example.com"
    ]
    state = h.org.get(f"/api/services/{service}/heartbeats/{heartbeat['id']}").json()["data"]
    assert state["state"] == "missed"

    # An hour of silence: still the one incident.
    h.advance(minutes=60)
    assert [i["id"] for i in _incidents(h, service)] == [incident["id"]]

    # Alertmanager's Watchdog receiver beats by POST: the incident resolves.
    answer = h.org.post(beat_path, json=WATCHDOG)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["state"] == "up"
    h.drain()
    [resolved] = _incidents(h, service)
    assert resolved["status"].upper() == "RESOLVED"

    # A second miss: a new incident, the first stays resolved.
    h.advance(seconds=121)
    first, second = _incidents(h, service)
    assert first["id"] == incident["id"] and first["status"].upper() == "RESOLVED"
    assert second["status"].upper() != "RESOLVED"
    assert second["dedup_key"] == incident["dedup_key"]


def test_a_heartbeat_that_never_beats_is_missed_after_its_timeout(h: Harness, service: str) -> None:
    heartbeat = _heartbeat(h, service)
    h.advance(seconds=119)
    assert _incidents(h, service) == []
    h.advance(seconds=1)
    [incident] = _incidents(h, service)
    assert incident["title"] == "Heartbeat 'prometheus-watchdog' missed: no beat since created 2 min ago"
    got = h.org.get(f"/api/services/{service}/heartbeats/{heartbeat['id']}").json()["data"]
    assert got["state"] == "missed" and got["last_beat_at"] is None
