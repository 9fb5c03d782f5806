"""Times as a person reads them: in the viewer's own zone (their profile's), with the zone that
defines the time (a schedule's) on hover, so "your shift starts 09:00" is never a guess about
whose 09:00. ``when`` is a template global that renders a ``<time>`` element."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup


def zone(name: str | None) -> ZoneInfo:
    """The zone by name; UTC for a missing or unknown one (a stored zone was checked on write)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def label(at: datetime, zone_name: str | None, *, day: bool = True) -> str:
    """``Tue 8 Dec 14:00`` (or ``14:00`` without ``day``) in ``zone_name``."""
    local = at.astimezone(zone(zone_name))
    return f"{local:%a} {local.day} {local:%b %H:%M}" if day else f"{local:%H:%M}"


def when(
    at: datetime, viewer_zone: str | None, source_zone: str | None = None, *, day: bool = True
) -> Markup:
    """``<time>`` in the viewer's zone; its title says the whole instant in the viewer's zone, and
    in the source's when it differs (a schedule in another zone)."""
    shown = label(at, viewer_zone, day=day)
    viewer = zone(viewer_zone).key
    title = f"{label(at, viewer_zone)} {viewer}"
    if source_zone and zone(source_zone).key != viewer:
        title += f" · {label(at, source_zone)} {zone(source_zone).key} (the schedule's zone)"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        at.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z"), title, shown
    )


def local_time(at: datetime, zone_name: str, now: datetime | None = None) -> str:
    """``Tue 8 Dec, 01:02 CET`` in ``zone_name``, the year only when it is not ``now``'s: the text
    of a ``<time>`` whose title is ``exact`` (the incident screens)."""
    local = at.astimezone(zone(zone_name))
    this_year = now is None or now.astimezone(zone(zone_name)).year == local.year
    day = f"{local:%a} {local.day} {local:%b}" + ("" if this_year else f" {local.year}")
    return f"{day}, {local:%H:%M} {local.tzname()}"


def exact(at: datetime, zone_name: str | None = None) -> str:
    """The instant to the second, in UTC and (when given) in the zone too: the hover text."""
    utc = at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")
    if zone_name is None or zone_name == "UTC":
        return utc
    local = at.astimezone(zone(zone_name))
    return f"{local:%Y-%m-%d %H:%M:%S} {zone_name} ({utc})"


def age(at: datetime, now: datetime) -> str:
    """How long ago, in the largest unit that reads at a glance: ``just now``, ``5 min ago``,
    ``3 h ago``, ``2 d ago``."""
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"
