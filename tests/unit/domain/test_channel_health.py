"""Channel health arithmetic: the 24 h window always covers the last 24 hours and at most one hour
more, "failing" starts exactly at the threshold, and each status wins where it should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.channel_health import (
    CHANNELS,
    canonical,
    hour_of,
    is_failing,
    status_of,
    window_start,
)

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))


@given(instants)
def test_the_window_covers_the_last_day_and_at_most_an_hour_more(now: datetime) -> None:
    start = window_start(now)
    assert start == hour_of(start)  # an hourly count's key
    assert now - timedelta(hours=25) < start <= now - timedelta(hours=24)
    # An attempt made exactly 24 h ago is counted: its hour starts at or after the window's start.
    assert hour_of(now - timedelta(hours=24)) >= start


@given(instants, spans, st.integers(min_value=1, max_value=120))
def test_failing_starts_at_the_threshold(since: datetime, elapsed: timedelta, minutes: int) -> None:
    after = timedelta(minutes=minutes)
    assert is_failing(since, since + elapsed, after) == (elapsed >= after)
    assert not is_failing(None, since + elapsed, after)


@given(st.booleans(), st.booleans())
def test_failing_wins_then_not_configured_then_unused(configured: bool, attempted: bool) -> None:
    assert status_of(configured=configured, attempted=attempted, failing=True) == "failing"
    calm = status_of(configured=configured, attempted=attempted, failing=False)
    expected = "not_configured" if not configured else ("ok" if attempted else "unused")
    assert calm == expected


def test_ntfy_is_the_push_channel_and_known_names_stay() -> None:
    assert canonical("ntfy") == "push"
    assert [canonical(name) for name in CHANNELS] == list(CHANNELS)
