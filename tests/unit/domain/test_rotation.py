"""Rotation math for one layer: turn order, handoffs at local wall-clock time through DST, layer bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tocsin.domain.schedule import Layer, Restriction, RotationUnit, Shift, layer_shifts

BASE = datetime(2024, 1, 1, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC")
USERS = ("ann", "bob", "cy", "dee")
H = timedelta(hours=1)
NY = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")

# (zone, local date of the DST change) in 2024: spring forward and fall back in each zone.
TRANSITIONS = (
    ("America/New_York", date(2024, 3, 10)),
    ("America/New_York", date(2024, 11, 3)),
    ("Europe/Berlin", date(2024, 3, 31)),
    ("Europe/Berlin", date(2024, 10, 27)),
    ("Australia/Lord_Howe", date(2024, 10, 6)),
    ("Australia/Lord_Howe", date(2024, 4, 7)),
)


def minutes_from(anchor: datetime, low_days: int, high_days: int) -> st.SearchStrategy[datetime]:
    """Instants at minute resolution in ``[anchor + low_days, anchor + high_days]``."""
    return st.integers(low_days * 1440, high_days * 1440).map(lambda m: anchor + timedelta(minutes=m))


local_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
restrictions = st.one_of(
    st.builds(Restriction, st.just("daily"), local_times, local_times),
    st.builds(Restriction, st.just("weekly"), local_times, local_times, st.integers(0, 6), st.integers(0, 6)),
)


@dataclass(frozen=True)
class LayerCase:
    zone: str
    layer: Layer
    since: datetime
    until: datetime


@st.composite
def layer_cases(
    draw: st.DrawFn,
    *,
    restricted: bool = True,
    ended: bool = True,
    distinct: bool = False,
    layer_id: str = "L",
    max_window_days: int = 20,
) -> LayerCase:
    """A layer starting up to 60 days before (or 10 after) a window in 2024, in a DST-observing zone."""
    zone = draw(st.sampled_from(ZONES))
    since = draw(minutes_from(BASE, 0, 365))
    until = since + timedelta(minutes=draw(st.integers(0, max_window_days * 1440)))
    return LayerCase(
        zone,
        draw(layers(since, zone, restricted=restricted, ended=ended, distinct=distinct, layer_id=layer_id)),
        since,
        until,
    )


@st.composite
def layers(
    draw: st.DrawFn,
    near: datetime,
    zone: str,
    *,
    restricted: bool = True,
    ended: bool = True,
    distinct: bool = False,
    layer_id: str = "L",
) -> Layer:
    """A layer near ``near``; its start is written in a random zone since only the instant matters."""
    users = tuple(draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=4, unique=distinct)))
    unit: RotationUnit = draw(st.sampled_from(["hours", "days", "weeks"]))
    length = draw(st.integers(1, 36) if unit == "hours" else st.integers(1, 3))
    start = draw(minutes_from(near, -60, 10)).astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))
    end = None
    if ended and draw(st.booleans()):
        end = start + timedelta(minutes=draw(st.integers(1, 60 * 1440)))
    chosen = tuple(draw(st.lists(restrictions, max_size=2))) if restricted else ()
    return Layer(layer_id, users, unit, length, start, end, chosen)


def merge_at(shifts: list[Shift]) -> list[Shift]:
    """Join touching shifts of one user from one source, as ``final_shifts`` does."""
    out: list[Shift] = []
    for s in shifts:
        if (
            out
            and out[-1].end == s.start
            and (out[-1].user_id, out[-1].layer_id, out[-1].override_id)
            == (
                s.user_id,
                s.layer_id,
                s.override_id,
            )
        ):
            out[-1] = Shift(s.user_id, out[-1].start, s.end, s.layer_id, s.override_id)
        else:
            out.append(s)
    return out


def clip(shifts: list[Shift], since: datetime, until: datetime) -> list[Shift]:
    """Shifts cut to ``[since, until)``, dropping the empty ones."""
    out = []
    for s in shifts:
        start, end = max(s.start, since), min(s.end, until)
        if start < end:
            out.append(Shift(s.user_id, start, end, s.layer_id, s.override_id))
    return out


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def wall_exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether a local wall-clock time happens at all (it does not inside a spring-forward gap)."""
    return wall(naive.replace(tzinfo=zone).astimezone(UTC), zone) == naive


def offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    """UTC offset in ``zone`` at an instant, or at a naive local time read with fold=0."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    result = moment.astimezone(UTC).astimezone(zone).utcoffset()
    assert result is not None
    return result


def daily(zone: ZoneInfo, day: date, at: time, users: tuple[str, ...] = ("ann", "bob")) -> Layer:
    """A one-day rotation whose first handoff is ``day`` at ``at`` local time."""
    return Layer("L", users, "days", 1, datetime.combine(day, at, tzinfo=zone))


# --- turn order and tiling ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(layer_cases(restricted=False, ended=False, distinct=True))
def test_gap_free_layer_tiles_the_window_in_turn_order(case: LayerCase) -> None:
    shifts = layer_shifts(case.layer, case.zone, case.since, case.until)
    lo = max(case.since, case.layer.start)
    if lo >= case.until:
        assert shifts == []
        return
    assert shifts[0].start == lo and shifts[-1].end == case.until
    users = case.layer.users
    for before, after in zip(shifts, shifts[1:], strict=False):
        assert before.end == after.start  # no gap, no overlap: every instant has exactly one user
        assert users.index(after.user_id) == (users.index(before.user_id) + 1) % len(users)
    for s in shifts:
        assert s.start < s.end and s.start.tzinfo is UTC and s.end.tzinfo is UTC
        assert (s.layer_id, s.override_id) == ("L", None)
        if case.layer.rotation_unit == "hours" and lo < s.start and s.end < case.until:
            assert s.end - s.start == case.layer.rotation_length * H  # elapsed hours, DST or not


@settings(max_examples=200, deadline=None)
@given(layer_cases())
def test_asking_from_the_middle_matches_walking_from_the_start(case: LayerCase) -> None:
    # From layer.start the code walks turn by turn from turn 0; from `since` it jumps there arithmetically.
    from_start = layer_shifts(case.layer, case.zone, min(case.layer.start, case.since), case.until)
    assert layer_shifts(case.layer, case.zone, case.since, case.until) == clip(
        from_start, case.since, case.until
    )


@settings(max_examples=200, deadline=None)
@given(layer_cases(), st.floats(0, 1))
def test_split_window_joins_back(case: LayerCase, fraction: float) -> None:
    middle = case.since + (case.until - case.since) * fraction
    whole = layer_shifts(case.layer, case.zone, case.since, case.until)
    halves = layer_shifts(case.layer, case.zone, case.since, middle) + layer_shifts(
        case.layer, case.zone, middle, case.until
    )
    assert merge_at(whole) == merge_at(halves)
    for s in whole:  # restrictions clip shifts; they never extend past the layer's bounds
        assert case.layer.start <= s.start and (case.layer.end is None or s.end <= case.layer.end)


@pytest.mark.parametrize(
    ("unit", "length", "at", "expected"),
    [
        # 7-hour turns since 1990-01-01 00:00 UTC: 2024-06-01 is 301,680 h later, turn 43,097 -> users[2].
        ("hours", 7, datetime(2024, 6, 1, tzinfo=UTC), "cy"),
        # Weekly: 2024-06-03 12:00 is day 12,572, week 1,796 -> users[1796 % 3] = users[2].
        ("weeks", 1, datetime(2024, 6, 3, 12, tzinfo=UTC), "cy"),
        # Two-day turns: 2024-06-01 12:00 is day 12,570, turn 6,285 -> users[0].
        ("days", 2, datetime(2024, 6, 1, 12, tzinfo=UTC), "ann"),
    ],
)
def test_turn_far_from_start(unit: RotationUnit, length: int, at: datetime, expected: str) -> None:
    layer = Layer("L", ("ann", "bob", "cy"), unit, length, datetime(1990, 1, 1, tzinfo=UTC))
    [shift] = layer_shifts(layer, "UTC", at, at + timedelta(minutes=1))
    assert shift.user_id == expected


# --- layer bounds ---------------------------------------------------------------------------------


def test_layer_has_no_one_before_start_or_from_end_on() -> None:
    start = datetime(2024, 5, 1, 9, tzinfo=UTC)
    layer = Layer("L", ("ann", "bob"), "days", 1, start, end=start + timedelta(days=1, hours=6))
    shifts = layer_shifts(layer, "UTC", start - timedelta(days=3), start + timedelta(days=3))
    assert [(s.user_id, s.start, s.end) for s in shifts] == [
        ("ann", start, start + timedelta(days=1)),
        ("bob", start + timedelta(days=1), start + timedelta(days=1, hours=6)),
    ]
    assert layer_shifts(layer, "UTC", start - timedelta(days=3), start) == []
    assert layer_shifts(layer, "UTC", layer.end or start, start + timedelta(days=9)) == []


def test_back_to_back_turns_of_one_user_are_one_shift() -> None:
    start = datetime(2024, 5, 6, tzinfo=UTC)
    twice = Layer("L", ("ann", "ann", "bob"), "days", 1, start)
    shifts = layer_shifts(twice, "UTC", start, start + timedelta(days=6))
    assert [(s.user_id, (s.end - s.start).days) for s in shifts] == [
        ("ann", 2),
        ("bob", 1),
        ("ann", 2),
        ("bob", 1),
    ]
    alone = Layer("L", ("ann",), "hours", 1, start - timedelta(days=3000))
    assert layer_shifts(alone, "UTC", start, start + timedelta(days=90)) == [
        Shift("ann", start, start + timedelta(days=90), "L", None)
    ]


def test_restrictions_clip_shifts_without_pausing_the_turn_order() -> None:
    # Daily turns at 00:00, staffed only 09:00-17:00: ann Mon, bob Tue, ann Wed - nights count as turns too.
    layer = Layer(
        "L",
        ("ann", "bob"),
        "days",
        1,
        datetime(2024, 5, 6, tzinfo=UTC),
        restrictions=(Restriction("daily", time(9), time(17)),),
    )
    shifts = layer_shifts(layer, "UTC", datetime(2024, 5, 6, tzinfo=UTC), datetime(2024, 5, 9, tzinfo=UTC))
    assert [(s.user_id, s.start.day, s.start.hour, s.end.hour) for s in shifts] == [
        ("ann", 6, 9, 17),
        ("bob", 7, 9, 17),
        ("ann", 8, 9, 17),
    ]


# --- DST ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone_name", "day", "length"),
    [
        ("America/New_York", date(2024, 3, 9), timedelta(hours=23)),
        ("America/New_York", date(2024, 11, 2), timedelta(hours=25)),
        ("Europe/Berlin", date(2024, 3, 30), timedelta(hours=23)),
        ("Europe/Berlin", date(2024, 10, 26), timedelta(hours=25)),
        ("Australia/Lord_Howe", date(2024, 10, 5), timedelta(hours=23, minutes=30)),
        ("Australia/Lord_Howe", date(2024, 4, 6), timedelta(hours=24, minutes=30)),
    ],
)
def test_daily_handoff_stays_at_nine_local_across_dst(zone_name: str, day: date, length: timedelta) -> None:
    zone = ZoneInfo(zone_name)
    layer = daily(zone, day - timedelta(days=3), time(9))
    since = datetime.combine(day - timedelta(days=2), time(9), tzinfo=zone)
    shifts = layer_shifts(layer, zone_name, since, since + timedelta(days=5))
    assert [s.start.astimezone(zone).time() for s in shifts] == [time(9)] * 5
    assert [s.start.astimezone(zone).date() for s in shifts] == [
        day + timedelta(days=d) for d in range(-2, 3)
    ]
    assert [s.end - s.start for s in shifts[:4]] == [timedelta(hours=24)] * 2 + [length, timedelta(hours=24)]


def test_handoff_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in New York on 2024-03-10: read with fold=0 it is 02:30 EST = 03:30 EDT.
    layer = daily(NY, date(2024, 3, 8), time(2, 30))
    shifts = layer_shifts(layer, "America/New_York", layer.start, layer.start + timedelta(days=4))
    starts = [wall(s.start, NY) for s in shifts]
    assert starts == [
        datetime(2024, 3, 8, 2, 30),
        datetime(2024, 3, 9, 2, 30),
        datetime(2024, 3, 10, 3, 30),
        datetime(2024, 3, 11, 2, 30),
    ]
    assert [s.end - s.start for s in shifts] == [24 * H, 24 * H, 23 * H, 24 * H]


def test_handoff_in_the_repeated_hour_takes_the_first_occurrence() -> None:
    # 01:30 happens twice in New York on 2024-11-03; the handoff is the first (EDT, 05:30 UTC).
    layer = daily(NY, date(2024, 11, 1), time(1, 30))
    shifts = layer_shifts(layer, "America/New_York", layer.start, layer.start + timedelta(days=4))
    assert shifts[2].start == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    assert [s.end - s.start for s in shifts] == [24 * H, 24 * H, 25 * H, 24 * H]


def test_lord_howe_half_hour_gap_and_repeat() -> None:
    # 02:15 is skipped on 2024-10-06 (02:00 -> 02:30): the handoff lands at 02:45 (+11:00).
    spring = daily(LORD_HOWE, date(2024, 10, 5), time(2, 15))
    shifts = layer_shifts(spring, "Australia/Lord_Howe", spring.start, spring.start + timedelta(days=2))
    assert wall(shifts[1].start, LORD_HOWE) == datetime(2024, 10, 6, 2, 45)
    assert shifts[0].end - shifts[0].start == 24 * H
    # 01:45 happens twice on 2024-04-07 (02:00 -> 01:30): the handoff is the first, at +11:00.
    autumn = daily(LORD_HOWE, date(2024, 4, 6), time(1, 45))
    shifts = layer_shifts(autumn, "Australia/Lord_Howe", autumn.start, autumn.start + timedelta(days=2))
    assert shifts[1].start == datetime(2024, 4, 6, 14, 45, tzinfo=UTC)
    assert shifts[1].end - shifts[1].start == timedelta(hours=24, minutes=30)


def test_hours_rotation_counts_elapsed_hours_through_dst() -> None:
    layer = Layer("L", ("ann", "bob"), "hours", 12, datetime(2024, 3, 9, 8, tzinfo=NY))
    shifts = layer_shifts(layer, "America/New_York", layer.start, layer.start.astimezone(UTC) + 48 * H)
    assert all(s.end - s.start == 12 * H for s in shifts)
    assert [wall(s.start, NY).hour for s in shifts] == [8, 20, 9, 21]


def test_start_in_the_repeated_hour_keeps_its_instant() -> None:
    # Start at the second 01:30 (EST) on fall-back day: the first turn begins at start, not an hour earlier.
    start = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NY)
    layer = Layer("L", ("ann", "bob"), "days", 1, start)
    shifts = layer_shifts(layer, "America/New_York", start - timedelta(hours=3), start + timedelta(days=2))
    assert shifts[0].start == start.astimezone(UTC) == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    assert wall(shifts[1].start, NY) == datetime(2024, 11, 4, 1, 30)


@settings(max_examples=200, deadline=None)
@example(TRANSITIONS[0], time(2, 30), ("days", 1), 1)  # skipped hour in New York
@example(TRANSITIONS[1], time(1, 30), ("weeks", 1), 2)  # repeated hour in New York
@example(TRANSITIONS[4], time(2, 15), ("days", 2), 3)  # skipped half hour on Lord Howe
@example(TRANSITIONS[5], time(1, 45), ("days", 1), 1)  # repeated half hour on Lord Howe
@given(
    st.sampled_from(TRANSITIONS),
    local_times,
    st.sampled_from([("days", 1), ("days", 2), ("weeks", 1)]),
    st.integers(1, 3),
)
def test_handoffs_keep_local_wall_clock_time_through_dst(
    transition: tuple[str, date], handoff: time, rotation: tuple[RotationUnit, int], turns_before: int
) -> None:
    zone_name, change_day = transition
    zone = ZoneInfo(zone_name)
    unit, length = rotation
    period = length * (7 if unit == "weeks" else 1)
    first_day = change_day - timedelta(days=period * turns_before)  # a handoff falls on the change day
    layer = Layer("L", ("ann", "bob"), unit, length, datetime.combine(first_day, handoff, tzinfo=zone))
    shifts = layer_shifts(
        layer, zone_name, layer.start, layer.start + timedelta(days=period * (turns_before + 2))
    )
    for k, s in enumerate(shifts):
        naive = datetime.combine(first_day + timedelta(days=period * k), handoff)
        if wall_exists(naive, zone):
            assert wall(s.start, zone) == naive
            # A repeated wall time means its first occurrence.
            assert s.start == naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        else:  # A skipped wall time moves forward by the size of the gap.
            gap = offset(naive + timedelta(hours=12), zone) - offset(naive - timedelta(hours=12), zone)
            assert wall(s.start, zone) == naive + gap
        if (
            k + 1 < len(shifts)
            and wall(shifts[k + 1].start, zone).time() == handoff == wall(s.start, zone).time()
        ):
            offset_change = offset(shifts[k + 1].start, zone) - offset(s.start, zone)
            assert s.end - s.start == timedelta(days=period) - offset_change
            assert s.end - s.start in {timedelta(days=period) + d * H for d in (-1, -0.5, 0, 0.5, 1)}


# --- bad input ------------------------------------------------------------------------------------

AWARE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Layer("L", (), "days", 1, AWARE), "no users"),
        (lambda: Layer("L", ("ann",), "days", 0, AWARE), "rotation_length"),
        (lambda: Layer("L", ("ann",), "months", 1, AWARE), "rotation_unit"),  # type: ignore[arg-type]
        (lambda: Layer("L", ("ann",), "days", 1, datetime(2024, 1, 1)), "timezone-aware"),
        (lambda: Layer("L", ("ann",), "days", 1, AWARE, end=datetime(2024, 2, 1)), "timezone-aware"),
        (lambda: Layer("L", ("ann",), "days", 1, AWARE, end=AWARE), "end .* must be after start"),
        (lambda: Layer("L", ("ann",), "days", 1, AWARE, end=AWARE - H), "end .* must be after start"),
        (
            lambda: layer_shifts(daily(NY, date(2024, 1, 1), time(9)), "Mars/Olympus", AWARE, AWARE),
            "unknown time zone",
        ),
        (
            lambda: layer_shifts(daily(NY, date(2024, 1, 1), time(9)), "UTC", datetime(2024, 1, 1), AWARE),
            "since must be timezone-aware",
        ),
        (
            lambda: layer_shifts(daily(NY, date(2024, 1, 1), time(9)), "UTC", AWARE, AWARE - H),
            "until .* is before since",
        ),
    ],
)
def test_bad_layer_input_is_a_value_error_naming_the_problem(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
