"""Coverage as sets of half-open time spans: who covers when, and the holes between.

Readiness asks "does this escalation level reach someone at every instant of the next week?" and
"is there an instant no level reaches anyone?". Both are unions, complements and intersections of
``[start, end)`` spans, kept here as pure functions over sorted, disjoint lists so the questions
cost a linear walk, whatever the number of shifts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """``[start, end)``; an empty or reversed span is refused, so every list below means something."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            shown = f"{self.start.isoformat()} .. {self.end.isoformat()}"
            raise ValueError(f"a span ends after it starts ({shown})")


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union as sorted, disjoint spans; touching spans join (a 09:00 handoff is no gap)."""
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(span)
    return merged


def uncovered(spans: Iterable[Span], window: Span) -> list[Span]:
    """The parts of ``window`` no span covers: the holes nobody is on call in."""
    holes: list[Span] = []
    cursor = window.start
    for span in merge(spans):
        if span.end <= cursor:
            continue
        if span.start >= window.end:
            break
        if span.start > cursor:
            holes.append(Span(cursor, span.start))
        cursor = max(cursor, span.end)
    if cursor < window.end:
        holes.append(Span(cursor, window.end))
    return holes


def intersect(first: Iterable[Span], second: Iterable[Span]) -> list[Span]:
    """Where both cover: the holes every level of a policy shares are what pages nobody at all."""
    a, b = merge(first), merge(second)
    both: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if start < end:
            both.append(Span(start, end))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return both


def subtract(spans: Iterable[Span], removed: Iterable[Span]) -> list[Span]:
    """``spans`` without ``removed``: a level's hole that another level covers is only partial."""
    kept: list[Span] = []
    cuts = merge(removed)
    for span in merge(spans):
        kept += uncovered([c for c in cuts if c.end > span.start and c.start < span.end], span)
    return kept


def span_text(span: Span) -> str:
    """``Sat 12 Dec 02:00 to Sat 12 Dec 08:00 UTC``: how a person reads a window of the coming week."""
    start, end = span.start.astimezone(UTC), span.end.astimezone(UTC)
    return f"{start:%a %d %b %H:%M} to {end:%a %d %b %H:%M} UTC"
