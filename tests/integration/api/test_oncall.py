"""Who is on call through HTTP: spec 003's on-call endpoint, layer and override precedence, a DST
handoff, shifts and gaps windows, and /api/oncalls across schedules. Fixed instants (``at=``) make
every answer exact."""

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


def _layer(users: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "users": users,
        "rotation_unit": "days",
        "rotation_length": 1,
        "start": "2030-01-07T09:00:00Z",
        **extra,
    }


def _schedule(
    org: OrgHandle, layers: list[dict[str, Any]], name: str = "Primary", zone: str = "UTC"
) -> dict[str, Any]:
    response = org.post("/api/schedules", json={"name": name, "time_zone": zone, "layers": layers})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _on_call(org: OrgHandle, schedule: dict[str, Any], at: str) -> list[dict[str, Any]]:
    response = org.get(f"/api/schedules/{schedule['id']}/on-call", params={"at": at})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    return list(response.json()["data"])


def _who(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["user"]["name"], e["start"], e["end"]) for e in entries]


@pytest.fixture
def team(orgs: OrgFactory) -> tuple[OrgHandle, dict[str, str]]:
    org = orgs.new()
    people = {
        name: org.make_user(name, f"{name.lower()}@example.com")
        for name in ("Alice", "Bob", "Carol", "Dave", "Erin")
    }
    return org, people


def test_on_call_has_the_spec_shape(team: tuple[OrgHandle, dict[str, str]]) -> None:
    org, people = team
    schedule = _schedule(org, [_layer([people["Alice"], people["Bob"], people["Carol"]], name="Daily")])
    layer = schedule["layers"][0]
    assert _on_call(org, schedule, "2030-01-07T10:00:00Z") == [
        {
            "user": {"id": people["Alice"], "name": "Alice", "email": "alice@example.com"},
            "start": "2030-01-07T09:00:00Z",
            "end": "2030-01-08T09:00:00Z",
            "layer": {"id": layer["id"], "name": "Daily"},
            "override": None,
        }
    ]
    # Handoffs are half-open, the rotation wraps, and before the layer starts nobody is on call.
    assert _who(_on_call(org, schedule, "2030-01-08T08:59:59Z")) == [
        ("Alice", "2030-01-07T09:00:00Z", "2030-01-08T09:00:00Z")
    ]
    assert _who(_on_call(org, schedule, "2030-01-08T09:00:00Z")) == [
        ("Bob", "2030-01-08T09:00:00Z", "2030-01-09T09:00:00Z")
    ]
    assert _who(_on_call(org, schedule, "2030-01-10T09:00:00+00:00")) == [
        ("Alice", "2030-01-10T09:00:00Z", "2030-01-11T09:00:00Z")
    ]
    assert _who(_on_call(org, schedule, "2030-01-09T10:00:00+01:00")) == [
        ("Carol", "2030-01-09T09:00:00Z", "2030-01-10T09:00:00Z")
    ]
    assert _on_call(org, schedule, "2030-01-07T08:59:59Z") == []
    empty = _schedule(org, [], name="Empty")
    assert _on_call(org, empty, "2030-01-07T10:00:00Z") == []


