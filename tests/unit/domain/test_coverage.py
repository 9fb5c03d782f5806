"""Coverage spans: union, holes, intersection and difference agree with a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.coverage import Span, intersect, merge, span_text, subtract, uncovered

BASE = datetime(2026, 12, 5, tzinfo=UTC)  # a Saturday
HORIZON = 200  # minutes: small enough to check every minute


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    start = draw(st.integers(-20, HORIZON + 20))
    length = draw(st.integers(1, 60))
    return Span(at(start), at(start + length))


span_lists = st.lists(spans(), max_size=8)


def minutes(items: list[Span]) -> set[int]:
    """Every minute [m, m+1) some span covers, over a range wider than any span."""
    return {m for m in range(-40, HORIZON + 100) for s in items if s.start <= at(m) < s.end}


def well_formed(items: list[Span]) -> bool:
    """Sorted, disjoint and not touching: the form every function returns."""
    return all(a.end < b.start for a, b in zip(items, items[1:], strict=False))


@given(span_lists)
def test_merge_covers_the_same_minutes_in_sorted_disjoint_spans(items: list[Span]) -> None:
    merged = merge(items)
    assert well_formed(merged)
    assert minutes(merged) == minutes(items)


@given(span_lists, spans())
def test_uncovered_is_the_window_minus_the_spans(items: list[Span], window: Span) -> None:
    holes = uncovered(items, window)
    assert well_formed(holes)
    assert minutes(holes) == minutes([window]) - minutes(items)
    assert all(window.start <= h.start and h.end <= window.end for h in holes)


@given(span_lists, span_lists)
def test_intersect_and_subtract_are_set_operations(first: list[Span], second: list[Span]) -> None:
    both = intersect(first, second)
    rest = subtract(first, second)
    assert well_formed(both) and well_formed(rest)
    assert minutes(both) == minutes(first) & minutes(second)
    assert minutes(rest) == minutes(first) - minutes(second)
    assert merge(both + rest) == merge(first)


def test_a_handoff_is_not_a_gap() -> None:
    window = Span(at(0), at(120))
    assert uncovered([Span(at(0), at(60)), Span(at(60), at(120))], window) == []
    assert uncovered([Span(at(0), at(50)), Span(at(70), at(120))], window) == [Span(at(50), at(70))]
    assert uncovered([], window) == [window]


def test_an_empty_span_is_refused() -> None:
    with pytest.raises(ValueError, match="ends after it starts"):
        Span(at(5), at(5))


def test_span_text_names_day_date_and_zone() -> None:
    shown = span_text(Span(BASE + timedelta(hours=2), BASE + timedelta(hours=8)))
    assert shown == "Sat 05 Dec 02:00 to Sat 05 Dec 08:00 UTC"
