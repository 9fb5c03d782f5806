"""iCal layers through HTTP: a stored calendar drives on-call, shifts, gaps and /api/oncalls like a
rotation layer does, uploads replace it, bad calendars are 400s naming the field, and events that
match no user are reported."""

from __future__ import annotations

from typing import Any

from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle

# Alice every other week from Monday 09:00 Berlin, except the week of 4 February; Bob the weeks
# between, with his 28 January week moved to start a day late. Alice is named by email, Bob by name.
FORTNIGHTS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Import//EN
BEGIN:VEVENT
UID:alice-fortnightly@test
DTSTAMP:20291201T000000Z
DTSTART;TZID=Europe/Berlin:20300107T090000
DTEND;TZID=Europe/Berlin:20300114T090000
RRULE:FREQ=WEEKLY;INTERVAL=2
EXDATE;TZID=Europe/Berlin:20300204T090000
SUMMARY:alice@example.com
END:VEVENT
BEGIN:VEVENT
UID:bob-fortnightly@test
DTSTAMP:20291201T000000Z
DTSTART;TZID=Europe/Berlin:20300114T090000
DTEND;TZID=Europe/Berlin:20300121T090000
RRULE:FREQ=WEEKLY;INTERVAL=2
SUMMARY:Bob Jones
END:VEVENT
BEGIN:VEVENT
UID:bob-fortnightly@test
DTSTAMP:20291201T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20300128T090000
DTSTART;TZID=Europe/Berlin:20300129T090000
DTEND;TZID=Europe/Berlin:20300204T090000
SUMMARY:Bob Jones
END:VEVENT
END:VCALENDAR
"""

BOB_WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Import//EN
BEGIN:VEVENT
UID:bob-weekly@test
DTSTAMP:20291201T000000Z
DTSTART:20300101T000000Z
DTEND:20300108T000000Z
RRULE:FREQ=WEEKLY
ATTENDEE;CN=Bob:mailto:BOB@example.com
SUMMARY:Payments primary
END:VEVENT
END:VCALENDAR
"""

