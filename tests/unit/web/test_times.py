"""Times as people read them: the viewer's zone (with its abbreviation, so "01:00" is never
ambiguous), the exact instant on hover, and ages that only grow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.web.times import age, exact, local_time

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def test_local_time_is_in_the_viewers_zone() -> None:
    assert local_time(NOW, "Europe/Paris", NOW) == "Tue 8 Dec, 02:00 CET"
    assert local_time(NOW, "America/New_York", NOW) == "Mon 7 Dec, 20:00 EST"
    assert (
        local_time(NOW - timedelta(days=400), "UTC", NOW) == "Mon 3 Nov 2025, 01:00 UTC"
    )  # another year says so
    assert local_time(NOW, "Not/AZone", NOW).endswith("UTC")  # an unknown zone falls back, visibly


def test_exact_gives_the_instant_in_utc_and_the_zone() -> None:
    assert exact(NOW) == "2026-12-08 01:00:00 UTC"
    assert exact(NOW, "Asia/Kolkata") == "2026-12-08 06:30:00 Asia/Kolkata (2026-12-08 01:00:00 UTC)"


def test_age_reads_at_a_glance() -> None:
    assert [age(NOW - timedelta(seconds=s), NOW) for s in (5, 120, 7200, 3 * 86400)] == [
        "just now",
        "2 min ago",
        "2 h ago",
        "3 d ago",
    ]
    assert age(NOW + timedelta(seconds=30), NOW) == "just now"  # a clock a little ahead is not "-1 min"


UNITS = {"just now": 0, "min": 1, "h": 2, "d": 3}


def _rank(text: str) -> tuple[int, int]:
    if text == "just now":
        return (0, 0)
    number, unit, _ = text.split()
    return (UNITS[unit], int(number))


@given(st.integers(min_value=0, max_value=10**8), st.integers(min_value=0, max_value=10**8))
def test_an_older_incident_never_reads_younger(first: int, second: int) -> None:
    younger, older = sorted((first, second))
    assert _rank(age(NOW - timedelta(seconds=younger), NOW)) <= _rank(
        age(NOW - timedelta(seconds=older), NOW)
    )
