"""Splunk On-Call on-call through HTTP: who is on call now, taking on-call now for a policy and
for a team (seen at once here and in the native on-call endpoint), the user and team rotas with
their window parameters, and the 400/404 cases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.compat.splunk_public.conftest import World
from tests.integration.compat.splunk_public.test_auth import expect_error


def _current(world: World) -> list[str]:
    response = world.splunk.get("/api-public/v1/oncall/current")
    assert response.status_code == 200, response.text
    [team] = response.json()["teamsOnCall"]
    assert list(team) == ["team", "onCallNow"] and team["team"] == {"name": "Payments", "slug": "payments"}
    [policy] = team["onCallNow"]
    assert list(policy) == ["escalationPolicy", "users"]
    assert policy["escalationPolicy"] == {"name": "Payments EP", "slug": world.policy["id"]}
    return [user["onCallUser"]["username"] for user in policy["users"]]


def _native_on_call(world: World) -> list[tuple[str, str]]:
    data = world.native("GET", f"/api/schedules/{world.schedule['id']}/on-call")["data"]
    return [(entry["user"]["name"], entry["end"]) for entry in data]


def test_take_on_call_for_a_policy(world: World) -> None:
    assert _current(world) == ["alice"]
    path = f"/api-public/v1/policies/{world.policy['id']}/oncall/user"
    response = world.splunk.patch(path, json={"fromUser": "alice", "toUser": "carol"})
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["result"] and "carol" in response.json()["result"]
    assert _current(world) == ["carol"]
    assert _native_on_call(world) == [("Carol Example", "2030-01-08T09:00:00Z")]
    # Alice is no longer on call: nothing left to take from her.
    again = world.splunk.patch(path, json={"fromUser": "alice", "toUser": "bob"})
    assert "not on call" in expect_error(again, 400)


def test_take_on_call_for_a_team_deprecated_form(world: World) -> None:
    response = world.splunk.patch(
        "/api-public/v1/team/payments/oncall/user", json={"fromUser": "alice", "toUser": "bob"}
    )
    assert response.status_code == 200, response.text
    assert _current(world) == ["bob"]
    assert _native_on_call(world) == [("Bob Example", "2030-01-08T09:00:00Z")]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api-public/v1/policies/ep_unknown/oncall/user", {"fromUser": "alice", "toUser": "bob"}, 404),
        ("/api-public/v1/team/nope/oncall/user", {"fromUser": "alice", "toUser": "bob"}, 404),
        ("POLICY", {"fromUser": "ghost", "toUser": "bob"}, 404),
        ("POLICY", {"fromUser": "alice", "toUser": "ghost"}, 404),
        ("POLICY", {"fromUser": "bob", "toUser": "carol"}, 400),
        ("POLICY", {"fromUser": "alice", "toUser": "alice"}, 400),
        ("POLICY", {"fromUser": "alice"}, 400),
        ("POLICY", {"fromUser": 3, "toUser": "bob"}, 400),
    ],
)
def test_take_on_call_errors_change_nothing(
    world: World, path: str, body: dict[str, Any], status: int
) -> None:
    path = f"/api-public/v1/policies/{world.policy['id']}/oncall/user" if path == "POLICY" else path
    expect_error(world.splunk.patch(path, json=body), status)
    assert _current(world) == ["alice"]


def test_another_orgs_policy_is_404(world: World, orgs: Any) -> None:
    other = orgs.new()
    user = other.make_user("Zed", "zed@example.com")
    policy = other.post(
        "/api/escalation-policies",
        json={"name": "Theirs", "rules": [{"targets": [{"type": "user", "id": user}]}]},
    ).json()["data"]
    body = {"fromUser": "alice", "toUser": "bob"}
    expect_error(world.splunk.patch(f"/api-public/v1/policies/{policy['id']}/oncall/user", json=body), 404)


def test_team_schedule_shape_and_overrides(world: World) -> None:
    world.splunk.patch(
        f"/api-public/v1/policies/{world.policy['id']}/oncall/user",
        json={"fromUser": "alice", "toUser": "carol"},
    )
    response = world.splunk.get("/api-public/v2/team/payments/oncall/schedule", params={"daysForward": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["team", "schedules"]
    [policy] = body["schedules"]
    assert list(policy) == ["policy", "schedule", "overrides"]
    [rotation] = policy["schedule"]
    assert list(rotation) == [
        "onCallType", "onCallUser", "overrideOnCallUser", "rotationName", "shiftName", "shiftRoll", "rolls",
    ]  # fmt: skip
    assert rotation["onCallUser"] == {"username": "alice"}
    assert rotation["overrideOnCallUser"] == {"username": "carol"}
    assert (rotation["rotationName"], rotation["shiftName"]) == ("Payments primary", "Daily")
    assert [(r["onCallUser"]["username"], r["start"], r["isRoll"]) for r in rotation["rolls"]] == [
        ("carol", "2030-01-07T10:00:00Z", False),
        ("bob", "2030-01-08T09:00:00Z", True),
        ("alice", "2030-01-09T09:00:00Z", True),
    ]
    assert list(rotation["rolls"][0]) == ["start", "end", "onCallUser", "isRoll"]
    assert policy["overrides"] == [
        {
            "origOnCallUser": {"username": "alice"},
            "overrideOnCallUser": {"username": "carol"},
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-08T09:00:00Z",
        }
    ]
    stepped = world.splunk.get(
        "/api-public/v2/team/payments/oncall/schedule", params={"daysForward": 2, "step": 1}
    )
    assert len(stepped.json()["schedules"][0]["schedule"][0]["rolls"]) == 2


def test_user_schedule_keeps_only_their_rolls(world: World) -> None:
    response = world.splunk.get(
        "/api-public/v2/user/bob/oncall/schedule", params={"daysForward": 3, "daysSkip": 1}
    )
    assert response.status_code == 200, response.text
    [team] = response.json()["teamSchedules"]
    assert team["team"] == {"name": "Payments", "slug": "payments"}
    rolls = team["schedules"][0]["schedule"][0]["rolls"]
    assert {r["onCallUser"]["username"] for r in rolls} == {"bob"}
    assert rolls[0]["start"] == "2030-01-08T10:00:00Z"  # the window starts a day later
    carol = world.splunk.get("/api-public/v2/user/carol/oncall/schedule")
    assert carol.json() == {"teamSchedules": []}


@pytest.mark.parametrize(
    "params",
    [
        {"daysForward": 31},
        {"daysForward": 0},
        {"daysSkip": 91},
        {"step": 4},
        {"step": -1},
        {"daysForward": "x"},
    ],
)
def test_schedule_window_limits_are_400(world: World, params: dict[str, Any]) -> None:
    expect_error(world.splunk.get("/api-public/v2/team/payments/oncall/schedule", params=params), 400)
    expect_error(world.splunk.get("/api-public/v2/user/alice/oncall/schedule", params=params), 400)


def test_unknown_team_or_user_schedule_is_404(world: World) -> None:
    expect_error(world.splunk.get("/api-public/v2/team/nope/oncall/schedule"), 404)
    expect_error(world.splunk.get("/api-public/v2/user/ghost/oncall/schedule"), 404)
