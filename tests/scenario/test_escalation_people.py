"""Escalation as people meet it, with the fake clock: a repeat waits the last level's delay by
default (never the same second as the last level's page), and every surface numbers levels alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.scenario.engine_harness import Harness, harness
from tocsin.cli import incidents as cli_incidents
from tocsin.cli.client import ApiClient
from tocsin.cli.refs import Names
from tocsin.db.session import Database
from tocsin.notify import render


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


def _paged_service(org: OrgHandle, **policy: Any) -> str:
    """Level 1 pages Alice at once, level 2 pages Bob a minute later; returns the routing key."""
    alice = org.make_user("Alice", "alice@example.com")
    bob = org.make_user("Bob", "bob@example.com")
    rules = [
        {"delay_minutes": 0, "targets": [{"type": "user", "id": alice}]},
        {"delay_minutes": 1, "targets": [{"type": "user", "id": bob}]},
    ]
    created = org.post("/api/escalation-policies", json={"name": "Payments", "rules": rules, **policy})
    assert created.status_code == 201, created.text
    service_id, routing_key = org.make_service()
    linked = org.patch(
        f"/api/services/{service_id}", json={"escalation_policy_id": created.json()["data"]["id"]}
    )
    assert linked.status_code == 200, linked.text
    return routing_key


def _open(h: Harness, routing_key: str) -> str:
    assert h.org.trigger(routing_key, dedup_key="cpu").status_code == 202
    [incident] = h.org.get("/api/incidents").json()["data"]
    h.drain()
    return str(incident["id"])


def _emails(h: Harness, incident_id: str) -> list[str]:
    return [address for kind, address, _ in h.pages(incident_id) if kind == "email"]


def test_a_repeat_waits_the_last_levels_delay_by_default(h: Harness) -> None:
    incident = _open(h, _paged_service(h.org, repeat_count=1))
    assert _emails(h, incident) == ["alice@example.com"]
    h.advance(minutes=1)
    assert _emails(h, incident) == ["alice@example.com", "bob@example.com"]
    h.advance(seconds=59)
    assert _emails(h, incident) == ["alice@example.com", "bob@example.com"]
    h.advance(seconds=1)
    assert _emails(h, incident) == ["alice@example.com", "bob@example.com", "alice@example.com"]


def test_an_explicit_zero_repeat_delay_repeats_at_once(h: Harness) -> None:
    incident = _open(h, _paged_service(h.org, repeat_count=1, repeat_delay_minutes=0))
    h.advance(minutes=1)
    assert _emails(h, incident) == ["alice@example.com", "bob@example.com", "alice@example.com"]


def test_every_surface_numbers_the_second_level_2(h: Harness) -> None:
    """Escalated to the second level: the API's ``escalation_level`` is its 0-based index (1), and
    the timeline, the CLI's ``incidents show`` line and the page all say level 2."""
    incident = _open(h, _paged_service(h.org, repeat_count=2))
    h.advance(minutes=1)
    body = h.org.get(f"/api/incidents/{incident}").json()["data"]
    assert body["escalation_level"] == 1

    messages = [entry["message"] for entry in h.timeline(incident)]
    assert any(message.startswith("Escalation level 2 (pass 1 of 3): paging") for message in messages), (
        messages
    )

    # The CLI's own rendering, its names read over HTTP from the app.
    with ApiClient("http://testserver", h.org.key) as client:
        client._http = TestClient(h.org.client.app, headers=h.org.headers())
        assert cli_incidents._escalation(Names(client), body) == "Payments, level 2"

    [bob_page] = [d.page for d in h.sink.deliveries if d.page.recipient_name == "Bob"]
    assert bob_page.escalation_level == 2
    assert "Escalation level: 2" in render.plain_text(bob_page).splitlines()
    [alice_page] = [d.page for d in h.sink.deliveries if d.page.recipient_name == "Alice"]
    assert "Escalation level: 1" in render.plain_text(alice_page).splitlines()
