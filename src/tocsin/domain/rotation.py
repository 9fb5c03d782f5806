"""Rotation math for one schedule layer: whose turn it is, computed from ``start`` without iterating turns.

Handoffs for ``days``/``weeks`` rotations keep the local wall-clock time of ``start`` in the schedule
zone (a "day" across a DST change lasts 23 or 25 hours); ``hours`` rotations hand off every N elapsed
hours. Local times that a DST change skips or repeats follow the ``fold=0`` rule in ``restrictions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from tocsin.domain.restrictions import (
    Restriction,
    load_zone,
    require_aware,
    require_window,
    restriction_windows,
    wall_to_utc,
)

RotationUnit = Literal["hours", "days", "weeks"]

_UNIT_DAYS = {"days": 1, "weeks": 7}


@dataclass(frozen=True, slots=True)
class Shift:
    """A span ``[start, end)`` when one user is on call, and the layer or override it came from."""

    user_id: str
    start: datetime
    end: datetime
    layer_id: str | None
    override_id: str | None


@dataclass(frozen=True, slots=True)
class Layer:
    """One rotation of users; restrictions clip its shifts without pausing the turn order."""

    id: str
    users: tuple[str, ...]
    rotation_unit: RotationUnit
    rotation_length: int
    start: datetime
    end: datetime | None = None
    restrictions: tuple[Restriction, ...] = ()

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError(f"layer {self.id!r} has no users; add at least one user to rotate")
        if self.rotation_unit not in ("hours", "days", "weeks"):
            raise ValueError(
                f"layer {self.id!r} rotation_unit must be 'hours', 'days' or 'weeks', "
                f"got {self.rotation_unit!r}"
            )
        length = self.rotation_length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"layer {self.id!r} rotation_length must be an int >= 1, got {length!r}")
        start = require_aware(self.start, f"layer {self.id!r} start")
        if self.end is not None and require_aware(self.end, f"layer {self.id!r} end") <= start:
            raise ValueError(
                f"layer {self.id!r} end ({self.end.isoformat()}) must be after "
                f"start ({self.start.isoformat()})"
            )


class _Handoffs:
    """The instants at which a layer's turns begin: turn ``k`` runs ``[at(k), at(k + 1))``."""

    __slots__ = ("_anchor_date", "_anchor_time", "_period", "_start", "_step", "_zone")

    def __init__(self, layer: Layer, zone: ZoneInfo) -> None:
        self._zone = zone
        self._start = layer.start.astimezone(UTC)
        self._step = timedelta(hours=layer.rotation_length)
        self._period = layer.rotation_length * _UNIT_DAYS.get(layer.rotation_unit, 0)
        local = self._start.astimezone(zone)
        self._anchor_date: date = local.date()
        self._anchor_time: time = local.time()

    def at(self, k: int) -> datetime:
        """Start of turn ``k``; turn 0 may resolve before ``layer.start`` (a fold=1 start), callers clip."""
        if not self._period:
            return self._start + k * self._step
        return wall_to_utc(
            self._anchor_date + timedelta(days=k * self._period), self._anchor_time, self._zone
        )

    def turn_at(self, instant: datetime) -> int:
        """Index of the turn covering ``instant`` (>= layer start), by arithmetic rather than iteration."""
        if not self._period:
            return (instant - self._start) // self._step
        days = (instant.astimezone(self._zone).date() - self._anchor_date).days
        k = max(days // self._period, 0)
        while k > 0 and self.at(k) > instant:
            k -= 1
        while self.at(k + 1) <= instant:
            k += 1
        return k


def layer_shifts(layer: Layer, zone: str, since: datetime, until: datetime) -> list[Shift]:
    """A layer's own shifts in ``[since, until)`` (one per run of a user's turns), clipped to restrictions."""
    return layer_shifts_in_zone(layer, load_zone(zone), *require_window(since, until))


def layer_shifts_in_zone(layer: Layer, zone: ZoneInfo, since: datetime, until: datetime) -> list[Shift]:
    """``layer_shifts`` for a loaded zone and an already validated UTC window: schedules call it per layer."""
    lo = max(since, layer.start.astimezone(UTC))
    hi = until if layer.end is None else min(until, layer.end.astimezone(UTC))
    if lo >= hi:
        return []
    users = layer.users
    if len(set(users)) == 1:  # one person on every turn: no handoff to find, however long the window
        shifts = [Shift(users[0], lo, hi, layer.id, None)]
    else:
        shifts = _turns(layer, zone, lo, hi)
    if layer.restrictions:
        shifts = _clip(shifts, restriction_windows(layer.restrictions, zone, lo, hi))
    return shifts


def _turns(layer: Layer, zone: ZoneInfo, lo: datetime, hi: datetime) -> list[Shift]:
    """Turns meeting ``[lo, hi)``, clipped to it; back-to-back turns of one user read as one shift."""
    handoffs = _Handoffs(layer, zone)
    users = layer.users
    k = handoffs.turn_at(lo)
    turn_start = handoffs.at(k)
    shifts: list[Shift] = []
    while turn_start < hi:
        turn_end = handoffs.at(k + 1)
        start, end = max(turn_start, lo), min(turn_end, hi)
        user = users[k % len(users)]
        if shifts and shifts[-1].user_id == user and shifts[-1].end == start:
            shifts[-1] = Shift(user, shifts[-1].start, end, layer.id, None)
        elif start < end:  # a turn can be empty when the zone skips a whole local day (Samoa, 2011)
            shifts.append(Shift(user, start, end, layer.id, None))
        k += 1
        turn_start = turn_end
    return shifts


def _clip(shifts: list[Shift], windows: list[tuple[datetime, datetime]]) -> list[Shift]:
    """Intersect sorted, non-overlapping shifts with sorted, merged windows in one linear pass."""
    out: list[Shift] = []
    i = 0
    for shift in shifts:
        while i < len(windows) and windows[i][1] <= shift.start:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < shift.end:
            start, end = max(shift.start, windows[j][0]), min(shift.end, windows[j][1])
            if start < end:
                out.append(Shift(shift.user_id, start, end, shift.layer_id, shift.override_id))
            j += 1
    return out
