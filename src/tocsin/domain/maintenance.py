"""Maintenance windows: incidents born inside one are SUPPRESSED and page no one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, at: datetime) -> bool:
        """Half-open ``[start, end)``: a window ending at 02:00 does not swallow a 02:00 alert."""
        return self.start <= at < self.end


def in_maintenance(windows: Iterable[Window], at: datetime) -> bool:
    """Whether any window covers ``at``."""
    return any(window.contains(at) for window in windows)
