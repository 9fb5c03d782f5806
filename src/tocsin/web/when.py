"""Times as a person reads them: in the viewer's own time zone, with the schedule's zone in the
hover title, since a shift is defined in the schedule's zone but lived in one's own."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape


def zone(name: str | None) -> ZoneInfo:
    """The zone by name; UTC for a missing or unknown one (a stored zone was checked on write)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_text(instant: datetime, zone_name: str, *, day: bool = True) -> str:
    """``Tue 8 Dec 14:00`` (or ``14:00``) in ``zone_name``."""
    local = instant.astimezone(zone(zone_name))
    clock = local.strftime("%H:%M")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} {clock}" if day else clock


def time_tag(
    instant: datetime, viewer_zone: str, schedule_zone: str | None = None, *, day: bool = True
) -> Markup:
    """A ``<time>`` element in the viewer's zone, its title the same instant in the schedule's."""
    shown = local_text(instant, viewer_zone, day=day)
    other = schedule_zone or viewer_zone
    title = f"{local_text(instant, other)} {other}"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        instant.isoformat(), escape(title), escape(shown)
    )