def test_higher_layers_and_overrides_win(team: tuple[OrgHandle, dict[str, str]]) -> None:
    org, people = team
    schedule = _schedule(
        org,
        [
            _layer([people["Alice"], people["Bob"]], name="Base"),
            _layer(
                [people["Dave"]],
                name="Business hours",
                restrictions=[{"kind": "daily", "start": "09:00", "end": "17:00"}],
            ),
        ],
    )
    base, hours = schedule["layers"]
    override = org.post(
        f"/api/schedules/{schedule['id']}/overrides",
        json={"user_id": people["Erin"], "start": "2030-01-07T12:00:00Z", "end": "2030-01-07T14:00:00Z"},
    ).json()["data"]

    [at_11] = _on_call(org, schedule, "2030-01-07T11:00:00Z")
    assert (at_11["user"]["name"], at_11["start"], at_11["end"]) == (
        "Dave",
        "2030-01-07T09:00:00Z",
        "2030-01-07T12:00:00Z",
    )
    assert (at_11["layer"], at_11["override"]) == ({"id": hours["id"], "name": "Business hours"}, None)
    [at_13] = _on_call(org, schedule, "2030-01-07T13:00:00Z")
    assert (at_13["user"]["name"], at_13["start"], at_13["end"]) == (
        "Erin",
        "2030-01-07T12:00:00Z",
        "2030-01-07T14:00:00Z",
    )
    assert (at_13["layer"], at_13["override"]) == (None, {"id": override["id"]})
    assert _who(_on_call(org, schedule, "2030-01-07T14:00:00Z")) == [
        ("Dave", "2030-01-07T14:00:00Z", "2030-01-07T17:00:00Z")
    ]
    [at_18] = _on_call(org, schedule, "2030-01-07T18:00:00Z")
    assert (at_18["user"]["name"], at_18["start"], at_18["end"]) == (
        "Alice",
        "2030-01-07T17:00:00Z",
        "2030-01-08T09:00:00Z",
    )
    assert at_18["layer"] == {"id": base["id"], "name": "Base"}

    # A newer overlapping override beats the older one where they overlap.
    newer = org.post(
        f"/api/schedules/{schedule['id']}/overrides",
        json={"user_id": people["Carol"], "start": "2030-01-07T13:30:00Z", "end": "2030-01-07T15:00:00Z"},
    ).json()["data"]
    shifts = org.get(
        f"/api/schedules/{schedule['id']}/shifts",
        params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-08T12:00:00Z"},
    ).json()["data"]
    assert [
        (
            s["user"]["name"],
            s["start"],
            s["end"],
            (s["layer"] or {}).get("name"),
            (s["override"] or {}).get("id"),
        )
        for s in shifts
    ] == [
        ("Dave", "2030-01-07T09:00:00Z", "2030-01-07T12:00:00Z", "Business hours", None),
        ("Erin", "2030-01-07T12:00:00Z", "2030-01-07T13:30:00Z", None, override["id"]),
        ("Carol", "2030-01-07T13:30:00Z", "2030-01-07T15:00:00Z", None, newer["id"]),
        ("Dave", "2030-01-07T15:00:00Z", "2030-01-07T17:00:00Z", "Business hours", None),
        ("Alice", "2030-01-07T17:00:00Z", "2030-01-08T09:00:00Z", "Base", None),
        ("Dave", "2030-01-08T09:00:00Z", "2030-01-08T12:00:00Z", "Business hours", None),
    ]
    # One layer's own shifts, before higher layers and overrides.
    own = org.get(
        f"/api/schedules/{schedule['id']}/shifts",
        params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-09T00:00:00Z", "layer": base["id"]},
    ).json()["data"]
    assert _who(own) == [
        ("Alice", "2030-01-07T09:00:00Z", "2030-01-08T09:00:00Z"),
        ("Bob", "2030-01-08T09:00:00Z", "2030-01-09T00:00:00Z"),
    ]
    assert {s["layer"]["id"] for s in own} == {base["id"]}
    # Deleting the override gives the slot back to the layer.
    assert org.delete(f"/api/schedules/{schedule['id']}/overrides/{override['id']}").status_code == 204
    assert _who(_on_call(org, schedule, "2030-01-07T12:30:00Z")) == [
        ("Dave", "2030-01-07T09:00:00Z", "2030-01-07T13:30:00Z")
    ]


