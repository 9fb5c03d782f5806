"""Grafana OnCall on-call shifts over Tocsin layers and overrides: each supported type drives the
native on-call answer, reads back in upstream's field order, updates in place and deletes; what
Tocsin cannot represent is a 400 naming the field; other orgs' ids are 404; a read-only key is 403."""

from __future__ import annotations

from typing import Any

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.compat.grafana_oncall.conftest import Grafana

FIELDS = [
    "id",
    "team_id",
    "schedule",
    "name",
    "type",
    "time_zone",
    "level",
    "start",
    "duration",
    "rotation_start",
    "frequency",
    "interval",
    "until",
    "week_start",
    "by_day",
    "by_month",
    "by_monthday",
    "users",
    "rolling_users",
    "start_rotation_from_user_index",
]


def _schedule(g: Grafana, time_zone: str = "UTC") -> str:
    response = g.post("/schedules", json={"type": "web", "name": "Web", "time_zone": time_zone})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _shift(g: Grafana, schedule: str, **fields: Any) -> dict[str, Any]:
    response = g.post("/on_call_shifts", json={"schedule": schedule, "name": "Shift", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert list(body) == FIELDS
    return body


def _on_call(org: OrgHandle, schedule: str, at: str) -> list[str]:
    response = org.get(f"/api/schedules/{schedule}/on-call", params={"at": at})
    assert response.status_code == 200, response.text
    return [entry["user"]["id"] for entry in response.json()["data"]]


def test_rolling_users_rotates_the_whole_period(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _schedule(g)
    body = _shift(
        g,
        schedule,
        type="rolling_users",
        start="2030-01-07T09:00:00",
        duration=86400,
        frequency="daily",
        interval=1,
        rolling_users=[[alice], [bob]],
        start_rotation_from_user_index=1,
    )
    assert body == {
        "id": body["id"],
        "team_id": None,
        "schedule": schedule,
        "name": "Shift",
        "type": "rolling_users",
        "time_zone": "UTC",
        "level": 0,
        "start": "2030-01-07T09:00:00",
        "duration": 86400,
        "rotation_start": "2030-01-07T09:00:00",
        "frequency": "daily",
        "interval": 1,
        "until": None,
        "week_start": "MO",
        "by_day": None,
        "by_month": None,
        "by_monthday": None,
        "users": [],
        "rolling_users": [[bob], [alice]],
        "start_rotation_from_user_index": 0,
    }
    assert body["id"].startswith("lyr_")
    assert g.get(f"/on_call_shifts/{body['id']}/").json() == body
    assert _on_call(org, schedule, "2030-01-07T10:00:00Z") == [bob]
    assert _on_call(org, schedule, "2030-01-08T10:00:00Z") == [alice]
    assert _on_call(org, schedule, "2030-01-09T10:00:00Z") == [bob]
    assert g.get(f"/schedules/{schedule}").json()["shifts"] == [body["id"]]


def test_daily_window_and_until_in_the_schedule_zone(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _schedule(g, "Europe/Berlin")
    body = _shift(
        g,
        schedule,
        type="rolling_users",
        start="2030-01-07T09:00:00",
        duration=8 * 3600,
        frequency="daily",
        rolling_users=[[alice], [bob]],
        until="2030-01-10T00:00:00",
    )
    assert (body["duration"], body["until"], body["time_zone"]) == (
        28800,
        "2030-01-10T00:00:00",
        "Europe/Berlin",
    )
    assert _on_call(org, schedule, "2030-01-07T08:30:00Z") == [alice]  # 09:30 Berlin
    assert _on_call(org, schedule, "2030-01-07T17:30:00Z") == []  # 18:30 Berlin
    assert _on_call(org, schedule, "2030-01-08T15:00:00Z") == [bob]
    assert _on_call(org, schedule, "2030-01-10T10:00:00Z") == []  # after until


def test_weekly_by_day(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _schedule(g)
    body = _shift(
        g,
        schedule,
        type="rolling_users",
        start="2030-01-07T09:00:00",  # a Monday
        duration=8 * 3600,
        frequency="weekly",
        by_day=["MO", "WE"],
        rolling_users=[[alice], [bob]],
    )
    assert (body["by_day"], body["duration"], body["frequency"]) == (["MO", "WE"], 28800, "weekly")
    assert _on_call(org, schedule, "2030-01-07T10:00:00Z") == [alice]
    assert _on_call(org, schedule, "2030-01-08T10:00:00Z") == []
    assert _on_call(org, schedule, "2030-01-09T16:59:00Z") == [alice]
    assert _on_call(org, schedule, "2030-01-09T17:00:00Z") == []
    assert _on_call(org, schedule, "2030-01-14T10:00:00Z") == [bob]


def test_single_event_and_override_and_levels(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice, bob, carol = org.make_user("Alice"), org.make_user("Bob"), org.make_user("Carol")
    schedule = _schedule(g)
    base = _shift(
        g,
        schedule,
        type="rolling_users",
        start="2030-01-07T00:00:00",
        duration=7 * 86400,
        frequency="weekly",
        rolling_users=[[alice]],
    )
    event = _shift(g, schedule, type="single_event", start="2030-01-07T12:00:00", duration=5400, users=[bob])
    assert (event["type"], event["users"], event["duration"], event["level"]) == (
        "single_event",
        [bob],
        5400,
        1,
    )
    assert (event["frequency"], event["rolling_users"], event["until"]) == (None, None, None)
    assert _on_call(org, schedule, "2030-01-07T13:00:00Z") == [bob]
    assert _on_call(org, schedule, "2030-01-07T13:30:00Z") == [alice]
    override = _shift(g, schedule, type="override", start="2030-01-07T12:30:00", duration=600, users=[carol])
    assert override["id"].startswith("ovr_")
    assert (override["type"], override["users"], override["start"], override["duration"]) == (
        "override",
        [carol],
        "2030-01-07T12:30:00",
        600,
    )
    assert _on_call(org, schedule, "2030-01-07T12:35:00Z") == [carol]
    assert g.get(f"/on_call_shifts/{override['id']}").json() == override
    listed = g.get("/on_call_shifts", params={"schedule_id": schedule}).json()
    assert [s["id"] for s in listed["results"]] == [base["id"], event["id"], override["id"]]
    assert g.get(f"/schedules/{schedule}").json()["shifts"] == [base["id"], event["id"], override["id"]]
    assert [s["id"] for s in g.get("/on_call_shifts", params={"name": "Shift"}).json()["results"]] == [
        base["id"],
        event["id"],
    ]

    # Move the override and put the event below the base layer: same ids.
    moved = g.put(f"/on_call_shifts/{override['id']}", json={"start": "2030-01-08T12:30:00", "users": [bob]})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["id"], moved.json()["start"], moved.json()["users"]) == (
        override["id"],
        "2030-01-08T12:30:00",
        [bob],
    )
    assert _on_call(org, schedule, "2030-01-08T12:35:00Z") == [bob]
    lowered = g.put(f"/on_call_shifts/{event['id']}/", json={"level": 0})
    assert lowered.status_code == 200, lowered.text
    assert (lowered.json()["id"], lowered.json()["level"]) == (event["id"], 0)
    assert _on_call(org, schedule, "2030-01-07T13:00:00Z") == [alice]
    renamed = g.put(
        f"/on_call_shifts/{base['id']}", json={"name": "Base", "interval": 2, "duration": 14 * 86400}
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["interval"], renamed.json()["level"]) == ("Base", 2, 1)

    assert g.delete(f"/on_call_shifts/{event['id']}").status_code == 204
    assert g.delete(f"/on_call_shifts/{override['id']}/").status_code == 204
    assert g.get(f"/on_call_shifts/{event['id']}").status_code == 404
    assert g.get(f"/schedules/{schedule}").json()["shifts"] == [base["id"]]


def test_recurrent_event_puts_one_person_on_a_recurrence(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice = org.make_user("Alice")
    schedule = _schedule(g, "Europe/Berlin")
    body = _shift(
        g,
        schedule,
        type="recurrent_event",
        start="2030-01-07T09:00:00",
        duration=8 * 3600,
        frequency="daily",
        by_day=["MO", "TU", "WE", "TH", "FR"],
        users=[alice],
    )
    assert (body["type"], body["users"], body["frequency"], body["by_day"], body["duration"]) == (
        "recurrent_event",
        [alice],
        "daily",
        ["MO", "TU", "WE", "TH", "FR"],
        8 * 3600,
    )
    assert (body["rolling_users"], body["start_rotation_from_user_index"]) == (None, None)
    assert g.get(f"/on_call_shifts/{body['id']}").json() == body
    # 09:00-17:00 Berlin on weekdays (UTC+1 in January); nobody on the weekend.
    assert _on_call(org, schedule, "2030-01-07T08:30:00Z") == [alice]
    assert _on_call(org, schedule, "2030-01-11T15:59:00Z") == [alice]
    assert _on_call(org, schedule, "2030-01-07T16:30:00Z") == []
    assert _on_call(org, schedule, "2030-01-12T10:00:00Z") == []
    weekly = _shift(
        g, schedule, type="recurrent_event", start="2030-01-07T00:00:00", duration=7 * 86400,
        frequency="weekly", users=[alice],
    )  # fmt: skip
    assert (weekly["type"], weekly["frequency"], weekly["interval"]) == ("recurrent_event", "weekly", 1)


def test_unsupported_values_are_400_naming_them(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _schedule(g, "Europe/Berlin")
    rolling = {
        "schedule": schedule,
        "name": "R",
        "type": "rolling_users",
        "start": "2030-01-07T09:00:00",
        "duration": 86400,
        "frequency": "daily",
        "rolling_users": [[alice]],
    }
    single = {k: v for k, v in rolling.items() if k not in ("frequency", "rolling_users")}
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({**rolling, "frequency": "monthly"}, "frequency", "Frequency 'monthly' is not supported by Tocsin"),
        ({**rolling, "rolling_users": [[alice, bob]]}, "rolling_users", None),
        ({**rolling, "rolling_users": [["usr_nobody"]]}, "rolling_users", None),
        ({**rolling, "by_month": [1]}, "by_month", "by_month is not supported by Tocsin"),
        ({**rolling, "duration": 3600, "interval": 2}, "duration", None),
        ({**rolling, "frequency": "weekly", "by_day": ["MO"], "interval": 2}, "interval", None),
        ({**rolling, "duration": 3600, "time_zone": "UTC"}, "time_zone", None),
        ({**rolling, "time_zone": "Mars/Base"}, "time_zone", "Invalid timezone"),
        ({**single, "type": "recurrent_event", "frequency": "daily", "users": [alice, bob]}, "users", None),
        ({**single, "type": "recurrent_event", "frequency": "daily"}, "users", "This field is required."),
        ({**rolling, "rolling_users": [[alice], [bob]], "by_day": ["MO"]}, "by_day", None),
        ({**rolling, "start": "2030-01-07 09:00"}, "start", None),
        ({**rolling, "duration": 0}, "duration", None),
        ({k: v for k, v in rolling.items() if k != "schedule"}, "schedule", "This field is required."),
        ({k: v for k, v in rolling.items() if k != "name"}, "name", "This field is required."),
        ({k: v for k, v in rolling.items() if k != "start"}, "start", "This field is required."),
        ({**single, "type": "single_event", "users": [alice, bob]}, "users", None),
        ({**single, "type": "override", "users": ["usr_nobody"]}, "users", None),
        (
            {**single, "type": "override", "users": [alice], "rolling_users": [[alice]]},
            "rolling_users",
            "rolling_users is not supported on override shifts by Tocsin",
        ),
    ]
    for body, field, message in cases:
        response = g.post("/on_call_shifts", json=body)
        assert response.status_code == 400, (body, response.text)
        assert list(response.json()) == [field], (body, response.text)
        if message is not None:
            assert response.json() == {field: [message]}
    assert g.get("/on_call_shifts").json()["count"] == 0
    assert g.get(f"/schedules/{schedule}").json()["shifts"] == []


def test_other_orgs_ids_and_read_only_keys(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    g, them = Grafana(org), Grafana(other)
    alice = org.make_user("Alice")
    mine = _schedule(g)
    theirs = _schedule(them)
    shift = _shift(
        them,
        theirs,
        type="override",
        start="2030-01-07T09:00:00",
        duration=3600,
        users=[other.make_user("Mallory")],
    )
    not_found = {"detail": "Not found."}
    for response in (
        g.get(f"/on_call_shifts/{shift['id']}"),
        g.get("/on_call_shifts/lyr_unknown"),
        g.put(f"/on_call_shifts/{shift['id']}", json={"duration": 60}),
        g.delete(f"/on_call_shifts/{shift['id']}"),
        g.post(
            "/on_call_shifts",
            json={
                "schedule": theirs,
                "name": "X",
                "type": "override",
                "start": "2030-01-07T09:00:00",
                "duration": 60,
                "users": [alice],
            },
        ),  # fmt: skip
    ):
        assert (response.status_code, response.json()) == (404, not_found)
    assert g.get("/on_call_shifts").json()["count"] == 0
    assert them.get(f"/on_call_shifts/{shift['id']}").status_code == 200
    reader = Grafana(org, org.make_key(["schedules:read"]))
    assert reader.get("/on_call_shifts").status_code == 200
    denied = reader.post(
        "/on_call_shifts",
        json={"schedule": mine, "name": "X", "type": "override", "start": "2030-01-07T09:00:00",
              "duration": 60, "users": [alice]},
    )  # fmt: skip
    assert denied.status_code == 403
    assert g.get("/on_call_shifts").json()["count"] == 0
