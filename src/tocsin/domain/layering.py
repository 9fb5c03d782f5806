"""Stacking ready-made per-layer shift lists, for schedules with layers the rotation math does not know.

``schedule.final_shifts`` computes each layer's shifts from a ``Layer`` (a rotation). A layer can also
take its shifts from elsewhere (an imported calendar); then the caller computes every layer's shifts
for the window and this module applies the same priority rule: a later layer beats an earlier one
wherever it has someone, overrides beat every layer, and a later override beats an earlier one.
``on_call_at`` and ``gaps`` mirror their ``schedule`` namesakes over any final-shifts function.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from tocsin.domain.restrictions import require_aware, require_window
from tocsin.domain.schedule import ON_CALL_HORIZON, Override, Shift

__all__ = ["FinalShifts", "gaps", "on_call_at", "stack"]

FinalShifts = Callable[[datetime, datetime], list[Shift]]
"""The final shifts of one schedule in a validated UTC window ``[since, until)``."""

_FIRST_LOOK = timedelta(days=1)


def stack(
    layers: Sequence[Sequence[Shift]], overrides: Sequence[Override], since: datetime, until: datetime
) -> list[Shift]:
    """The on-call in ``[since, until)`` from each layer's shifts (lowest layer first) and the overrides.

    Each layer's list must be sorted and non-overlapping, as ``layer_shifts`` and ``imported_shifts``
    give them. The result is sorted, has at most one user at any instant, and joins back-to-back
    shifts of one user from one source, as ``final_shifts`` does.
    """
    since, until = require_window(since, until)
    if since >= until:
        return []
    pieces: list[Shift] = [s for layer in layers for s in layer]
    for override in overrides:
        start, end = max(override.start.astimezone(UTC), since), min(override.end.astimezone(UTC), until)
        if start < end:
            pieces.append(Shift(override.user_id, start, end, None, override.id))
    # A piece's rank is its place in ``pieces``: layers in order, then overrides in order.
    ranked = [
        (start, rank, end, shift)
        for rank, shift in enumerate(pieces)
        if (start := max(shift.start, since)) < (end := min(shift.end, until))
    ]
    ranked.sort(key=lambda item: (item[0], item[1]))
    bounds = sorted({item[0] for item in ranked} | {item[2] for item in ranked})
    active: list[tuple[int, datetime, Shift]] = []  # (-rank, end, shift): the top is the highest rank
    result: list[Shift] = []
    i = 0
    for lo, hi in pairwise(bounds):
        while i < len(ranked) and ranked[i][0] <= lo:
            _, rank, end, shift = ranked[i]
            heapq.heappush(active, (-rank, end, shift))
            i += 1
        while active and active[0][1] <= lo:
            heapq.heappop(active)
        if not active:
            continue
        top = active[0][2]
        last = result[-1] if result else None
        if (
            last is not None
            and last.end == lo
            and (last.user_id, last.layer_id, last.override_id)
            == (top.user_id, top.layer_id, top.override_id)
        ):
            result[-1] = Shift(last.user_id, last.start, hi, last.layer_id, last.override_id)
        else:
            result.append(Shift(top.user_id, lo, hi, top.layer_id, top.override_id))
    return result


def on_call_at(final: FinalShifts, at: datetime) -> list[Shift]:
    """The final shift covering ``at`` with its full extent (capped at ``ON_CALL_HORIZON``), or none."""
    at = require_aware(at, "at").astimezone(UTC)
    back = ahead = _FIRST_LOOK
    while True:
        since, until = at - back, at + ahead
        covering = [s for s in final(since, until) if s.start <= at < s.end]
        widen_back = any(s.start == since for s in covering) and back < ON_CALL_HORIZON
        widen_ahead = any(s.end == until for s in covering) and ahead < ON_CALL_HORIZON
        if not (widen_back or widen_ahead):
            return covering
        if widen_back:
            back = min(back * 2, ON_CALL_HORIZON)
        if widen_ahead:
            ahead = min(ahead * 2, ON_CALL_HORIZON)


def gaps(shifts: Sequence[Shift], since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Spans of ``[since, until)`` that the sorted ``shifts`` leave without anyone on call."""
    since, until = require_window(since, until)
    holes: list[tuple[datetime, datetime]] = []
    cursor = since
    for shift in shifts:
        if shift.start > cursor:
            holes.append((cursor, min(shift.start, until)))
        cursor = max(cursor, shift.end)
        if cursor >= until:
            break
    if cursor < until:
        holes.append((cursor, until))
    return holes