def test_daily_handoff_keeps_local_time_across_berlin_spring_forward(
    team: tuple[OrgHandle, dict[str, str]],
) -> None:
    """Berlin moves from CET (+01) to CEST (+02) on Sunday 2030-03-31: the 09:00 handoff moves
    from 08:00Z to 07:00Z, and the shift that spans the change lasts 23 hours."""
    org, people = team
    schedule = _schedule(
        org,
        [_layer([people["Alice"], people["Bob"], people["Carol"]], start="2030-03-29T09:00:00+01:00")],
        zone="Europe/Berlin",
    )
    assert _who(_on_call(org, schedule, "2030-03-31T06:59:59Z")) == [
        ("Bob", "2030-03-30T08:00:00Z", "2030-03-31T07:00:00Z")
    ]
    assert _who(_on_call(org, schedule, "2030-03-31T09:00:00+02:00")) == [
        ("Carol", "2030-03-31T07:00:00Z", "2030-04-01T07:00:00Z")
    ]
    shifts = org.get(
        f"/api/schedules/{schedule['id']}/shifts",
        params={"since": "2030-03-29T08:00:00Z", "until": "2030-04-02T07:00:00Z"},
    ).json()["data"]
    assert _who(shifts) == [
        ("Alice", "2030-03-29T08:00:00Z", "2030-03-30T08:00:00Z"),
        ("Bob", "2030-03-30T08:00:00Z", "2030-03-31T07:00:00Z"),
        ("Carol", "2030-03-31T07:00:00Z", "2030-04-01T07:00:00Z"),
        ("Alice", "2030-04-01T07:00:00Z", "2030-04-02T07:00:00Z"),
    ]
    # ...and back in autumn (last Sunday of October): 25 hours, 07:00Z to 08:00Z.
    autumn = org.get(
        f"/api/schedules/{schedule['id']}/shifts",
        params={"since": "2030-10-26T07:00:00Z", "until": "2030-10-27T08:00:00Z"},
    ).json()["data"]
    assert [(s["start"], s["end"]) for s in autumn] == [("2030-10-26T07:00:00Z", "2030-10-27T08:00:00Z")]


