"""What a page carries, end to end: an event's links and custom details and the incident's alert
count reach the channel, and "View incident" opens the Incident screen (signing in first)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory
from tests.scenario.engine_harness import Harness, harness
from tests.web.signed_in import signed_in
from tocsin.db.session import Database


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


def test_a_page_carries_links_details_and_the_alert_count(h: Harness) -> None:
    org = h.org
    dana = org.make_user("Dana", "dana@example.com")
    policy = org.post(
        "/api/escalation-policies",
        json={"name": "Disk", "rules": [{"delay_minutes": 0, "targets": [{"type": "user", "id": dana}]}]},
    )
    assert policy.status_code == 201, policy.text
    service_id, routing_key = org.make_service("Storage")
    org.patch(f"/api/services/{service_id}", json={"escalation_policy_id": policy.json()["data"]["id"]})
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": "disk",
        "payload": {
            "summary": "Disk 98% full on db-01",
            "severity": "critical",
            "source": "db-01",
            "custom_details": {"free": "2%", "mount": "/var", "inodes": {"used": 97}},
        },
        "links": [
            {"href": "https://runbooks.example.com/disk", "text": "Runbook"},
            {"href": "javascript:alert(1)", "text": "Not a web link"},
        ],
    }
    for _ in range(3):
        assert org.post("/api/events", json=body).status_code == 202
    h.drain()
    [delivery] = [d for d in h.sink.deliveries if d.address == "dana@example.com"]
    page = delivery.page
    assert page.alert_count == 3
    assert page.links == (("Runbook", "https://runbooks.example.com/disk"),)
    assert page.details == {"free": "2%", "mount": "/var", "inodes": '{"used":97}'}
    base = org.client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    path = f"/incidents/{page.incident_number}"
    assert page.incident_url == base + path
    # Signed out, the link asks for sign-in and comes back to the incident.
    asked = org.client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == f"/login?next={path}"
    reader = signed_in(h.database, org.tenant)
    shown = org.client.get(path, headers={"Accept": "text/html", "Cookie": f"tocsin_session={reader.token}"})
    assert shown.status_code == 200
    assert "Disk 98% full on db-01" in shown.text and "https://runbooks.example.com/disk" in shown.text
    assert re.search(r"<dt>Alerts</dt>\s*<dd>3</dd>", shown.text), "the page shows the alert count"
    assert org.get(f"/api/incidents/{page.incident_id}").json()["data"]["status"] == "OPEN"
