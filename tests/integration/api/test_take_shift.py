"""Taking a shift (spec 002) through HTTP, on an app whose clock the test sets: the default window,
explicit windows, who may take a shift for whom, and the 409 cases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.session import Database

NOW = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # a Monday; Alice's daily turn runs 09:00Z to 09:00Z


@pytest.fixture
def clocked(
    orgs: OrgFactory, app_client: TestClient, database: Database
) -> Iterator[tuple[OrgHandle, FakeClock]]:
    clock = FakeClock(NOW)
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield replace(orgs.new(), client=client), clock


@pytest.fixture
def world(clocked: tuple[OrgHandle, FakeClock]) -> tuple[OrgHandle, dict[str, str], dict[str, Any]]:
    """Alice and Bob rotate daily at 09:00Z; Dave covers 12:00-17:00Z every day on a higher layer."""
    org, _ = clocked
    people = {
        name: org.make_user(name, f"{name.lower()}@example.com") for name in ("Alice", "Bob", "Carol", "Dave")
    }
    layers = [
        {"name": "Base", "users": [people["Alice"], people["Bob"]], "rotation_unit": "days", "rotation_length": 1, "start": "2030-01-07T09:00:00Z"},
        {"name": "Midday", "users": [people["Dave"]], "rotation_unit": "weeks", "rotation_length": 1, "start": "2030-01-07T00:00:00Z",
         "restrictions": [{"kind": "daily", "start": "12:00", "end": "17:00"}]},
    ]  # fmt: skip
    response = org.post("/api/schedules", json={"name": "Primary", "time_zone": "UTC", "layers": layers})
    assert response.status_code == 201, response.text
    return org, people, response.json()["data"]


def _take(org: OrgHandle, schedule: dict[str, Any], key: str | None = None, **body: Any) -> Any:
    return org.post(f"/api/schedules/{schedule['id']}/take-shift", json=body, key=key)


def _on_call(org: OrgHandle, schedule: dict[str, Any], at: str | None = None) -> list[tuple[str, str, str]]:
    params = {"at": at} if at else {}
    entries = org.get(f"/api/schedules/{schedule['id']}/on-call", params=params).json()["data"]
    return [(e["user"]["name"], e["start"], e["end"]) for e in entries]


def _admin_key_id(org: OrgHandle) -> str:
    return str(next(k["id"] for k in org.get("/api/keys").json()["data"] if k["name"] == "admin"))


def test_take_whoever_is_on_call_until_their_shift_ends(
    world: tuple[OrgHandle, dict[str, str], dict[str, Any]],
) -> None:
    org, people, schedule = world
    assert _on_call(org, schedule) == [("Alice", "2030-01-07T09:00:00Z", "2030-01-07T12:00:00Z")]
    response = _take(org, schedule, user_id=people["Carol"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"data"} and set(body["data"]) == {"override", "on_call"}
    override = body["data"]["override"]
    assert override["id"].startswith("ovr_")
    assert {k: v for k, v in override.items() if k not in ("id", "created_at")} == {
        "schedule_id": schedule["id"],
        "user": {"id": people["Carol"], "name": "Carol", "email": "carol@example.com"},
        "start": "2030-01-07T10:00:00Z",
        "end": "2030-01-07T12:00:00Z",  # Alice's final shift ends when Dave's layer starts
        "created_by": {"type": "api_key", "id": _admin_key_id(org), "name": "admin"},
        "livemode": True,
    }
    assert body["data"]["on_call"] == [
        {
            "user": {"id": people["Carol"], "name": "Carol", "email": "carol@example.com"},
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-07T12:00:00Z",
            "layer": None,
            "override": {"id": override["id"]},
        }
    ]
    assert _on_call(org, schedule) == [("Carol", "2030-01-07T10:00:00Z", "2030-01-07T12:00:00Z")]
    assert _on_call(org, schedule, "2030-01-07T09:30:00Z") == [
        ("Alice", "2030-01-07T09:00:00Z", "2030-01-07T10:00:00Z")
    ]
    assert _on_call(org, schedule, "2030-01-07T12:00:00Z") == [
        ("Dave", "2030-01-07T12:00:00Z", "2030-01-07T17:00:00Z")
    ]
    assert [o["id"] for o in org.get(f"/api/schedules/{schedule['id']}/overrides").json()["data"]] == [
        override["id"]
    ]


def test_take_from_a_named_user(
    world: tuple[OrgHandle, dict[str, str], dict[str, Any]], clocked: tuple[OrgHandle, FakeClock]
) -> None:
    org, people, schedule = world
    _, clock = clocked
    clock.set(datetime(2030, 1, 7, 13, 0, tzinfo=UTC))
    # Dave is on call now: taking from him lasts until his 17:00 end.
    response = _take(org, schedule, user_id=people["Carol"], from_user_id=people["Dave"])
    assert response.status_code == 201, response.text
    override = response.json()["data"]["override"]
    assert (override["start"], override["end"]) == ("2030-01-07T13:00:00Z", "2030-01-07T17:00:00Z")
    # Alice is in her layer's turn but not on call now (Dave's layer, then Carol, cover her): 409.
    error = _error(_take(org, schedule, user_id=people["Bob"], from_user_id=people["Alice"]), 409, "CONFLICT")
    assert error["details"] == {"field": "from_user_id", "reason": "not_on_call"}
    error = _error(_take(org, schedule, user_id=people["Bob"], from_user_id=people["Dave"]), 409, "CONFLICT")
    assert error["details"]["reason"] == "not_on_call"
    # Carol is on call now; Bob takes it from her until her override ends.
    taken = _take(org, schedule, user_id=people["Bob"], from_user_id=people["Carol"])
    assert taken.status_code == 201, taken.text
    assert [(e["user"]["name"], e["end"]) for e in taken.json()["data"]["on_call"]] == [
        ("Bob", "2030-01-07T17:00:00Z")
    ]
    assert _on_call(org, schedule, "2030-01-07T17:00:00Z") == [
        ("Alice", "2030-01-07T17:00:00Z", "2030-01-08T09:00:00Z")
    ]


def test_explicit_windows(world: tuple[OrgHandle, dict[str, str], dict[str, Any]]) -> None:
    org, people, schedule = world
    response = _take(
        org, schedule, user_id=people["Carol"], start="2030-01-09T01:00:00+01:00", end="2030-01-09T06:00:00Z"
    )
    assert response.status_code == 201, response.text
    override = response.json()["data"]["override"]
    assert (override["start"], override["end"]) == ("2030-01-09T00:00:00Z", "2030-01-09T06:00:00Z")
    assert [(e["user"]["name"], e["start"], e["end"]) for e in response.json()["data"]["on_call"]] == [
        ("Carol", "2030-01-09T00:00:00Z", "2030-01-09T06:00:00Z")
    ]
    # A start alone: until the end of the shift being taken at that start (Bob's, on the 8th).
    response = _take(org, schedule, user_id=people["Carol"], start="2030-01-08T18:00:00Z")
    assert response.status_code == 201, response.text
    override = response.json()["data"]["override"]
    assert (override["start"], override["end"]) == ("2030-01-08T18:00:00Z", "2030-01-09T00:00:00Z")
    # An end alone: from now.
    response = _take(org, schedule, user_id=people["Bob"], end="2030-01-07T11:00:00Z")
    assert response.status_code == 201, response.text
    override = response.json()["data"]["override"]
    assert (override["start"], override["end"]) == ("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z")
    assert _on_call(org, schedule) == [("Bob", "2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z")]


def test_nobody_on_call_needs_an_end(clocked: tuple[OrgHandle, FakeClock]) -> None:
    org, _ = clocked
    carol = org.make_user("Carol")
    dave = org.make_user("Dave")
    layers = [{"users": [dave], "rotation_unit": "days", "rotation_length": 1, "start": "2030-01-07T00:00:00Z",
               "restrictions": [{"kind": "daily", "start": "12:00", "end": "17:00"}]}]  # fmt: skip
    schedule = org.post(
        "/api/schedules", json={"name": "Gappy", "time_zone": "UTC", "layers": layers}
    ).json()["data"]
    error = _error(_take(org, schedule, user_id=carol), 409, "CONFLICT")
    assert error["details"] == {"field": "end", "reason": "nobody_on_call"}
    empty = org.post("/api/schedules", json={"name": "Empty", "time_zone": "UTC"}).json()["data"]
    _error(_take(org, empty, user_id=carol), 409, "CONFLICT")
    response = _take(org, schedule, user_id=carol, end="2030-01-07T12:00:00Z")
    assert response.status_code == 201, response.text
    assert _on_call(org, schedule) == [("Carol", "2030-01-07T10:00:00Z", "2030-01-07T12:00:00Z")]
    assert org.get(f"/api/schedules/{schedule['id']}/overrides").json()["pagination"]["total"] == 1


def test_the_one_on_call_cannot_take_their_own_shift(
    world: tuple[OrgHandle, dict[str, str], dict[str, Any]],
) -> None:
    org, people, schedule = world
    error = _error(_take(org, schedule, user_id=people["Alice"]), 409, "CONFLICT")
    assert error["details"] == {"field": "user_id", "reason": "already_on_call"}
    # With an end it is an extension: Alice stays on through Dave's midday.
    response = _take(org, schedule, user_id=people["Alice"], end="2030-01-07T13:00:00Z")
    assert response.status_code == 201, response.text
    assert _on_call(org, schedule, "2030-01-07T12:30:00Z")[0][0] == "Alice"


def test_who_may_take_a_shift_for_whom(world: tuple[OrgHandle, dict[str, str], dict[str, Any]]) -> None:
    org, people, schedule = world
    carol_self_service = org.make_key(
        ["schedules:read", "incidents:write"], user_id=people["Carol"], name="carol"
    )
    error = _error(_take(org, schedule, key=carol_self_service, user_id=people["Bob"]), 403, "FORBIDDEN")
    assert error["details"] == {"required_scope": "schedules:write"}
    service_key = org.make_key(["schedules:read", "incidents:write"], name="bot")
    _error(_take(org, schedule, key=service_key, user_id=people["Carol"]), 403, "FORBIDDEN")
    read_only = org.make_key(["schedules:read"], user_id=people["Carol"])
    _error(_take(org, schedule, key=read_only, user_id=people["Carol"]), 403, "FORBIDDEN")
    no_schedules = org.make_key(["incidents:write"], user_id=people["Carol"])
    error = _error(_take(org, schedule, key=no_schedules, user_id=people["Carol"]), 403, "FORBIDDEN")
    assert error["details"] == {"required_scope": "schedules:read"}
    assert org.get(f"/api/schedules/{schedule['id']}/overrides").json()["data"] == []

    response = _take(
        org, schedule, key=carol_self_service, user_id=people["Carol"], end="2030-01-07T11:00:00Z"
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["override"]["created_by"] == {
        "type": "user",
        "id": people["Carol"],
        "name": "Carol",
    }

    bob_manager = org.make_key(["schedules:write"], user_id=people["Bob"], name="bob")
    response = _take(
        org,
        schedule,
        key=bob_manager,
        user_id=people["Dave"],
        start="2030-01-07T11:00:00Z",
        end="2030-01-07T12:00:00Z",
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["override"]["created_by"] == {
        "type": "user",
        "id": people["Bob"],
        "name": "Bob",
    }
    assert _on_call(org, schedule, "2030-01-07T11:30:00Z")[0][0] == "Dave"


BAD_TAKES: list[tuple[dict[str, Any], str, str]] = [
    ({"user_id": "usr_nope"}, "user_id", "not_found"),
    ({"user_id": "{Carol}", "from_user_id": "usr_nope"}, "from_user_id", "not_found"),
    ({"user_id": "{Carol}", "from_user_id": "{Carol}"}, "from_user_id", "same_user"),
    ({"user_id": "{Carol}", "start": "2030-01-07T11:00:00Z", "end": "2030-01-07T11:00:00Z"}, "end", "before_start"),
    ({"user_id": "{Carol}", "end": "2030-01-07T09:00:00Z"}, "end", "before_start"),
    ({"user_id": "{Carol}", "start": "2030-01-07T11:00:00"}, "start", "timezone"),
    ({"user_id": "{Carol}", "end": "2030-01-07T11:00:00"}, "end", "timezone"),
    ({"user_id": "{Carol}", "end": "later"}, "end", "datetime_from_date_parsing"),
    ({}, "user_id", "required"),
    ({"user_id": "{Carol}", "until": "2030-01-08T00:00:00Z"}, "until", "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field", "reason"), BAD_TAKES)
def test_bad_take_shift_is_400(
    world: tuple[OrgHandle, dict[str, str], dict[str, Any]], body: dict[str, Any], field: str, reason: str
) -> None:
    org, people, schedule = world
    filled = {k: v.format(**people) for k, v in body.items()}
    error = _error(_take(org, schedule, **filled), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}
    assert org.get(f"/api/schedules/{schedule['id']}/overrides").json()["data"] == []


def test_another_orgs_user_or_schedule(
    world: tuple[OrgHandle, dict[str, str], dict[str, Any]], orgs: OrgFactory
) -> None:
    org, people, schedule = world
    theirs = orgs.new()
    stranger = theirs.make_user()
    error = _error(_take(org, schedule, user_id=stranger), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": "user_id", "reason": "not_found"}
    _error(_take(org, {"id": "sch_nope"}, user_id=people["Carol"]), 404, "NOT_FOUND")
    test = org.test_mode()
    _error(
        test.post(f"/api/schedules/{schedule['id']}/take-shift", json={"user_id": people["Carol"]}),
        404,
        "NOT_FOUND",
    )
