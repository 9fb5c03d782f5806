"""Times as a person reads them: in the viewer's own zone, with the exact instant on hover.

Templates call ``when(at, zone)`` for the text, ``exact(at)`` for the ``title`` attribute, and
``age(at, now)`` for "12 min ago"; ``now`` comes from the app's clock, so a test's clock moves the
ages too. A zone the database holds but this machine lacks falls back to UTC and says so."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(at: datetime, zone: str, now: datetime | None = None) -> str:
    """``Tue 8 Dec, 01:02`` in ``zone``; the year only when it is not this year's."""
    local = at.astimezone(_zone(zone))
    this_year = now is None or now.astimezone(_zone(zone)).year == local.year
    day = f"{local:%a} {local.day} {local:%b}" + ("" if this_year else f" {local.year}")
    return f"{day}, {local:%H:%M} {local.tzname()}"


def exact(at: datetime, zone: str | None = None) -> str:
    """The instant to the second, in UTC and (when given) in the zone too: the hover text."""
    utc = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if zone is None or zone == "UTC":
        return utc
    local = at.astimezone(_zone(zone))
    return f"{local:%Y-%m-%d %H:%M:%S} {zone} ({utc})"


def age(at: datetime, now: datetime) -> str:
    """How long ago, in the largest unit that reads at a glance: ``just now``, ``5 min``, ``3 h``,
    ``2 d``."""
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"
