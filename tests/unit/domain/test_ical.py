"""iCal feeds and imports: a feed reads back to the same shifts; a hand-written .ics becomes the right shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from tocsin.domain.ical import (
    PRODID,
    export_calendar,
    imported_shifts,
    parse_calendar,
    shifts_from_feed,
)
from tocsin.domain.schedule import Layer, Shift, layer_shifts

BERLIN = ZoneInfo("Europe/Berlin")
GENERATED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
USERS = {
    "usr_alice": ("Alice Adams", "alice@example.com"),
    "usr_bob": ("Bob Brown", "bob@example.com"),
    "usr_carol": ("Zoë Ñúñez, on call; with a name long enough to be folded by icalendar", "zoe@example.com"),
}
KEYS = {
    "alice": "usr_alice",
    "alice@example.com": "usr_alice",
    "bob": "usr_bob",
    "bob@example.com": "usr_bob",
    "carol": "usr_carol",
    "carol@example.com": "usr_carol",
    "dave": "usr_dave",
}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def shift(user: str, start: datetime, end: datetime, layer_id: str | None = None) -> Shift:
    return Shift(user, start, end, layer_id, None)


def export(shifts: list[Shift], **kwargs: object) -> bytes:
    args: dict[str, object] = {
        "name": "Payment API primary",
        "shifts": shifts,
        "users": USERS,
        "calendar_id": "sch_1",
        "generated_at": GENERATED,
    }
    args.update(kwargs)
    return export_calendar(**args)  # type: ignore[arg-type]


def ics(*events: str, head: str = "") -> str:
    """A calendar around hand-written VEVENT bodies (one property a line, no BEGIN/END lines needed)."""
    body = "".join(f"BEGIN:VEVENT\n{event.strip()}\nEND:VEVENT\n" for event in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Example//Hand written//EN\n{head}{body}END:VCALENDAR\n"


def run_import(
    text: str | bytes, since: datetime, until: datetime, zone: str = "Europe/Berlin"
) -> tuple[list[Shift], list[str]]:
    return imported_shifts(
        parse_calendar(text), users_by_key=KEYS, since=since, until=until, zone=zone, layer_id="lay_ical"
    )


# --- export ----------------------------------------------------------------------------------------

second_precision_starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(BERLIN)
).map(lambda d: d.replace(microsecond=0).astimezone(UTC))
shifts_strategy = st.lists(
    st.builds(
        lambda user, start, seconds: shift(user, start, start + timedelta(seconds=seconds)),
        st.sampled_from(sorted(USERS) + ["usr_unknown"]),
        second_precision_starts,
        st.integers(1, 40 * 86400),
    ),
    max_size=12,
    unique_by=lambda s: (s.user_id, s.start, s.end),
)


@settings(max_examples=60, deadline=None)
@given(shifts_strategy)
def test_export_parses_back_to_the_same_shifts(shifts: list[Shift]) -> None:
    expected = sorted(shifts, key=lambda s: (s.start, s.end, s.user_id))
    assert shifts_from_feed(export(shifts)) == expected


def test_rotation_across_the_dst_change_round_trips() -> None:
    layer = Layer(
        "lay_1", ("usr_alice", "usr_bob", "usr_carol"), "days", 1, datetime(2025, 3, 28, 9, tzinfo=BERLIN)
    )
    shifts = layer_shifts(layer, "Europe/Berlin", utc(2025, 3, 28, 8), utc(2025, 4, 2, 7))
    # 09:00 on 29 March to 09:00 on 30 March in Berlin is 23 hours: the clocks spring forward.
    assert shifts[1].end - shifts[1].start == timedelta(hours=23)

    parsed = shifts_from_feed(export(shifts))

    assert parsed == [shift(s.user_id, s.start, s.end) for s in shifts]
    assert parsed[1].start == utc(2025, 3, 29, 8) and parsed[1].end == utc(2025, 3, 30, 7)


def test_export_floors_to_whole_seconds() -> None:
    shifts = [shift("usr_alice", utc(2025, 3, 1, 9, 0, 0, 999_999), utc(2025, 3, 2, 9, 0, 1, 500))]
    feed = export(shifts)
    assert b"DTSTART:20250301T090000Z" in feed and b"DTEND:20250302T090001Z" in feed
    assert shifts_from_feed(feed) == [shift("usr_alice", utc(2025, 3, 1, 9), utc(2025, 3, 2, 9, 0, 1))]
    # A shift that is shorter than a second once floored has nothing left to show.
    assert (
        shifts_from_feed(export([shift("usr_bob", utc(2025, 3, 1, 9, 0, 0, 1), utc(2025, 3, 1, 9, 0, 0, 9))]))
        == []
    )


def test_export_is_valid_icalendar_that_calendar_clients_accept() -> None:
    shifts = [
        shift("usr_carol", utc(2025, 3, 1, 9), utc(2025, 3, 8, 9), "lay_1"),
        shift("usr_alice", utc(2025, 3, 8, 9), utc(2025, 3, 15, 9), "lay_1"),
    ]
    feed = export(shifts, name="Payment API, primary; EU")

    assert feed.endswith(b"\r\n") and b"\n" not in feed.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in feed.split(b"\r\n"))
    calendar = Calendar.from_ical(feed)
    assert isinstance(calendar, Calendar)
    assert str(calendar["PRODID"]) == PRODID == "-//Tocsin//On-call//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Payment API, primary; EU"
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    for event in events:
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert prop in event, prop
        assert event.errors == []
        assert event["DTSTAMP"].dt == GENERATED
        assert event["DTSTART"].dt.utcoffset() == timedelta(0)
    first, second = events
    assert str(first["SUMMARY"]) == f"On call: {USERS['usr_carol'][0]}"
    assert str(first["ATTENDEE"]) == "mailto:zoe@example.com"
    assert first["ATTENDEE"].params["CN"] == USERS["usr_carol"][0]
    assert "zoe@example.com" in str(first["DESCRIPTION"])
    assert str(first["X-TOCSIN-USER-ID"]) == "usr_carol"
    assert str(second["SUMMARY"]) == "On call: Alice Adams"


def test_uids_are_stable_between_exports_and_distinct_between_shifts() -> None:
    shifts = [
        shift("usr_alice", utc(2025, 3, 1, 9), utc(2025, 3, 8, 9)),
        shift("usr_bob", utc(2025, 3, 1, 9), utc(2025, 3, 8, 9)),  # same times, another user
        shift("usr_alice", utc(2025, 3, 1, 9), utc(2025, 3, 8, 10)),  # same user and start, another end
        shift("usr_alice", utc(2025, 3, 8, 9), utc(2025, 3, 15, 9)),
    ]

    def uids(feed: bytes) -> dict[tuple[str, datetime, datetime], str]:
        return {
            (str(e["X-TOCSIN-USER-ID"]), e["DTSTART"].dt, e["DTEND"].dt): str(e["UID"])
            for e in Calendar.from_ical(feed).walk("VEVENT")
        }

    first = uids(export(shifts))
    later = uids(export(list(reversed(shifts)), generated_at=GENERATED + timedelta(hours=5)))
    assert first == later
    assert len(set(first.values())) == len(shifts)
    assert all(uid.endswith("@tocsin") for uid in first.values())
    assert set(uids(export(shifts, calendar_id="usr_alice")).values()).isdisjoint(first.values())


def test_per_user_feed_names_each_schedule() -> None:
    same = shift("usr_alice", utc(2025, 3, 1, 9), utc(2025, 3, 2, 9))
    feed = export([same, same], calendar_id="usr_alice", schedule_names=["Payments", "Databases"])
    events = Calendar.from_ical(feed).walk("VEVENT")
    assert sorted(str(e["SUMMARY"]) for e in events) == [
        "On call: Alice Adams (Databases)",
        "On call: Alice Adams (Payments)",
    ]
    assert len({str(e["UID"]) for e in events}) == 2
    with pytest.raises(ValueError, match="one name per shift"):
        export([same], schedule_names=["Payments", "Databases"])


def test_unknown_user_is_shown_by_id_without_attendee() -> None:
    feed = export([shift("usr_gone", utc(2025, 3, 1, 9), utc(2025, 3, 2, 9))])
    (event,) = Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["SUMMARY"]) == "On call: usr_gone"
    assert "ATTENDEE" not in event


def test_export_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="generated_at must be timezone-aware"):
        export([], generated_at=datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="shift start must be timezone-aware"):
        export([shift("usr_alice", datetime(2025, 3, 1), utc(2025, 3, 2))])


def test_a_feed_without_user_ids_is_not_ours() -> None:
    text = ics("UID:x\nSUMMARY:Alice\nDTSTART:20250301T090000Z\nDTEND:20250302T090000Z")
    with pytest.raises(ValueError, match="X-TOCSIN-USER-ID"):
        shifts_from_feed(text)


def test_an_exported_feed_imports_as_a_layer_by_attendee_email() -> None:
    shifts = [
        shift("usr_alice", utc(2025, 3, 1, 9), utc(2025, 3, 8, 9), "lay_ical"),
        shift("usr_bob", utc(2025, 3, 8, 9), utc(2025, 3, 15, 9), "lay_ical"),
        shift("usr_alice", utc(2025, 3, 16, 9), utc(2025, 3, 20, 9), "lay_ical"),
    ]
    assert run_import(export(shifts), utc(2025, 3, 1), utc(2025, 4, 1)) == (shifts, [])


# --- import ----------------------------------------------------------------------------------------

ROTATION = ics(
    # Three people, one week each, every third week: a weekly rotation written by hand.
    """
