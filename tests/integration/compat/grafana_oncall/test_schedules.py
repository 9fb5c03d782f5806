"""Grafana OnCall schedules over Tocsin schedules: ``web`` schedules in upstream's field order, who
is on call now, their layers and overrides as ``shifts``, final shifts clipped to the window with
upstream's errors, the iCal export, and other orgs' ids answering 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.compat.grafana_oncall.conftest import Grafana


def _native(org: OrgHandle, users: list[str], start: str = "2030-01-07T09:00:00Z", **extra: Any) -> str:
    layer = {"users": users, "rotation_unit": "days", "rotation_length": 1, "start": start}
    response = org.post(
        "/api/schedules", json={"name": "Primary", "time_zone": "UTC", "layers": [layer], **extra}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def test_schedules_crud_in_upstream_shape(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    team = org.make_team("Ops")
    created = g.post(
        "/schedules", json={"type": "web", "name": "Web", "time_zone": "Europe/Berlin", "team_id": team}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert list(body) == ["id", "team_id", "name", "time_zone", "slack", "on_call_now", "shifts", "type"]
    assert body == {
        "id": body["id"],
        "team_id": team,
        "name": "Web",
        "time_zone": "Europe/Berlin",
        "slack": {"channel_id": None, "user_group_id": None},
        "on_call_now": [],
        "shifts": [],
        "type": "web",
    }
    assert g.get(f"/schedules/{body['id']}/").json() == body
    updated = g.put(f"/schedules/{body['id']}", json={"name": "Renamed", "time_zone": "UTC", "shifts": []})
    assert updated.status_code == 200 and (updated.json()["name"], updated.json()["time_zone"]) == (
        "Renamed",
        "UTC",
    )
    alice = org.make_user("Alice")
    native = _native(org, [alice], start=(datetime.now(UTC) - timedelta(days=1)).isoformat())
    listed = g.get("/schedules").json()
    assert [s["id"] for s in listed["results"]] == [body["id"], native]
    [shown] = [s for s in listed["results"] if s["id"] == native]
    assert shown["on_call_now"] == [alice] and len(shown["shifts"]) == 1
    assert [s["id"] for s in g.get("/schedules", params={"name": "Primary"}).json()["results"]] == [native]
    assert [s["id"] for s in g.get("/schedules", params={"team_id": team}).json()["results"]] == [body["id"]]
    assert g.delete(f"/schedules/{body['id']}").status_code == 204
    assert g.get(f"/schedules/{body['id']}").status_code == 404


def test_schedule_errors_change_nothing(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    g = Grafana(org)
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"type": "web", "name": "X", "time_zone": "Mars/Base"}, {"time_zone": ["Invalid timezone"]}),
        ({"type": "web", "name": "X"}, {"time_zone": ["This field is required."]}),
        ({"type": "web", "time_zone": "UTC"}, {"name": ["This field is required."]}),
        ({"name": "X", "time_zone": "UTC"}, {"type": ["This field is required."]}),
        (
            {"type": "ical", "name": "X", "ical_url_primary": "https://example.com/x.ics"},
            {"type": ["Schedule type 'ical' is not supported by Tocsin; create a 'web' schedule"]},
        ),
    ]
    for body, error in cases:
        response = g.post("/schedules", json=body)
        assert (response.status_code, response.json()) == (400, error), body
    assert g.get("/schedules").json()["count"] == 0
    mine = g.post("/schedules", json={"type": "web", "name": "Mine", "time_zone": "UTC"}).json()
    assert g.put(f"/schedules/{mine['id']}", json={"time_zone": "Nowhere"}).json() == {
        "time_zone": ["Invalid timezone"]
    }
    assert g.put(f"/schedules/{mine['id']}", json={"shifts": ["lyr_x"]}).status_code == 400
    assert g.get(f"/schedules/{mine['id']}").json() == mine
    theirs = _native(other, [other.make_user("Mallory")])
    for method, path in (
        ("GET", f"/schedules/{theirs}"),
        ("PUT", f"/schedules/{theirs}"),
        ("DELETE", f"/schedules/{theirs}"),
        ("GET", f"/schedules/{theirs}/final_shifts?start_date=2030-01-07&end_date=2030-01-08"),
        ("GET", f"/schedules/{theirs}/export"),
    ):
        response = g.request(method, path, json={"name": "Mine"})
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), (method, path)


def test_final_shifts_are_clipped_paginated_and_checked(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice = org.make_user("Alice", email=f"alice-{org.slug}@example.com")
    bob = org.make_user("Bob", email=f"bob-{org.slug}@example.com")
    schedule = _native(org, [alice, bob])
    response = g.get(
        f"/schedules/{schedule}/final_shifts", params={"start_date": "2030-01-07", "end_date": "2030-01-08"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [
        "count",
        "next",
        "previous",
        "results",
        "page_size",
        "current_page_number",
        "total_pages",
    ]
    assert body["results"] == [
        {
            "user_pk": alice,
            "user_email": f"alice-{org.slug}@example.com",
            "user_username": f"alice-{org.slug}",
            "shift_start": "2030-01-07T09:00:00Z",
            "shift_end": "2030-01-08T09:00:00Z",
        },
        {
            "user_pk": bob,
            "user_email": f"bob-{org.slug}@example.com",
            "user_username": f"bob-{org.slug}",
            "shift_start": "2030-01-08T09:00:00Z",
            "shift_end": "2030-01-09T00:00:00Z",  # clipped to the end of end_date
        },
    ]
    paged = g.get(
        f"/schedules/{schedule}/final_shifts",
        params={"start_date": "2030-01-01T00:00", "end_date": "2030-03-01", "perpage": 10, "page": 2},
    ).json()
    assert (paged["count"], paged["current_page_number"], len(paged["results"])) == (
        54,
        2,
        10,
    )  # Jan 7 .. Mar 1
    errors: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"end_date": "2030-01-08"}, {"start_date": ["This field is required."]}),
        (
            {"start_date": "07/01/2030", "end_date": "2030-01-08"},
            {
                "start_date": [
                    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm, YYYY-MM-DD."
                ]
            },
        ),
        (
            {"start_date": "2030-01-09", "end_date": "2030-01-08"},
            {"non_field_errors": ["start_date must be less than or equal to end_date"]},
        ),
        (
            {"start_date": "2030-01-01", "end_date": "2031-01-02"},
            {
                "non_field_errors": [
                    "The difference between start_date and end_date must be less than one year (365 days)"
                ]
            },
        ),
    ]
    for params, error in errors:
        response = g.get(f"/schedules/{schedule}/final_shifts", params=params)
        assert (response.status_code, response.json()) == (400, error), params


def test_export_is_the_ical_feed(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice")
    schedule = _native(org, [alice], start=(datetime.now(UTC) - timedelta(days=1)).isoformat())
    response = Grafana(org).get(f"/schedules/{schedule}/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.text.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in response.text