def test_shifts_and_gaps_windows(team: tuple[OrgHandle, dict[str, str]]) -> None:
    org, people = team
    schedule = _schedule(
        org,
        [
            _layer(
                [people["Alice"]],
                restrictions=[
                    {
                        "kind": "weekly",
                        "start": "09:00",
                        "end": "17:00",
                        "start_day": "monday",
                        "end_day": "monday",
                    }
                ],
            )
        ],
    )
    path = f"/api/schedules/{schedule['id']}"
    gaps = org.get(f"{path}/gaps", params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-15T00:00:00Z"})
    assert gaps.status_code == 200 and set(gaps.json()) == {"data"}
    assert gaps.json()["data"] == [
        {"start": "2030-01-07T00:00:00Z", "end": "2030-01-07T09:00:00Z"},
        {"start": "2030-01-07T17:00:00Z", "end": "2030-01-14T09:00:00Z"},
        {"start": "2030-01-14T17:00:00Z", "end": "2030-01-15T00:00:00Z"},
    ]
    shifts = org.get(
        f"{path}/shifts", params={"since": "2030-01-07T00:00:00Z", "until": "2030-01-15T00:00:00Z"}
    ).json()["data"]
    assert _who(shifts) == [
        ("Alice", "2030-01-07T09:00:00Z", "2030-01-07T17:00:00Z"),
        ("Alice", "2030-01-14T09:00:00Z", "2030-01-14T17:00:00Z"),
    ]
    # Overrides fill gaps; windows are half-open and may use any offset (a "+" sent unescaped too).
    org.post(
        f"{path}/overrides",
        json={"user_id": people["Bob"], "start": "2030-01-07T17:00:00Z", "end": "2030-01-08T00:00:00Z"},
    )
    gaps = org.get(f"{path}/gaps?since=2030-01-07T10:00:00+01:00&until=2030-01-08T02:00:00+01:00").json()[
        "data"
    ]
    assert gaps == [{"start": "2030-01-08T00:00:00Z", "end": "2030-01-08T01:00:00Z"}]
    assert (
        org.get(
            f"{path}/gaps", params={"since": "2030-01-07T09:00:00Z", "until": "2030-01-08T00:00:00Z"}
        ).json()["data"]
        == []
    )
    # Exactly 90 days is allowed.
    assert (
        org.get(
            f"{path}/shifts", params={"since": "2030-01-01T00:00:00Z", "until": "2030-04-01T00:00:00Z"}
        ).status_code
        == 200
    )


BAD_WINDOWS: list[tuple[dict[str, str], str, str]] = [
    ({"until": "2030-01-08T00:00:00Z"}, "since", "required"),
    ({"since": "2030-01-07T00:00:00Z"}, "until", "required"),
    ({"since": "2030-01-07T00:00:00Z", "until": "2030-04-07T00:00:01Z"}, "until", "range"),
    ({"since": "2030-01-07T00:00:00Z", "until": "2030-01-07T00:00:00Z"}, "until", "before_start"),
    ({"since": "2030-01-08T00:00:00Z", "until": "2030-01-07T00:00:00Z"}, "until", "before_start"),
    ({"since": "2030-01-07T00:00:00", "until": "2030-01-08T00:00:00Z"}, "since", "timezone"),
    ({"since": "2030-01-07", "until": "2030-01-08T00:00:00Z"}, "since", "timezone"),
    ({"since": "2030-01-07T00:00:00Z", "until": "tomorrow"}, "until", "invalid"),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ["shifts", "gaps"])
@pytest.mark.parametrize(("params", "field", "reason"), BAD_WINDOWS)
def test_bad_windows_are_400(
    team: tuple[OrgHandle, dict[str, str]], endpoint: str, params: dict[str, str], field: str, reason: str
) -> None:
    org, people = team
    schedule = _schedule(org, [_layer([people["Alice"]])])
    error = _error(
        org.get(f"/api/schedules/{schedule['id']}/{endpoint}", params=params), 400, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": field, "reason": reason}


def test_bad_on_call_queries(team: tuple[OrgHandle, dict[str, str]]) -> None:
    org, people = team
    schedule = _schedule(org, [_layer([people["Alice"]])])
    other = _schedule(org, [_layer([people["Bob"]])], name="Other")
    path = f"/api/schedules/{schedule['id']}"
    for params, field, reason in (
        ({"at": "2030-01-07T10:00:00"}, "at", "timezone"),
        ({"at": "now-ish"}, "at", "invalid"),
        ({"at": "0001-01-01T00:00:00Z"}, "at", "range"),
    ):
        assert _error(org.get(f"{path}/on-call", params=params), 400, "VALIDATION_ERROR")["details"] == {
            "field": field,
            "reason": reason,
        }
        assert _error(org.get("/api/oncalls", params=params), 400, "VALIDATION_ERROR")["details"] == {
            "field": field,
            "reason": reason,
        }
    window = {"since": "2030-01-07T00:00:00Z", "until": "2030-01-08T00:00:00Z"}
    for layer in ("lyr_nope", other["layers"][0]["id"]):
        error = _error(org.get(f"{path}/shifts", params={**window, "layer": layer}), 400, "VALIDATION_ERROR")
        assert error["details"] == {"field": "layer", "reason": "not_found"}
    _error(org.get("/api/schedules/sch_nope/on-call"), 404, "NOT_FOUND")


# --- now, from the app's clock ----------------------------------------------------------------------


@pytest.fixture
def clocked(
    orgs: OrgFactory, app_client: TestClient, database: Database
) -> Iterator[tuple[OrgHandle, FakeClock]]:
    clock = FakeClock(datetime(2030, 1, 7, 10, 0, tzinfo=UTC))
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield replace(orgs.new(), client=client), clock


def test_on_call_defaults_to_now(clocked: tuple[OrgHandle, FakeClock]) -> None:
    org, clock = clocked
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _schedule(org, [_layer([alice, bob])])
    on_call = org.get(f"/api/schedules/{schedule['id']}/on-call").json()["data"]
    assert _who(on_call) == [("Alice", "2030-01-07T09:00:00Z", "2030-01-08T09:00:00Z")]
    clock.set(datetime(2030, 1, 8, 9, 0, tzinfo=UTC))
    assert [e["user"]["id"] for e in org.get(f"/api/schedules/{schedule['id']}/on-call").json()["data"]] == [
        bob
    ]
    assert [e["user"]["id"] for e in org.get("/api/oncalls").json()["data"]] == [bob]


# --- /api/oncalls -----------------------------------------------------------------------------------


def test_oncalls_across_schedules(team: tuple[OrgHandle, dict[str, str]], orgs: OrgFactory) -> None:
    org, people = team
    primary = _schedule(org, [_layer([people["Alice"], people["Bob"]])], name="Payments primary")
    secondary = _schedule(org, [_layer([people["Bob"], people["Alice"]])], name="Payments secondary")
    search = _schedule(
        org,
        [_layer([people["Carol"]], restrictions=[{"kind": "daily", "start": "09:00", "end": "17:00"}])],
        name="Search",
    )
    _schedule(org, [], name="Nobody")
    theirs = orgs.new()
    _schedule(theirs, [_layer([theirs.make_user()])], name="Theirs")
    at = "2030-01-07T10:00:00Z"

    response = org.get("/api/oncalls", params={"at": at})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pagination"] == {"total": 3, "limit": 25, "offset": 0, "has_more": False}
    assert body["data"][0] == {
        "schedule": {"id": primary["id"], "name": "Payments primary"},
        "user": {"id": people["Alice"], "name": "Alice", "email": "alice@example.com"},
        "start": "2030-01-07T09:00:00Z",
        "end": "2030-01-08T09:00:00Z",
        "layer": {"id": primary["layers"][0]["id"], "name": "Layer 1"},
        "override": None,
    }
    rows = [(e["schedule"]["name"], e["user"]["name"], e["end"]) for e in body["data"]]
    assert rows == [
        ("Payments primary", "Alice", "2030-01-08T09:00:00Z"),
        ("Payments secondary", "Bob", "2030-01-08T09:00:00Z"),
        ("Search", "Carol", "2030-01-07T17:00:00Z"),
    ]

    def names(**params: str) -> list[tuple[str, str]]:
        response = org.get("/api/oncalls", params={"at": at, **params})
        assert response.status_code == 200, response.text
        return [(e["schedule"]["name"], e["user"]["name"]) for e in response.json()["data"]]

    assert names(user_id=people["Bob"]) == [("Payments secondary", "Bob")]
    assert names(user_id=f"{people['Bob']},{people['Carol']}") == [
        ("Payments secondary", "Bob"),
        ("Search", "Carol"),
    ]
    assert names(user_id=people["Dave"]) == []
    # Someone in no layer is found through an override (the user filter skips only schedules that
    # name the user nowhere).
    covered = org.post(
        f"/api/schedules/{search['id']}/overrides",
        json={"user_id": people["Dave"], "start": "2030-01-07T09:30:00Z", "end": "2030-01-07T11:00:00Z"},
    )
    assert covered.status_code == 201, covered.text
    assert names(user_id=people["Dave"]) == [("Search", "Dave")]
    assert names(user_id=people["Carol"]) == []
    org.delete(f"/api/schedules/{search['id']}/overrides/{covered.json()['data']['id']}")
    assert names(schedule_id=f"{search['id']}, {primary['id']}") == [
        ("Payments primary", "Alice"),
        ("Search", "Carol"),
    ]
    assert names(schedule_id=secondary["id"], user_id=people["Alice"]) == []
    assert names(at="2030-01-07T18:00:00Z") == [("Payments primary", "Alice"), ("Payments secondary", "Bob")]
    assert names(at="2030-01-08T09:00:00+00:00") == [
        ("Payments primary", "Bob"),
        ("Payments secondary", "Alice"),
        ("Search", "Carol"),
    ]
    page = org.get("/api/oncalls", params={"at": at, "limit": 1, "offset": 1}).json()
    assert [(e["schedule"]["name"]) for e in page["data"]] == ["Payments secondary"]
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 1, "has_more": True}
    for params in ({"limit": 1000}, {"limit": 0}, {"offset": -1}):
        _error(org.get("/api/oncalls", params=params), 400, "VALIDATION_ERROR")
    # Another org's schedule id filters to nothing; test mode sees only test schedules.
    their_id = theirs.get("/api/schedules").json()["data"][0]["id"]
    assert names(schedule_id=their_id) == []
    test = org.test_mode()
    assert test.get("/api/oncalls", params={"at": at}).json()["data"] == []
    sandbox_user = test.make_user("Sandy")
    _schedule(test, [_layer([sandbox_user])], name="Sandbox")
    assert [e["user"]["name"] for e in test.get("/api/oncalls", params={"at": at}).json()["data"]] == [
        "Sandy"
    ]
    assert org.get("/api/oncalls", params={"at": at}).json()["pagination"]["total"] == 3
