"""Splunk On-Call scheduled overrides through HTTP: an absence made, read, listed and deleted; its
per-policy assignment covered through the native override service (the replacement is on call in
the window) and gone with it; bad inputs refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.compat.splunk_public.conftest import World
from tests.integration.compat.splunk_public.test_auth import expect_error

ABSENCE = {
    "username": "alice",
    "start": "2030-01-09T09:00:00Z",
    "end": "2030-01-10T09:00:00Z",
    "timezone": "UTC",
}


def _on_call_at(world: World, at: str) -> list[str]:
    data = world.native("GET", f"/api/schedules/{world.schedule['id']}/on-call", params={"at": at})["data"]
    return [entry["user"]["name"] for entry in data]


def test_override_lifecycle_with_an_assignment(world: World) -> None:
    splunk = world.splunk
    created = splunk.post("/api-public/v1/overrides", json=ABSENCE)
    assert created.status_code == 200, created.text
    override = created.json()
    assert list(override) == ["publicId", "user", "start", "end", "timezone", "assignments"]
    public_id = override["publicId"]
    assert override["user"] == {"username": "alice", "firstName": "Alice", "lastName": "Example"}
    policy_id = world.policy["id"]
    assignment = {
        "_selfUrl": f"/api-public/v1/overrides/{public_id}/assignments/{policy_id}",
        "assigned": False,
        "team": "payments",
        "user": None,
        "policy": policy_id,
    }
    assert override["assignments"] == [assignment]
    assert _on_call_at(world, "2030-01-09T12:00:00Z") == ["Alice Example"]
    path = f"/api-public/v1/overrides/{public_id}/assignments/{policy_id}"
    put = splunk.put(path, json={"username": "carol"})
    assert put.status_code == 200, put.text
    assert put.json() == {**assignment, "assigned": True, "user": "carol"}
    assert _on_call_at(world, "2030-01-09T12:00:00Z") == ["Carol Example"]
    assert splunk.get(path).json() == put.json()
    assert splunk.get(f"/api-public/v1/overrides/{public_id}/assignments").json() == [put.json()]
    listing = splunk.get("/api-public/v1/overrides").json()
    assert list(listing) == ["_selfUrl", "overrides"] and listing["overrides"][0]["publicId"] == public_id
    assert splunk.get(f"/api-public/v1/overrides/{public_id}").json() == listing["overrides"][0]
    assert splunk.delete(f"/api-public/v1/overrides/{public_id}").status_code == 200
    assert _on_call_at(world, "2030-01-09T12:00:00Z") == ["Alice Example"]
    expect_error(splunk.get(f"/api-public/v1/overrides/{public_id}"), 404)
    expect_error(splunk.delete(f"/api-public/v1/overrides/{public_id}"), 404)


def test_wall_times_are_read_in_the_timezone(world: World) -> None:
    body = {
        **ABSENCE,
        "start": "2030-01-09T10:00:00",
        "end": "2030-01-09T18:00:00",
        "timezone": "Europe/Berlin",
    }
    override = world.splunk.post("/api-public/v1/overrides", json=body).json()
    assert (override["start"], override["end"], override["timezone"]) == (
        "2030-01-09T09:00:00Z",
        "2030-01-09T17:00:00Z",
        "Europe/Berlin",
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**ABSENCE, "username": "ghost"}, 404),
        ({**ABSENCE, "start": "tomorrow"}, 400),
        ({**ABSENCE, "end": "2030-01-08T09:00:00Z"}, 400),
        ({**ABSENCE, "timezone": "Mars/Olympus"}, 400),
        ({k: v for k, v in ABSENCE.items() if k != "end"}, 400),
        ({**ABSENCE, "start": 5}, 400),
    ],
)
def test_bad_overrides_are_refused(world: World, body: dict[str, Any], status: int) -> None:
    expect_error(world.splunk.post("/api-public/v1/overrides", json=body), status)
    assert world.splunk.get("/api-public/v1/overrides").json()["overrides"] == []


def test_bad_assignments_are_refused(world: World) -> None:
    splunk = world.splunk
    public_id = splunk.post("/api-public/v1/overrides", json=ABSENCE).json()["publicId"]
    base = f"/api-public/v1/overrides/{public_id}/assignments"
    expect_error(splunk.put(f"{base}/{world.policy['id']}", json={"username": "ghost"}), 404)
    expect_error(splunk.put(f"{base}/{world.policy['id']}", json={"username": "alice"}), 400)
    expect_error(splunk.put(f"{base}/{world.policy['id']}", json={}), 400)
    expect_error(splunk.put(f"{base}/ep_nope", json={"username": "carol"}), 404)
    expect_error(splunk.get(f"{base}/ep_nope"), 404)
    expect_error(splunk.get("/api-public/v1/overrides/abs_nope/assignments"), 404)
    assert splunk.get(base).json()[0]["assigned"] is False
