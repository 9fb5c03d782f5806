"""Swap requests expire at their window start, through the durable engine with a moved clock: the
expiry lands on the schedule's timeline once; a request taken, cancelled or moved before its start
is left alone by the old job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.session import Database
from tocsin.services import jobs
from tocsin.services.swaps import requests as swap_requests

HOUR = timedelta(hours=1)


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


@pytest.fixture
def people(h: Harness) -> dict[str, str]:
    """Alice on call around the clock; Bob free to take her shifts."""
    alice, bob = h.org.make_user("Alice"), h.org.make_user("Bob")
    response = h.org.post(
        "/api/schedules",
        json={
            "name": "Primary",
            "time_zone": "UTC",
            "layers": [
                {
                    "users": [alice],
                    "rotation_unit": "weeks",
                    "rotation_length": 1,
                    "start": (h.clock.now() - timedelta(days=1)).isoformat(),
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    return {"alice": alice, "bob": bob, "schedule": response.json()["data"]["id"]}


def _ask(h: Harness, people: dict[str, str], start: timedelta, end: timedelta) -> str:
    response = h.org.post(
        f"/api/schedules/{people['schedule']}/swap-requests",
        json={
            "user_id": people["alice"],
            "start": (h.clock.now() + start).isoformat(),
            "end": (h.clock.now() + end).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _events(h: Harness, people: dict[str, str], swap_id: str) -> list[dict[str, Any]]:
    response = h.org.get(f"/api/schedules/{people['schedule']}/timeline", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["data"] if e["data"].get("swap_request_id") == swap_id]


def _expiry_jobs(h: Harness) -> list[Any]:
    with h.database.read() as session:
        return jobs.list_jobs(session=session, tenant=h.org.tenant, kinds=(swap_requests.SWAP_EXPIRY,))


def test_an_untaken_request_expires_at_its_window_start(h: Harness, people: dict[str, str]) -> None:
    swap_id = _ask(h, people, 2 * HOUR, 4 * HOUR)
    h.advance(minutes=119)
    assert [e["type"] for e in _events(h, people, swap_id)] == ["swap_requested"]
    h.advance(minutes=2)
    events = _events(h, people, swap_id)
    assert [e["type"] for e in events] == ["swap_requested", "swap_expired"]
    assert events[1]["actor"]["type"] == "system"
    shown = h.org.get(f"/api/swap-requests/{swap_id}").json()["data"]
    assert shown["status"] == "past_due"
    take = h.org.post(
        f"/api/schedules/{people['schedule']}/swap-requests/{swap_id}/take", json={"user_id": people["bob"]}
    )
    assert take.status_code == 409 and "expired" in take.json()["error"]["message"]
    h.advance(minutes=60)
    assert [e["type"] for e in _events(h, people, swap_id)].count("swap_expired") == 1


def test_taken_or_cancelled_requests_do_not_expire(h: Harness, people: dict[str, str]) -> None:
    taken = _ask(h, people, 2 * HOUR, 3 * HOUR)
    cancelled = _ask(h, people, 4 * HOUR, 5 * HOUR)
    base = f"/api/schedules/{people['schedule']}/swap-requests"
    assert h.org.post(f"{base}/{taken}/take", json={"user_id": people["bob"]}).status_code == 200
    assert h.org.post(f"{base}/{cancelled}/cancel").status_code == 200
    h.advance(minutes=6 * 60)
    assert "swap_expired" not in [e["type"] for e in _events(h, people, taken)]
    assert "swap_expired" not in [e["type"] for e in _events(h, people, cancelled)]
    results = {job.payload["swap_request_id"]: job.result for job in _expiry_jobs(h)}
    assert results[taken] == "nothing to do: taken"
    assert results[cancelled] == "nothing to do: cancelled"


def test_a_moved_window_expires_at_its_new_start_only(h: Harness, people: dict[str, str]) -> None:
    swap_id = _ask(h, people, 2 * HOUR, 3 * HOUR)
    moved = h.org.patch(
        f"/api/schedules/{people['schedule']}/swap-requests/{swap_id}",
        json={"start": (h.clock.now() + 5 * HOUR).isoformat(), "end": (h.clock.now() + 6 * HOUR).isoformat()},
    )
    assert moved.status_code == 200, moved.text
    h.advance(minutes=3 * 60)
    assert "swap_expired" not in [e["type"] for e in _events(h, people, swap_id)]
    h.advance(minutes=2 * 60 + 1)
    assert [e["type"] for e in _events(h, people, swap_id)] == [
        "swap_requested",
        "swap_updated",
        "swap_expired",
    ]
    mine = [job for job in _expiry_jobs(h) if job.payload["swap_request_id"] == swap_id]
    assert sorted(str(job.result) for job in mine) == [
        "expired",
        "window moved; the job for the new start expires it",
    ]
