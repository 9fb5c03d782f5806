"""Local wall-clock time and the daily/weekly windows that restrict when a schedule layer is staffed.

Every schedule computation reads local times through ``wall_to_utc``, so the whole package shares one
rule for DST: a wall-clock time is read with ``fold=0`` (PEP 495). A time that does not exist (the
spring-forward gap, e.g. 02:30 in New York on the second Sunday of March) is read with the offset in
force before the change, so it lands one gap later (03:30 EDT); a time that happens twice (the
fall-back hour) means its first occurrence (01:30 EDT, not EST).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RestrictionKind = Literal["daily", "weekly"]
Interval = tuple[datetime, datetime]

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_DAY_NAMES = "0=Monday .. 6=Sunday"


def require_aware(value: datetime, name: str) -> datetime:
    """Reject naive datetimes: a time without a zone is ambiguous, and UTC-normalise the rest."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}; attach a tzinfo")
    return value.astimezone(UTC)


def require_window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """Validate a half-open query window and return it in UTC."""
    since_utc = require_aware(since, "since")
    until_utc = require_aware(until, "until")
    if until_utc < since_utc:
        raise ValueError(f"until ({until.isoformat()}) is before since ({since.isoformat()})")
    return since_utc, until_utc


@lru_cache(maxsize=1024)
def load_zone(name: str) -> ZoneInfo:
    """Turn an IANA zone name into a ``ZoneInfo`` with an actionable error instead of a KeyError.

    Cached: ``ZoneInfo`` keeps only eight zones strongly, and the models carry zone names, so a
    server answering for schedules in a dozen zones would otherwise re-read tzdata files per call.
    Errors are not cached (``lru_cache`` stores only returns)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        # OSError: "Europe" names a tzdata directory, which ZoneInfo tries to open as a file.
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None


def wall_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Resolve a local wall-clock time to an instant with the package-wide ``fold=0`` DST rule."""
    return datetime.combine(day, at.replace(fold=0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Restriction:
    """A recurring local-time window; a restricted layer is staffed only inside its windows."""

    kind: RestrictionKind
    start: time
    end: time
    start_day: int | None = None
    end_day: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("daily", "weekly"):
            raise ValueError(f"restriction kind must be 'daily' or 'weekly', got {self.kind!r}")
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is not None:
                raise ValueError(
                    f"restriction {name} must be a local time without tzinfo (the schedule's zone applies)"
                )
        if self.kind == "daily":
            if self.start_day is not None or self.end_day is not None:
                raise ValueError("a daily restriction takes no start_day/end_day; use kind='weekly'")
            return
        for name, day in (("start_day", self.start_day), ("end_day", self.end_day)):
            if day is None:
                raise ValueError(f"a weekly restriction needs {name} ({_DAY_NAMES})")
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"restriction {name} must be an int {_DAY_NAMES}, got {day!r}")

    def windows(self, zone: ZoneInfo, since: datetime, until: datetime) -> list[Interval]:
        """UTC windows of this restriction that meet ``[since, until)``, clipped to it."""
        local_first = since.astimezone(zone).date()
        local_last = until.astimezone(zone).date()
        out: list[Interval] = []
        if self.kind == "daily":
            wraps = self.end <= self.start
            day = local_first - _DAY
            while day <= local_last:
                start = wall_to_utc(day, self.start, zone)
                end = wall_to_utc(day + _DAY if wraps else day, self.end, zone)
                _append_clipped(out, start, end, since, until)
                day += _DAY
            return out
        assert self.start_day is not None and self.end_day is not None
        wraps = (self.end_day, self.end) <= (self.start_day, self.start)
        monday = local_first - timedelta(days=local_first.weekday()) - _WEEK
        while monday <= local_last:
            start = wall_to_utc(monday + timedelta(days=self.start_day), self.start, zone)
            end_date = monday + timedelta(days=self.end_day + (7 if wraps else 0))
            _append_clipped(out, start, wall_to_utc(end_date, self.end, zone), since, until)
            monday += _WEEK
        return out


def _append_clipped(out: list[Interval], start: datetime, end: datetime, lo: datetime, hi: datetime) -> None:
    """Keep the part of ``[start, end)`` inside ``[lo, hi)``; a window the DST gap inverted is empty."""
    start, end = max(start, lo), min(end, hi)
    if start < end:
        out.append((start, end))


def restriction_windows(
    restrictions: tuple[Restriction, ...], zone: ZoneInfo, since: datetime, until: datetime
) -> list[Interval]:
    """Union of all restriction windows in ``[since, until)``, sorted and merged, so clipping is one pass."""
    pieces = sorted(w for restriction in restrictions for w in restriction.windows(zone, since, until))
    merged: list[Interval] = []
    for start, end in pieces:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