# Every day from 2024 on, so the next 30 days (what the read shape looks at) always have some.
STRANGERS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Import//EN
BEGIN:VEVENT
UID:dave@test
DTSTAMP:20240101T000000Z
DTSTART:20240101T000000Z
DTEND:20240101T080000Z
RRULE:FREQ=DAILY
SUMMARY:Dave Unknown
END:VEVENT
BEGIN:VEVENT
UID:erin@test
DTSTAMP:20240101T000000Z
DTSTART:20240101T080000Z
DTEND:20240101T160000Z
RRULE:FREQ=DAILY
ATTENDEE:mailto:erin@elsewhere.example
END:VEVENT
BEGIN:VEVENT
UID:alice@test
DTSTAMP:20240101T000000Z
DTSTART:20240101T160000Z
DTEND:20240102T000000Z
RRULE:FREQ=DAILY
SUMMARY:ALICE SMITH
END:VEVENT
END:VCALENDAR
"""


def _people(org: OrgHandle) -> tuple[str, str, str]:
    return (
        org.make_user("Alice Smith", "alice@example.com"),
        org.make_user("Bob Jones", "bob@example.com"),
        org.make_user("Carol White", "carol@example.com"),
    )


def _create(org: OrgHandle, layers: list[dict[str, Any]], name: str = "Imported") -> dict[str, Any]:
    response = org.post("/api/schedules", json={"name": name, "time_zone": "Europe/Berlin", "layers": layers})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _on_call(org: OrgHandle, schedule_id: str, at: str) -> list[tuple[str, str, str]]:
    response = org.get(f"/api/schedules/{schedule_id}/on-call", params={"at": at})
    assert response.status_code == 200, response.text
    return [(e["user"]["id"], e["start"], e["end"]) for e in response.json()["data"]]


def _carol_below(carol: str) -> dict[str, Any]:
    return {
        "name": "Carol always",
        "users": [carol],
        "rotation_unit": "weeks",
        "rotation_length": 1,
        "start": "2029-01-01T00:00:00Z",
    }


def test_weekly_rrule_layer_drives_on_call(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob, carol = _people(org)
    schedule = _create(
        org, [_carol_below(carol), {"name": "From calendar", "source": "ical", "ical_text": FORTNIGHTS}]
    )
    below, imported = schedule["layers"]
    assert imported["source"] == "ical" and imported["ical_unmapped"] == [] and imported["users"] == []
    assert (imported["rotation_unit"], imported["rotation_length"], imported["start"]) == (None, None, None)
    assert below["source"] == "rotation" and below["ical_unmapped"] is None
    sid = schedule["id"]

    assert _on_call(org, sid, "2030-01-08T12:00:00Z") == [
        (alice, "2030-01-07T08:00:00Z", "2030-01-14T08:00:00Z")
    ]
    assert _on_call(org, sid, "2030-01-15T12:00:00Z") == [
        (bob, "2030-01-14T08:00:00Z", "2030-01-21T08:00:00Z")
    ]
    assert _on_call(org, sid, "2030-01-22T12:00:00Z")[0][0] == alice
    # Bob's moved week starts a day late: the rotation below covers the Monday.
    assert _on_call(org, sid, "2030-01-28T12:00:00Z") == [
        (carol, "2030-01-28T08:00:00Z", "2030-01-29T08:00:00Z")
    ]
    assert _on_call(org, sid, "2030-01-30T12:00:00Z")[0][0] == bob
    # Alice's excluded week falls through to Carol; the fortnight after is Alice's again.
    assert _on_call(org, sid, "2030-02-06T12:00:00Z")[0][0] == carol
    assert _on_call(org, sid, "2030-02-19T12:00:00Z")[0][0] == alice

    layer_shifts = org.get(
        f"/api/schedules/{sid}/shifts",
        params={"since": "2030-01-01T00:00:00Z", "until": "2030-02-11T00:00:00Z", "layer": imported["id"]},
    ).json()["data"]
    assert [(s["user"]["id"], s["start"], s["end"], s["layer"]["name"]) for s in layer_shifts] == [
        (alice, "2030-01-07T08:00:00Z", "2030-01-14T08:00:00Z", "From calendar"),
        (bob, "2030-01-14T08:00:00Z", "2030-01-21T08:00:00Z", "From calendar"),
        (alice, "2030-01-21T08:00:00Z", "2030-01-28T08:00:00Z", "From calendar"),
        (bob, "2030-01-29T08:00:00Z", "2030-02-04T08:00:00Z", "From calendar"),
    ]

    oncalls = org.get("/api/oncalls", params={"at": "2030-01-15T12:00:00Z", "schedule_id": sid}).json()[
        "data"
    ]
    assert [(e["user"]["id"], e["layer"]["id"]) for e in oncalls] == [(bob, imported["id"])]
    # Filtering by user keeps calendar schedules in play: their people are known only from the events.
    by_user = org.get("/api/oncalls", params={"at": "2030-01-15T12:00:00Z", "user_id": bob}).json()["data"]
    assert [(e["schedule"]["id"], e["user"]["id"]) for e in by_user] == [(sid, bob)]

    # An override still beats the calendar, and taking a shift ends with the calendar's shift.
    override = org.post(
        f"/api/schedules/{sid}/overrides",
        json={"user_id": carol, "start": "2030-01-09T00:00:00Z", "end": "2030-01-10T00:00:00Z"},
    )
    assert override.status_code == 201
    assert _on_call(org, sid, "2030-01-09T12:00:00Z")[0][0] == carol
    taken = org.post(
        f"/api/schedules/{sid}/take-shift", json={"user_id": carol, "start": "2030-01-16T00:00:00Z"}
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["data"]["override"]["end"] == "2030-01-21T08:00:00Z"


def test_calendar_only_schedule_has_gaps_where_the_calendar_is_empty(orgs: OrgFactory) -> None:
    org = orgs.new()
    _people(org)
    schedule = _create(org, [{"source": "ical", "ical_text": FORTNIGHTS}])
    assert schedule["layers"][0]["name"] == "Layer 1"
    gaps = org.get(
        f"/api/schedules/{schedule['id']}/gaps",
        params={"since": "2030-01-07T08:00:00Z", "until": "2030-02-18T08:00:00Z"},
    ).json()["data"]
    assert gaps == [
        {"start": "2030-01-28T08:00:00Z", "end": "2030-01-29T08:00:00Z"},
        {"start": "2030-02-04T08:00:00Z", "end": "2030-02-11T08:00:00Z"},
    ]
    assert _on_call(org, schedule["id"], "2030-02-06T12:00:00Z") == []


def test_upload_replaces_the_calendar_and_patch_keeps_it(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob, carol = _people(org)
    schedule = _create(org, [_carol_below(carol), {"name": "Cal", "source": "ical", "ical_text": FORTNIGHTS}])
    sid, layer_id = schedule["id"], schedule["layers"][1]["id"]

    # A PATCH that sends the layer back by id without ical_text keeps its calendar.
    patched = org.patch(
        f"/api/schedules/{sid}",
        json={"layers": [_carol_below(carol), {"id": layer_id, "name": "Renamed", "source": "ical"}]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["layers"][1]["id"] == layer_id
    assert _on_call(org, sid, "2030-01-08T12:00:00Z")[0][0] == alice

    uploaded = org.post(
        f"/api/schedules/{sid}/layers/{layer_id}/ical",
        content=BOB_WEEKLY.encode(),
        headers={"Content-Type": "text/calendar"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["data"]["layers"][1]["name"] == "Renamed"
    # Bob is matched by his attendee email (any case), since the summary names nobody; his weeks
    # run back to back, so his shift reads whole (cut at the 90 days on-call looks ahead).
    assert _on_call(org, sid, "2030-01-08T12:00:00Z") == [
        (bob, "2030-01-01T00:00:00Z", "2030-04-08T12:00:00Z")
    ]

    rotation_layer = patched.json()["data"]["layers"][0]["id"]
    conflict = org.post(f"/api/schedules/{sid}/layers/{rotation_layer}/ical", content=BOB_WEEKLY.encode())
    assert expect_error(conflict, 409, "CONFLICT")["details"]["reason"] == "not_ical"
    expect_error(
        org.post(f"/api/schedules/{sid}/layers/lyr_nope/ical", content=BOB_WEEKLY.encode()), 404, "NOT_FOUND"
    )

    other = orgs.new()
    expect_error(
        other.post(f"/api/schedules/{sid}/layers/{layer_id}/ical", content=BOB_WEEKLY.encode()),
        404,
        "NOT_FOUND",
    )
    reader = org.make_key(["schedules:read"])
    expect_error(
        org.post(f"/api/schedules/{sid}/layers/{layer_id}/ical", content=BOB_WEEKLY.encode(), key=reader),
        403,
        "FORBIDDEN",
    )

    # Turning the calendar layer back into a rotation drops its calendar.
    back = org.patch(
        f"/api/schedules/{sid}",
        json={"layers": [{**_carol_below(carol), "id": layer_id, "users": [alice]}]},
    )
    assert back.status_code == 200, back.text
    (layer,) = back.json()["data"]["layers"]
    assert (layer["id"], layer["source"], layer["ical_unmapped"]) == (layer_id, "rotation", None)


def test_malformed_calendars_are_400s_naming_the_field(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, _, carol = _people(org)
    no_start = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"source": "ical", "ical_text": "this is not a calendar"}, "layers.1.ical_text", "invalid"),
        ({"source": "ical", "ical_text": no_start}, "layers.1.ical_text", "invalid"),
        (
            {"source": "ical", "ical_text": FORTNIGHTS.replace("20300114T090000\nRRULE", "x\nRRULE")},
            "layers.1.ical_text",
            "invalid",
        ),
        ({"source": "ical"}, "layers.1.ical_text", "required"),
        ({"source": "ical", "ical_text": "   "}, "layers.1.ical_text", "required"),
        ({"source": "ical", "ical_text": FORTNIGHTS, "users": [alice]}, "layers.1.users", "not_allowed"),
        (
            {"source": "ical", "ical_text": FORTNIGHTS, "rotation_unit": "days"},
            "layers.1.rotation_unit",
            "not_allowed",
        ),
        ({**_carol_below(carol), "ical_text": FORTNIGHTS}, "layers.1.ical_text", "not_allowed"),
        ({"source": "calendar", "ical_text": FORTNIGHTS}, "layers.1.source", "invalid"),
        ({"name": "no rotation", "users": [alice]}, "layers.1.rotation_unit", "required"),
    ]
    for layer, field, reason in cases:
        response = org.post(
            "/api/schedules", json={"name": "Bad", "time_zone": "UTC", "layers": [_carol_below(carol), layer]}
        )
        error = expect_error(response, 400, "VALIDATION_ERROR")
        assert (error["details"]["field"], error["details"]["reason"]) == (field, reason), (layer, error)
    assert org.get("/api/schedules").json()["pagination"]["total"] == 0

    schedule = _create(org, [{"source": "ical", "ical_text": FORTNIGHTS}])
    layer_id = schedule["layers"][0]["id"]
    for body in (no_start.encode(), b"\xff\xfe not utf-8", b""):
        bad = org.post(
            f"/api/schedules/{schedule['id']}/layers/{layer_id}/ical",
            content=body,
            headers={"Content-Type": "text/calendar"},
        )
        assert expect_error(bad, 400, "VALIDATION_ERROR")["details"]["field"] == "body"
    # The stored calendar is untouched by the failed uploads.
    assert _on_call(org, schedule["id"], "2030-01-08T12:00:00Z")[0][0] == alice


def test_unmapped_event_names_are_reported(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, _, _ = _people(org)
    schedule = _create(org, [{"name": "Strangers", "source": "ical", "ical_text": STRANGERS}])
    (layer,) = schedule["layers"]
    assert layer["ical_unmapped"] == ["Dave Unknown", "erin@elsewhere.example"]
    fetched = org.get(f"/api/schedules/{schedule['id']}").json()["data"]
    assert fetched["layers"][0]["ical_unmapped"] == ["Dave Unknown", "erin@elsewhere.example"]
    listed = org.get("/api/schedules").json()["data"]
    assert listed[0]["layers"][0]["ical_unmapped"] == ["Dave Unknown", "erin@elsewhere.example"]

    # Only the mapped event puts anyone on call (Alice, by name in any case); the rest is a gap.
    shifts = org.get(
        f"/api/schedules/{schedule['id']}/shifts",
        params={"since": "2030-01-01T00:00:00Z", "until": "2030-01-02T00:00:00Z"},
    ).json()["data"]
    assert [(s["user"]["id"], s["start"], s["end"]) for s in shifts] == [
        (alice, "2030-01-01T16:00:00Z", "2030-01-02T00:00:00Z")
    ]

    # Adding the missing person maps their events from then on.
    org.make_user("Dave Unknown", "dave@example.com")
    again = org.get(f"/api/schedules/{schedule['id']}").json()["data"]
    assert again["layers"][0]["ical_unmapped"] == ["erin@elsewhere.example"]


def test_a_name_two_users_share_matches_neither(orgs: OrgFactory) -> None:
    org = orgs.new()
    org.make_user("Alice Smith", "alice@example.com")
    org.make_user("Alice Smith", "alice.two@example.com")
    schedule = _create(org, [{"source": "ical", "ical_text": STRANGERS}])
    assert "ALICE SMITH" in schedule["layers"][0]["ical_unmapped"]
