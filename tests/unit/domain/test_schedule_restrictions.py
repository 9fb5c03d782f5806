"""Restriction windows: daily and weekly, wrapping past midnight and Sunday, and through DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.unit.domain.test_rotation import ZONES, H, merge_at, minutes_from, offset, restrictions
from tocsin.domain.schedule import Layer, Restriction, layer_shifts

MONDAY = datetime(2024, 5, 6, tzinfo=UTC)


def spans(
    zone: str, restriction: Restriction, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """When a one-user layer limited by ``restriction`` has someone, as (start, end) pairs."""
    layer = Layer("L", ("ann",), "weeks", 1, since - timedelta(days=30), restrictions=(restriction,))
    return [(s.start, s.end) for s in merge_at(layer_shifts(layer, zone, since, until))]


def wall_inside(restriction: Restriction, local: datetime) -> bool:
    """Whether a local wall-clock reading falls in the restriction, ignoring DST: the oracle."""
    if restriction.kind == "daily":
        at, start, end = local.time(), restriction.start, restriction.end
    else:
        assert restriction.start_day is not None and restriction.end_day is not None
        at = (local.weekday(), local.time())  # type: ignore[assignment]
        start, end = (restriction.start_day, restriction.start), (restriction.end_day, restriction.end)  # type: ignore[assignment]
    return start <= at < end if start < end else (at >= start or at < end)


def test_daily_window_wraps_past_midnight() -> None:
    night = Restriction("daily", time(22), time(6))
    assert spans("UTC", night, MONDAY, MONDAY + timedelta(days=2)) == [
        (MONDAY, MONDAY + 6 * H),
        (MONDAY + 22 * H, MONDAY + 30 * H),
        (MONDAY + 46 * H, MONDAY + 48 * H),
    ]


def test_weekly_window_wraps_past_sunday() -> None:
    weekend = Restriction("weekly", time(18), time(9), start_day=4, end_day=0)  # Friday 18:00 -> Monday 09:00
    assert spans("UTC", weekend, MONDAY, MONDAY + timedelta(days=14)) == [
        (MONDAY, MONDAY + 9 * H),
        (MONDAY + timedelta(days=4, hours=18), MONDAY + timedelta(days=7, hours=9)),
        (MONDAY + timedelta(days=11, hours=18), MONDAY + timedelta(days=14)),
    ]


def test_weekly_window_within_the_week() -> None:
    office = Restriction("weekly", time(9), time(17), start_day=0, end_day=4)  # Monday 09:00 -> Friday 17:00
    assert spans("UTC", office, MONDAY, MONDAY + timedelta(days=7)) == [
        (MONDAY + 9 * H, MONDAY + timedelta(days=4, hours=17))
    ]


@pytest.mark.parametrize(
    "always",
    [Restriction("daily", time(8), time(8)), Restriction("weekly", time(8), time(8), start_day=2, end_day=2)],
)
def test_a_window_ending_where_it_starts_covers_everything(always: Restriction) -> None:
    assert spans("Europe/Berlin", always, MONDAY, MONDAY + timedelta(days=20)) == [
        (MONDAY, MONDAY + timedelta(days=20))
    ]


def test_several_restrictions_are_a_union() -> None:
    layer = Layer(
        "L",
        ("ann",),
        "days",
        1,
        MONDAY,
        restrictions=(Restriction("daily", time(9), time(12)), Restriction("daily", time(11), time(13))),
    )
    assert [(s.start, s.end) for s in layer_shifts(layer, "UTC", MONDAY, MONDAY + timedelta(days=1))] == [
        (MONDAY + 9 * H, MONDAY + 13 * H)
    ]


@pytest.mark.parametrize(
    ("zone", "restriction", "day", "expected"),
    [
        # Spring forward in New York: 01:00 EST -> 03:00 EDT is one real hour (hours are UTC on the day).
        ("America/New_York", Restriction("daily", time(1), time(3)), datetime(2024, 3, 10), [(6, 7)]),
        # Fall back in Berlin: 02:00 is read as its first occurrence (CEST), 03:00 is CET: two real hours.
        ("Europe/Berlin", Restriction("daily", time(2), time(3)), datetime(2024, 10, 27), [(0, 2)]),
        # A window entirely inside the skipped hour moves forward with it (02:15 -> 03:15 EDT, 02:45 -> 03:45 EDT).
        (
            "America/New_York",
            Restriction("daily", time(2, 15), time(2, 45)),
            datetime(2024, 3, 10),
            [(7.25, 7.75)],
        ),
        # Start skipped (02:15 -> 03:15 EDT) but end after it (03:10 EDT): the window is empty that day.
        ("America/New_York", Restriction("daily", time(2, 15), time(3, 10)), datetime(2024, 3, 10), []),
        # Lord Howe spring forward by 30 minutes: 22:00 (+10:30) -> 06:00 (+11:00) is 7.5 hours.
        ("Australia/Lord_Howe", Restriction("daily", time(22), time(6)), datetime(2024, 10, 5), [(11.5, 19)]),
    ],
)
def test_windows_through_dst(
    zone: str, restriction: Restriction, day: datetime, expected: list[tuple[float, float]]
) -> None:
    midnight = day.replace(tzinfo=UTC)
    assert spans(zone, restriction, midnight, midnight + 24 * H) == [
        (midnight + timedelta(hours=a), midnight + timedelta(hours=b)) for a, b in expected
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.lists(restrictions, min_size=1, max_size=2),
    minutes_from(datetime(2024, 1, 1, tzinfo=UTC), 0, 365),
)
def test_someone_is_on_call_exactly_inside_the_windows(
    zone_name: str, chosen: list[Restriction], at: datetime
) -> None:
    zone = ZoneInfo(zone_name)
    # Away from DST changes every local time exists once, so the wall-clock reading is the truth.
    assume(offset(at - timedelta(days=8), zone) == offset(at + timedelta(days=2), zone))
    layer = Layer("L", ("ann", "bob"), "hours", 5, at - timedelta(days=40), restrictions=tuple(chosen))
    staffed = layer_shifts(layer, zone_name, at, at + timedelta(minutes=1)) != []
    assert staffed == any(wall_inside(r, at.astimezone(zone)) for r in chosen)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Restriction("weekly", time(9), time(17), start_day=None, end_day=4), "needs start_day"),
        (lambda: Restriction("weekly", time(9), time(17), start_day=0, end_day=None), "needs end_day"),
        (
            lambda: Restriction("weekly", time(9), time(17), start_day=7, end_day=4),
            "start_day must be an int",
        ),
        (lambda: Restriction("weekly", time(9), time(17), start_day=0, end_day=-1), "end_day must be an int"),
        (
            lambda: Restriction("weekly", time(9), time(17), start_day=True, end_day=4),
            "start_day must be an int",
        ),
        (
            lambda: Restriction("daily", time(9), time(17), start_day=1),
            "daily restriction takes no start_day",
        ),
        (lambda: Restriction("hourly", time(9), time(17)), "kind must be"),  # type: ignore[arg-type]
        (lambda: Restriction("daily", time(9, tzinfo=UTC), time(17)), "local time without tzinfo"),
    ],
)
def test_bad_restriction_is_a_value_error_naming_the_problem(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
