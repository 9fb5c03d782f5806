"""A schedule's week as the page lays it out: each day cut at the viewer's midnights, the spans
and the holes between them covering the whole day, a DST day of 23 hours placed by real time;
and times shown in the viewer's zone with the schedule's on hover."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.services.people.lookup import UserRef
from tocsin.services.schedules.oncall import Named, ShiftEntry
from tocsin.web.routes.schedules import days_of
from tocsin.web.times import when

SCHEDULE = Named("sch_1", "Primary")
LAYER = Named("lyr_1", "Weekdays")


def _entry(name: str, start: datetime, end: datetime, *, override: bool = False) -> ShiftEntry:
    user = UserRef(f"usr_{name}", name, f"{name}@example.com", name)
    return ShiftEntry(SCHEDULE, user, start, end, None if override else LAYER, "ovr_1" if override else None)


def test_a_hole_is_shown_as_nobody_on_call() -> None:
    monday = date(2026, 12, 7)
    shift = _entry("bob", datetime(2026, 12, 7, 6, tzinfo=UTC), datetime(2026, 12, 7, 18, tzinfo=UTC))
    day = days_of([shift], monday, "UTC", [LAYER.id])[0]
    assert [(s.who, s.left, s.width) for s in day.segments] == [
        ("Nobody on call", 0, 25),
        ("bob", 25, 50),
        ("Nobody on call", 75, 25),
    ]
    assert [s.gap for s in day.segments] == [True, False, True]


def test_a_dst_day_lasts_23_hours_in_the_viewers_zone() -> None:
    # Europe/Paris springs forward on 29 March 2026: that Sunday has 23 hours.
    monday = date(2026, 3, 23)
    start = datetime(2026, 3, 28, 23, tzinfo=UTC)  # Sunday 00:00 in Paris
    half = start + timedelta(hours=11.5)
    days = days_of(
        [_entry("ann", start, half), _entry("bob", half, start + timedelta(hours=23), override=True)],
        monday,
        "Europe/Paris",
        [LAYER.id],
    )
    sunday = days[6]
    assert [(s.who, s.width, s.source) for s in sunday.segments] == [
        ("ann", 50, "Weekdays"),
        ("bob", 50, "Override"),
    ]


@given(
    st.lists(
        st.tuples(st.integers(0, 7 * 24 * 4), st.integers(1, 3 * 24 * 4)),
        max_size=6,
    ).map(sorted)
)
def test_every_day_is_covered_exactly_once(spans: list[tuple[int, int]]) -> None:
    monday = date(2026, 12, 7)
    base = datetime(2026, 12, 7, tzinfo=UTC)
    entries, cursor = [], base
    for offset, length in spans:  # final shifts never overlap: each starts after the last ends
        start = max(cursor, base + timedelta(minutes=15 * offset))
        end = start + timedelta(minutes=15 * length)
        entries.append(_entry("x", start, end))
        cursor = end
    for day in days_of(entries, monday, "UTC", [LAYER.id]):
        assert abs(sum(s.width for s in day.segments) - 100) < 0.01
        edges = [(s.start, s.end) for s in day.segments]
        assert all(a[1] == b[0] for a, b in zip(edges, edges[1:], strict=False))


def test_a_time_in_my_zone_with_the_schedules_on_hover() -> None:
    instant = datetime(2026, 12, 8, 17, tzinfo=UTC)
    tag = str(when(instant, "America/New_York", "Europe/Paris"))
    assert tag == (
        '<time datetime="2026-12-08T17:00:00Z" title="Tue 8 Dec 12:00 America/New_York · '
        'Tue 8 Dec 18:00 Europe/Paris (the schedule&#39;s zone)">Tue 8 Dec 12:00</time>'
    )
    assert ">12:00<" in str(when(instant, "America/New_York", day=False))