UID:alice-rotation@example.com
SUMMARY:Alice
DTSTART;TZID=Europe/Berlin:20250303T090000
DTEND;TZID=Europe/Berlin:20250310T090000
RRULE:FREQ=WEEKLY;INTERVAL=3
""",
    # Bob is away the week of 31 March: that instance is excluded and nobody covers it.
    """
UID:bob-rotation@example.com
SUMMARY:Bob
DTSTART;TZID=Europe/Berlin:20250310T090000
DTEND;TZID=Europe/Berlin:20250317T090000
RRULE:FREQ=WEEKLY;INTERVAL=3
EXDATE;TZID=Europe/Berlin:20250331T090000
""",
    """
UID:carol-rotation@example.com
SUMMARY:Carol
DTSTART;TZID=Europe/Berlin:20250317T090000
DTEND;TZID=Europe/Berlin:20250324T090000
RRULE:FREQ=WEEKLY;INTERVAL=3
""",
    # Carol's week of 7 April is given to Bob and starts at noon: an overridden instance.
    """
UID:carol-rotation@example.com
RECURRENCE-ID;TZID=Europe/Berlin:20250407T090000
SUMMARY:BOB
DTSTART;TZID=Europe/Berlin:20250407T120000
DTEND;TZID=Europe/Berlin:20250414T090000
""",
)


def test_weekly_rotation_with_an_exdate_and_an_overridden_instance() -> None:
    since, until = datetime(2025, 3, 3, 9, tzinfo=BERLIN), datetime(2025, 4, 21, 9, tzinfo=BERLIN)

    shifts, unmapped = run_import(ROTATION, since, until)

    assert unmapped == []
    assert shifts == [
        shift("usr_alice", utc(2025, 3, 3, 8), utc(2025, 3, 10, 8), "lay_ical"),
        shift("usr_bob", utc(2025, 3, 10, 8), utc(2025, 3, 17, 8), "lay_ical"),
        shift("usr_carol", utc(2025, 3, 17, 8), utc(2025, 3, 24, 8), "lay_ical"),
        # 09:00 CET to 09:00 CEST: the week of the March change is an hour short.
        shift("usr_alice", utc(2025, 3, 24, 8), utc(2025, 3, 31, 7), "lay_ical"),
        # Bob's excluded week and the first three hours of the moved instance are a gap.
        shift("usr_bob", utc(2025, 4, 7, 10), utc(2025, 4, 14, 7), "lay_ical"),
        shift("usr_alice", utc(2025, 4, 14, 7), utc(2025, 4, 21, 7), "lay_ical"),
    ]
    assert shifts[3].end - shifts[3].start == timedelta(hours=167)


def test_import_clips_to_the_window() -> None:
    shifts, _ = run_import(ROTATION, utc(2025, 3, 5), utc(2025, 3, 12))
    assert shifts == [
        shift("usr_alice", utc(2025, 3, 5), utc(2025, 3, 10, 8), "lay_ical"),
        shift("usr_bob", utc(2025, 3, 10, 8), utc(2025, 3, 12), "lay_ical"),
    ]
    assert run_import(ROTATION, utc(2025, 3, 5), utc(2025, 3, 5)) == ([], [])


def test_all_day_event_is_the_whole_local_day() -> None:
    # 30 March 2025 is the spring-forward day in Berlin: 23 hours long.
    text = ics("UID:d@example.com\nSUMMARY:Dave\nDTSTART;VALUE=DATE:20250330\nDTEND;VALUE=DATE:20250331")
    shifts, _ = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1))
    assert shifts == [shift("usr_dave", utc(2025, 3, 29, 23), utc(2025, 3, 30, 22), "lay_ical")]
    # Without DTEND an all-day event lasts one day.
    text = ics("UID:d@example.com\nSUMMARY:Dave\nDTSTART;VALUE=DATE:20250301")
    shifts, _ = run_import(text, utc(2025, 2, 1), utc(2025, 4, 1), zone="America/New_York")
    assert shifts == [shift("usr_dave", utc(2025, 3, 1, 5), utc(2025, 3, 2, 5), "lay_ical")]


def test_floating_times_are_local_to_the_zone() -> None:
    text = ics("UID:f@example.com\nSUMMARY:Alice\nDTSTART:20250305T180000\nDTEND:20250305T220000")
    new_york, _ = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1), zone="America/New_York")
    berlin, _ = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1), zone="Europe/Berlin")
    assert new_york == [shift("usr_alice", utc(2025, 3, 5, 23), utc(2025, 3, 6, 3), "lay_ical")]
    assert berlin == [shift("usr_alice", utc(2025, 3, 5, 17), utc(2025, 3, 5, 21), "lay_ical")]


def test_floating_times_follow_the_calendars_x_wr_timezone() -> None:
    text = ics(
        "UID:f@example.com\nSUMMARY:Alice\nDTSTART:20250305T180000\nDTEND:20250305T220000",
        head="X-WR-TIMEZONE:America/New_York\n",
    )
    shifts, _ = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1), zone="Europe/Berlin")
    assert shifts == [shift("usr_alice", utc(2025, 3, 5, 23), utc(2025, 3, 6, 3), "lay_ical")]


def test_event_across_the_berlin_dst_change() -> None:
    text = ics(
        "UID:w@example.com\nSUMMARY:Carol\n"
        "DTSTART;TZID=Europe/Berlin:20250329T200000\nDTEND;TZID=Europe/Berlin:20250330T080000"
    )
    shifts, _ = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1), zone="America/New_York")
    assert shifts == [shift("usr_carol", utc(2025, 3, 29, 19), utc(2025, 3, 30, 6), "lay_ical")]
    assert shifts[0].end - shifts[0].start == timedelta(hours=11)


def test_unknown_people_are_reported_once_and_sorted() -> None:
    text = ics(
        "UID:m@example.com\nSUMMARY:Mallory\nDTSTART:20250301T090000Z\nDTEND:20250302T090000Z\nRRULE:FREQ=DAILY;COUNT=5",
        "UID:e@example.com\nATTENDEE:mailto:eve@example.com\nDTSTART:20250303T090000Z\nDTEND:20250304T090000Z",
        "UID:n@example.com\nDTSTART:20250303T090000Z\nDTEND:20250304T090000Z",
        "UID:a@example.com\nSUMMARY:  alice \nDTSTART:20250310T090000Z\nDTEND:20250311T090000Z",
        "UID:l@example.com\nSUMMARY:Later\nDTSTART:20250501T090000Z\nDTEND:20250502T090000Z",
    )
    shifts, unmapped = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1))
    assert unmapped == ["(event without a summary)", "Mallory", "eve@example.com"]
    assert shifts == [shift("usr_alice", utc(2025, 3, 10, 9), utc(2025, 3, 11, 9), "lay_ical")]


def test_attendee_email_matches_when_the_summary_does_not() -> None:
    text = ics(
        "UID:p@example.com\nSUMMARY:Primary on-call\nATTENDEE;CN=Nobody:mailto:nobody@example.com\n"
        "ATTENDEE;CN=Alice:MAILTO:Alice@Example.COM\nDTSTART:20250301T090000Z\nDTEND:20250302T090000Z",
        # The summary names a user: it wins over the attendee.
        "UID:q@example.com\nSUMMARY:Bob\nATTENDEE:mailto:alice@example.com\n"
        "DTSTART:20250302T090000Z\nDTEND:20250303T090000Z",
    )
    shifts, unmapped = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1))
    assert unmapped == []
    assert shifts == [
        shift("usr_alice", utc(2025, 3, 1, 9), utc(2025, 3, 2, 9), "lay_ical"),
        shift("usr_bob", utc(2025, 3, 2, 9), utc(2025, 3, 3, 9), "lay_ical"),
    ]


def test_user_keys_are_matched_case_insensitively_on_both_sides() -> None:
    text = ics("UID:x@example.com\nSUMMARY:alice adams\nDTSTART:20250301T090000Z\nDTEND:20250302T090000Z")
    shifts, _ = imported_shifts(
        parse_calendar(text),
        users_by_key={" Alice Adams ": "usr_alice"},
        since=utc(2025, 3, 1),
        until=utc(2025, 4, 1),
        zone="UTC",
        layer_id="lay_x",
    )
    assert [s.user_id for s in shifts] == ["usr_alice"]


def test_overlaps_go_to_the_later_start_and_same_user_runs_merge() -> None:
    text = ics(
        "UID:1@example.com\nSUMMARY:Alice\nDTSTART:20250303T090000Z\nDTEND:20250310T090000Z",
        # A swap dropped onto Alice's week.
        "UID:2@example.com\nSUMMARY:Bob\nDTSTART:20250305T100000Z\nDTEND:20250305T120000Z",
        # Same start as Alice's next week but shorter: it is on top, Alice resumes after it.
        "UID:3@example.com\nSUMMARY:Carol\nDTSTART:20250310T090000Z\nDTEND:20250310T100000Z",
        "UID:4@example.com\nSUMMARY:Alice\nDTSTART:20250310T090000Z\nDTEND:20250311T090000Z",
        # Back to back with the previous one: one shift.
        "UID:5@example.com\nSUMMARY:Alice\nDTSTART:20250311T090000Z\nDTEND:20250312T090000Z",
        "UID:6@example.com\nSUMMARY:Alice\nSTATUS:CANCELLED\nDTSTART:20250320T090000Z\nDTEND:20250321T090000Z",
    )
    shifts, _ = run_import(text, utc(2025, 3, 1), utc(2025, 4, 1))
    assert shifts == [
        shift("usr_alice", utc(2025, 3, 3, 9), utc(2025, 3, 5, 10), "lay_ical"),
        shift("usr_bob", utc(2025, 3, 5, 10), utc(2025, 3, 5, 12), "lay_ical"),
        shift("usr_alice", utc(2025, 3, 5, 12), utc(2025, 3, 10, 9), "lay_ical"),
        shift("usr_carol", utc(2025, 3, 10, 9), utc(2025, 3, 10, 10), "lay_ical"),
        shift("usr_alice", utc(2025, 3, 10, 10), utc(2025, 3, 12, 9), "lay_ical"),
    ]


def test_import_is_deterministic_whatever_the_event_order() -> None:
    events = [
        "UID:1@example.com\nSUMMARY:Alice\nDTSTART:20250303T090000Z\nDTEND:20250304T090000Z",
        "UID:2@example.com\nSUMMARY:Bob\nDTSTART:20250303T090000Z\nDTEND:20250304T090000Z",
        "UID:3@example.com\nSUMMARY:Zed\nDTSTART:20250303T090000Z\nDTEND:20250304T090000Z",
        "UID:4@example.com\nSUMMARY:Yan\nDTSTART:20250303T090000Z\nDTEND:20250304T090000Z",
    ]
    forward = run_import(ics(*events), utc(2025, 3, 1), utc(2025, 4, 1))
    backward = run_import(ics(*reversed(events)), utc(2025, 3, 1), utc(2025, 4, 1))
    assert forward == backward
    # Same start and length: the lower user id is on call.
    assert forward == (
        [shift("usr_alice", utc(2025, 3, 3, 9), utc(2025, 3, 4, 9), "lay_ical")],
        ["Yan", "Zed"],
    )


def test_a_calendar_without_events_and_with_a_bom_is_fine() -> None:
    text = "\ufeff" + ics()
    assert run_import(text.encode(), utc(2025, 3, 1), utc(2025, 4, 1)) == ([], [])


def test_imported_shifts_rejects_a_bad_zone_or_window() -> None:
    calendar = parse_calendar(ROTATION)

    def attempt(since: datetime, until: datetime, zone: str) -> None:
        imported_shifts(calendar, users_by_key=KEYS, since=since, until=until, zone=zone, layer_id="lay_x")

    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        attempt(utc(2025, 3, 1), utc(2025, 4, 1), "Mars/Olympus")
    with pytest.raises(ValueError, match="since must be timezone-aware"):
        attempt(datetime(2025, 3, 1), utc(2025, 4, 1), "UTC")
    with pytest.raises(ValueError, match="is before since"):
        attempt(utc(2025, 4, 1), utc(2025, 3, 1), "UTC")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "the calendar is empty"),
        ("   \n", "the calendar is empty"),
        ("garbage that is not a calendar", "malformed iCalendar"),
        ("<html><body>Not found</body></html>", "malformed iCalendar"),
        (b"BEGIN:VCALENDAR\nX-NAME:caf\xe9\nEND:VCALENDAR\n", "not UTF-8 text"),
        (b"\xff\xfe\x00\x01\x02", "not UTF-8 text"),
        (
            "BEGIN:VEVENT\nUID:x\nDTSTART:20250301T090000Z\nEND:VEVENT\n",
            "expected a VCALENDAR at the top level, found VEVENT",
        ),
        ("BEGIN:VCALENDAR\nVERSION:2.0\n", "malformed iCalendar"),
        (ics("UID:x\nSUMMARY:Alice\nDTEND:20250302T090000Z"), "event 'Alice' has no DTSTART"),
        (ics("UID:x\nSUMMARY:Alice"), "event 'Alice' has no DTSTART"),
        (ics("UID:x\nSUMMARY:Alice\nDTSTART:tomorrow"), "malformed VEVENT DTSTART"),
        (ics("UID:x\nDTSTART:20250301T090000Z\nRRULE:FREQ=FORTNIGHTLY"), "malformed VEVENT RRULE"),
        (ics("UID:x\nDTSTART:20250301T090000Z\nDURATION:a while"), "malformed VEVENT DURATION"),
        (
            ics("UID:x\nSUMMARY:Alice\nDTSTART:20250302T090000Z\nDTEND:20250301T090000Z"),
            "event 'Alice' ends .* before it starts",
        ),
        (
            ics("UID:x\nSUMMARY:Alice\nDTSTART;TZID=Mars/Olympus:20250301T090000"),
            "unknown time zone 'Mars/Olympus'",
        ),
        (ics("UID:x\nSUMMARY:Alice\nDTSTART;TZID=Europe:20250301T090000"), "malformed iCalendar"),
        (
            ics("UID:x\nSUMMARY:Alice\nDTSTART:20250301T090000Z\nDTSTART:20250302T090000Z"),
            "event 'Alice' has more than one DTSTART",
        ),
        (ics("UID:x\nDTSTART:20250301T090000Z\nRRULE:INTERVAL=2"), "recurrences cannot be read"),
        (ics("UID:x\nDTSTART:20250301T090000Z\nRRULE:FREQ=DAILY;COUNT=-1"), "recurrences cannot be read"),
    ],
)
def test_malformed_calendars_are_a_clear_value_error(data: str | bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_calendar(data)


def test_parse_calendar_returns_an_icalendar_calendar() -> None:
    calendar = parse_calendar(ROTATION.encode())
    assert isinstance(calendar, Calendar)
    assert all(isinstance(e, Event) for e in calendar.walk("VEVENT"))
    assert len(calendar.walk("VEVENT")) == 4
