"""Who is on call: layers stacked by priority, overrides on top, gaps where nobody is.

Priority is the tuple order: a later layer beats an earlier one wherever it has someone, and overrides
beat all layers (a later override beats an earlier one where they overlap), so at most one user is on
call at any instant. Everything is computed only for the window asked; ``on_call_at`` widens its
window until the covering shift really ends, up to ``ON_CALL_HORIZON`` on each side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.domain.restrictions import Restriction, load_zone, require_aware, require_window
from tocsin.domain.rotation import Layer, RotationUnit, Shift, layer_shifts, layer_shifts_in_zone

__all__ = [
    "ON_CALL_HORIZON",
    "Layer",
    "Override",
    "Restriction",
    "RotationUnit",
    "Schedule",
    "Shift",
    "current_shift_end",
    "final_shifts",
    "gaps",
    "layer_shifts",
    "on_call_at",
]

ON_CALL_HORIZON = timedelta(days=90)
"""How far before and after ``at`` a shift's extent is followed; a longer shift is reported cut there."""

_FIRST_LOOK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Override:
    """A user placed on call for ``[start, end)`` above every layer, e.g. after taking a shift."""

    id: str
    user_id: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, f"override {self.id!r} start")
        if require_aware(self.end, f"override {self.id!r} end") <= start:
            raise ValueError(
                f"override {self.id!r} end ({self.end.isoformat()}) must be after "
                f"start ({self.start.isoformat()})"
            )


@dataclass(frozen=True, slots=True)
class Schedule:
    """Layers (lowest first) and overrides, read in one IANA time zone."""

    time_zone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        load_zone(self.time_zone)
        for kind, ids in (
            ("layer", [x.id for x in self.layers]),
            ("override", [x.id for x in self.overrides]),
        ):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} id(s) {duplicates}; each {kind} needs its own id")


def final_shifts(schedule: Schedule, since: datetime, until: datetime) -> list[Shift]:
    """The on-call after layering and overrides in ``[since, until)``; what pages and calendars use."""
    return _final_shifts(schedule, *require_window(since, until))


def _final_shifts(schedule: Schedule, since: datetime, until: datetime) -> list[Shift]:
    """``final_shifts`` for a validated UTC window."""
    if since >= until:
        return []
    zone = load_zone(schedule.time_zone)
    result: list[Shift] = []
    for layer in schedule.layers:
        result = _overlay(result, layer_shifts_in_zone(layer, zone, since, until))
    for override in schedule.overrides:
        start, end = max(override.start.astimezone(UTC), since), min(override.end.astimezone(UTC), until)
        if start < end:
            result = _overlay(result, [Shift(override.user_id, start, end, None, override.id)])
    return _merge(result)


def on_call_at(schedule: Schedule, at: datetime) -> list[Shift]:
    """The final shift covering ``at`` with its full extent (capped at ``ON_CALL_HORIZON``), or none."""
    at = require_aware(at, "at")
    back = ahead = _FIRST_LOOK
    while True:
        since, until = at - back, at + ahead
        covering = [s for s in _final_shifts(schedule, since, until) if s.start <= at < s.end]
        widen_back = any(s.start == since for s in covering) and back < ON_CALL_HORIZON
        widen_ahead = any(s.end == until for s in covering) and ahead < ON_CALL_HORIZON
        if not (widen_back or widen_ahead):
            return covering
        if widen_back:
            back = min(back * 2, ON_CALL_HORIZON)
        if widen_ahead:
            ahead = min(ahead * 2, ON_CALL_HORIZON)


def gaps(schedule: Schedule, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Spans in ``[since, until)`` when nobody is on call, so coverage holes can be flagged."""
    since, until = require_window(since, until)
    holes: list[tuple[datetime, datetime]] = []
    cursor = since
    for shift in _final_shifts(schedule, since, until):
        if shift.start > cursor:
            holes.append((cursor, shift.start))
        cursor = max(cursor, shift.end)
    if cursor < until:
        holes.append((cursor, until))
    return holes


def current_shift_end(schedule: Schedule, at: datetime, user_id: str) -> datetime | None:
    """When ``user_id``'s shift covering ``at`` ends: the default end when someone takes that shift."""
    for shift in on_call_at(schedule, at):
        if shift.user_id == user_id:
            return shift.end
    return None


def _overlay(below: list[Shift], above: list[Shift]) -> list[Shift]:
    """Lay ``above`` over ``below`` (each sorted and non-overlapping): ``above`` wins where it has someone."""
    if not above or not below:
        return above or below
    out = list(above)
    i = 0
    for shift in below:
        while i < len(above) and above[i].end <= shift.start:
            i += 1
        cursor = shift.start
        j = i
        while cursor < shift.end:
            if j == len(above) or above[j].start >= shift.end:
                out.append(_cut(shift, cursor, shift.end))
                break
            if above[j].start > cursor:
                out.append(_cut(shift, cursor, above[j].start))
            cursor = max(cursor, above[j].end)
            j += 1
    out.sort(key=lambda s: s.start)
    return out


def _cut(shift: Shift, start: datetime, end: datetime) -> Shift:
    """The part of ``shift`` in ``[start, end)``, reusing the object when nothing is cut."""
    if start == shift.start and end == shift.end:
        return shift
    return Shift(shift.user_id, start, end, shift.layer_id, shift.override_id)


def _merge(shifts: list[Shift]) -> list[Shift]:
    """Join back-to-back shifts of one user from one source, so a turn split by a boundary reads whole."""
    merged: list[Shift] = []
    for shift in shifts:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.end == shift.start
            and (last.user_id, last.layer_id, last.override_id)
            == (shift.user_id, shift.layer_id, shift.override_id)
        ):
            merged[-1] = Shift(last.user_id, last.start, shift.end, last.layer_id, last.override_id)
        else:
            merged.append(shift)
    return merged
