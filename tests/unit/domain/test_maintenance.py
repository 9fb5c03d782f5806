from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.maintenance import Window, in_maintenance

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(instants, st.integers(min_value=1, max_value=10_000))
def test_window_is_half_open(start: datetime, minutes: int) -> None:
    window = Window(start, start + timedelta(minutes=minutes))
    assert window.contains(start)
    assert not window.contains(start + timedelta(minutes=minutes))
    assert not window.contains(start - timedelta(microseconds=1))


@given(st.lists(st.tuples(instants, st.integers(1, 600)), max_size=5), instants)
def test_in_maintenance_is_any_window(spans: list[tuple[datetime, int]], at: datetime) -> None:
    windows = [Window(s, s + timedelta(minutes=m)) for s, m in spans]
    assert in_maintenance(windows, at) == any(s <= at < s + timedelta(minutes=m) for s, m in spans)
