"""Final on-call: layer priority, overrides, gaps, and the shift covering an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.test_rotation import BASE, USERS, ZONES, H, layers, merge_at, minutes_from
from tocsin.domain.schedule import (
    ON_CALL_HORIZON,
    Layer,
    Override,
    Restriction,
    Schedule,
    Shift,
    current_shift_end,
    final_shifts,
    gaps,
    layer_shifts,
    on_call_at,
)

US = timedelta(microseconds=1)
MONDAY = datetime(2024, 5, 6, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    schedule: Schedule
    since: datetime
    until: datetime


@st.composite
def cases(draw: st.DrawFn, *, max_layers: int = 3, max_overrides: int = 3, max_window_days: int = 10) -> Case:
    """A schedule of 1-3 random layers and a few overrides around a window in 2024."""
    zone = draw(st.sampled_from(ZONES))
    since = draw(minutes_from(BASE, 0, 365))
    until = since + timedelta(minutes=draw(st.integers(0, max_window_days * 1440)))
    count = draw(st.integers(1, max_layers))
    chosen = tuple(draw(layers(since, zone, layer_id=f"L{i}")) for i in range(count))
    overrides = []
    for i in range(draw(st.integers(0, max_overrides))):
        start = draw(minutes_from(since, -2, max_window_days))
        end = start + timedelta(minutes=draw(st.integers(1, 3 * 1440)))
        overrides.append(Override(f"O{i}", draw(st.sampled_from((*USERS, "zed"))), start, end))
    return Case(Schedule(zone, chosen, tuple(overrides)), since, until)


def expected_at(schedule: Schedule, at: datetime) -> tuple[str, str | None, str | None] | None:
    """Who the priority rule puts on call at ``at``: the last covering override, else the highest staffed layer."""
    for override in reversed(schedule.overrides):
        if override.start <= at < override.end:
            return (override.user_id, None, override.id)
    for layer in reversed(schedule.layers):
        for s in layer_shifts(layer, schedule.time_zone, at, at + US):
            return (s.user_id, layer.id, None)
    return None


def probe_points(case: Case, shifts: list[Shift]) -> set[datetime]:
    """Every instant where the answer could change, and one microsecond either side."""
    edges = {case.since, case.until}
    for s in shifts:
        edges |= {s.start, s.end}
    for layer in case.schedule.layers:
        for s in layer_shifts(layer, case.schedule.time_zone, case.since, case.until):
            edges |= {s.start, s.end}
    for override in case.schedule.overrides:
        edges |= {override.start, override.end}
    return {e + d for e in edges for d in (-US, timedelta(0), US) if case.since <= e + d < case.until}


def covering(shifts: list[Shift], at: datetime) -> list[Shift]:
    return [s for s in shifts if s.start <= at < s.end]


# --- final shifts ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(cases())
def test_final_shifts_follow_the_priority_rule_everywhere(case: Case) -> None:
    shifts = final_shifts(case.schedule, case.since, case.until)
    for s in shifts:
        assert case.since <= s.start < s.end <= case.until
        assert s.start.tzinfo is UTC and s.end.tzinfo is UTC
        assert (s.layer_id is None) != (s.override_id is None)
    for before, after in zip(shifts, shifts[1:], strict=False):
        assert before.end <= after.start  # sorted, no overlap
        if before.end == after.start:  # merged: touching shifts differ in user or source
            assert (before.user_id, before.layer_id, before.override_id) != (
                after.user_id,
                after.layer_id,
                after.override_id,
            )
    for at in probe_points(case, shifts):
        found = [(s.user_id, s.layer_id, s.override_id) for s in covering(shifts, at)]
        expected = expected_at(case.schedule, at)
        assert found == ([] if expected is None else [expected])


@settings(max_examples=200, deadline=None)
@given(cases(), st.floats(0, 1))
def test_final_shifts_split_at_any_instant_join_back(case: Case, fraction: float) -> None:
    middle = case.since + (case.until - case.since) * fraction
    whole = final_shifts(case.schedule, case.since, case.until)
    halves = final_shifts(case.schedule, case.since, middle) + final_shifts(case.schedule, middle, case.until)
    assert whole == merge_at(halves)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_gaps_are_exactly_the_complement_of_final_shifts(case: Case) -> None:
    shifts = final_shifts(case.schedule, case.since, case.until)
    holes = gaps(case.schedule, case.since, case.until)
    pieces = sorted([(s.start, s.end) for s in shifts] + holes)
    cursor = case.since
    for start, end in pieces:
        assert start == cursor and start < end  # together they tile the window, with no overlap
        cursor = end
    assert cursor == case.until
    for (_, end), (start, _) in zip(holes, holes[1:], strict=False):
        assert end < start  # each gap is maximal


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_an_override_cuts_the_rotation_exactly_at_its_bounds(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    since = data.draw(minutes_from(BASE, 0, 365))
    until = since + timedelta(days=10)
    layer = data.draw(layers(since - timedelta(days=10), zone, restricted=False, ended=False))
    start = data.draw(minutes_from(since, 0, 8)) + timedelta(microseconds=data.draw(st.integers(1, 999_999)))
    override = Override("O", "zed", start, start + timedelta(minutes=data.draw(st.integers(1, 1440))))
    shifts = final_shifts(Schedule(zone, (layer,), (override,)), since, until)
    [taken] = [s for s in shifts if s.override_id == "O"]
    assert (taken.user_id, taken.start, taken.end, taken.layer_id) == (
        "zed",
        override.start,
        override.end,
        None,
    )
    before = [s for s in shifts if s.end == override.start]
    after = [s for s in shifts if s.start == override.end]
    assert len(before) == 1 and before[0].layer_id == layer.id
    assert len(after) == 1 and after[0].layer_id == layer.id


def test_a_higher_layer_wins_and_a_restricted_one_lets_the_lower_show_through() -> None:
    base = Layer("base", ("ann", "bob"), "weeks", 1, MONDAY)
    nights = Layer(
        "nights", ("cy",), "days", 1, MONDAY, restrictions=(Restriction("daily", time(22), time(6)),)
    )
    schedule = Schedule("UTC", (base, nights))
    shifts = final_shifts(schedule, MONDAY, MONDAY + timedelta(days=2))
    assert [(s.user_id, s.layer_id, s.start - MONDAY, s.end - MONDAY) for s in shifts] == [
        ("cy", "nights", 0 * H, 6 * H),
        ("ann", "base", 6 * H, 22 * H),
        ("cy", "nights", 22 * H, 30 * H),
        ("ann", "base", 30 * H, 46 * H),
        ("cy", "nights", 46 * H, 48 * H),
    ]
    # Order matters: the same layers the other way round leave the weekly layer on top all the time.
    flipped = final_shifts(Schedule("UTC", (nights, base)), MONDAY, MONDAY + timedelta(days=2))
    assert [(s.user_id, s.start - MONDAY, s.end - MONDAY) for s in flipped] == [("ann", 0 * H, 48 * H)]


def test_overrides_beat_layers_and_a_later_override_beats_an_earlier_one() -> None:
    base = Layer("base", ("ann",), "days", 1, MONDAY)
    first = Override("first", "bob", MONDAY + 2 * H, MONDAY + 6 * H)
    second = Override("second", "cy", MONDAY + 4 * H, MONDAY + 8 * H)
    shifts = final_shifts(Schedule("UTC", (base,), (first, second)), MONDAY, MONDAY + 10 * H)
    assert [(s.user_id, s.start - MONDAY, s.end - MONDAY) for s in shifts] == [
        ("ann", 0 * H, 2 * H),
        ("bob", 2 * H, 4 * H),
        ("cy", 4 * H, 8 * H),
        ("ann", 8 * H, 10 * H),
    ]


def test_an_override_over_nobody_fills_a_gap() -> None:
    office = Layer(
        "office", ("ann",), "days", 1, MONDAY, restrictions=(Restriction("daily", time(9), time(17)),)
    )
    cover = Override("cover", "bob", MONDAY + 20 * H, MONDAY + 26 * H)
    schedule = Schedule("UTC", (office,), (cover,))
    assert gaps(schedule, MONDAY, MONDAY + 36 * H) == [
        (MONDAY, MONDAY + 9 * H),
        (MONDAY + 17 * H, MONDAY + 20 * H),
        (MONDAY + 26 * H, MONDAY + 33 * H),
    ]


def test_empty_window() -> None:
    schedule = Schedule("UTC", (Layer("L", ("ann",), "days", 1, MONDAY),))
    assert final_shifts(schedule, MONDAY, MONDAY) == []
    assert gaps(schedule, MONDAY, MONDAY) == []


# --- on call at an instant ------------------------------------------------------------------------


def test_on_call_at_reports_the_whole_shift() -> None:
    weekly = Layer("L", ("ann", "bob"), "weeks", 1, datetime(2024, 1, 1, 9, tzinfo=UTC))
    schedule = Schedule("UTC", (weekly,))
    at = datetime(2024, 5, 9, 15, tzinfo=UTC)  # Thursday of the week starting Monday 2024-05-06 09:00
    assert on_call_at(schedule, at) == [
        Shift("ann", datetime(2024, 5, 6, 9, tzinfo=UTC), datetime(2024, 5, 13, 9, tzinfo=UTC), "L", None)
    ]
    assert current_shift_end(schedule, at, "ann") == datetime(2024, 5, 13, 9, tzinfo=UTC)
    assert current_shift_end(schedule, at, "bob") is None


def test_on_call_at_is_empty_when_nobody_is() -> None:
    office = Layer(
        "office", ("ann",), "days", 1, MONDAY, restrictions=(Restriction("daily", time(9), time(17)),)
    )
    schedule = Schedule("UTC", (office,))
    assert on_call_at(schedule, MONDAY + 20 * H) == []
    assert current_shift_end(schedule, MONDAY + 20 * H, "ann") is None
    assert on_call_at(schedule, MONDAY - timedelta(days=1)) == []  # before the layer starts


def test_on_call_at_stops_at_the_horizon() -> None:
    # One user forever: the shift never ends, so it is reported cut at the horizon ahead.
    schedule = Schedule("UTC", (Layer("L", ("ann",), "days", 1, MONDAY),))
    at = MONDAY + timedelta(days=10)
    assert on_call_at(schedule, at) == [Shift("ann", MONDAY, at + ON_CALL_HORIZON, "L", None)]
    far = MONDAY + timedelta(days=1000)
    assert on_call_at(schedule, far) == [
        Shift("ann", far - ON_CALL_HORIZON, far + ON_CALL_HORIZON, "L", None)
    ]


def test_taking_a_shift_until_its_default_end() -> None:
    rotation = Layer("L", ("ann", "bob"), "days", 1, datetime(2024, 5, 6, 9, tzinfo=UTC))
    schedule = Schedule("UTC", (rotation,))
    at = datetime(2024, 5, 7, 13, 17, tzinfo=UTC)  # bob's day
    end = current_shift_end(schedule, at, "bob")
    assert end == datetime(2024, 5, 8, 9, tzinfo=UTC)
    taken = Schedule("UTC", (rotation,), (Override("take", "cy", at, end),))
    assert on_call_at(taken, at) == [Shift("cy", at, end, None, "take")]
    assert on_call_at(taken, end)[0].user_id == "ann"
    assert current_shift_end(taken, at, "cy") == end


@settings(max_examples=100, deadline=None)
@given(cases(max_window_days=1), minutes_from(BASE, 0, 365))
def test_on_call_at_matches_final_shifts_over_a_wide_window(case: Case, at: datetime) -> None:
    at = case.since + (at - BASE) % timedelta(days=1)
    wide_since, wide_until = at - timedelta(days=40), at + timedelta(days=40)
    expected = covering(final_shifts(case.schedule, wide_since, wide_until), at)
    found = on_call_at(case.schedule, at)
    if not expected:
        assert found == []
        return
    [wide] = expected
    [shift] = found
    assert shift.start <= wide.start and wide.end <= shift.end
    if wide_since < wide.start and wide.end < wide_until:
        assert shift == wide
    assert current_shift_end(case.schedule, at, shift.user_id) == shift.end


# --- bad input ------------------------------------------------------------------------------------

LAYER = Layer("L", ("ann",), "days", 1, MONDAY)
NAIVE = datetime(2024, 5, 6)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Schedule("Mars/Olympus", (LAYER,)), "unknown time zone 'Mars/Olympus'"),
        (lambda: Schedule("", (LAYER,)), "unknown time zone"),
        (lambda: Schedule("UTC", (LAYER, LAYER)), r"duplicate layer id\(s\) \['L'\]"),
        (
            lambda: Schedule("UTC", (LAYER,), (Override("O", "a", MONDAY, MONDAY + H),) * 2),
            r"duplicate override id\(s\) \['O'\]",
        ),
        (lambda: Override("O", "ann", MONDAY, MONDAY), "override 'O' end .* must be after start"),
        (lambda: Override("O", "ann", MONDAY, MONDAY - H), "override 'O' end .* must be after start"),
        (lambda: Override("O", "ann", NAIVE, MONDAY), "override 'O' start must be timezone-aware"),
        (lambda: Override("O", "ann", MONDAY, NAIVE), "override 'O' end must be timezone-aware"),
        (lambda: final_shifts(Schedule("UTC", (LAYER,)), NAIVE, MONDAY), "since must be timezone-aware"),
        (lambda: final_shifts(Schedule("UTC", (LAYER,)), MONDAY, NAIVE), "until must be timezone-aware"),
        (lambda: final_shifts(Schedule("UTC", (LAYER,)), MONDAY, MONDAY - H), "until .* is before since"),
        (lambda: gaps(Schedule("UTC", (LAYER,)), MONDAY, MONDAY - H), "until .* is before since"),
        (lambda: on_call_at(Schedule("UTC", (LAYER,)), NAIVE), "at must be timezone-aware"),
        (lambda: current_shift_end(Schedule("UTC", (LAYER,)), NAIVE, "ann"), "at must be timezone-aware"),
    ],
)
def test_bad_schedule_input_is_a_value_error_naming_the_problem(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
