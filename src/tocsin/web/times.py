"""Times as a person reads them: in the viewer's own zone (their profile's), with the zone that
defines the time (a schedule's) on hover, so "your shift starts 09:00" is never a guess about
whose 09:00. ``when`` is a template global that renders a ``<time>`` element."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def label(at: datetime, zone: str | None) -> str:
    """``Tue 8 Dec 14:00`` in ``zone`` (UTC when the zone is unknown)."""
    local = at.astimezone(_zone(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def when(at: datetime, viewer_zone: str | None, source_zone: str | None = None) -> Markup:
    """``<time>`` in the viewer's zone; its title says the viewer's zone, and the source's when it
    differs (a schedule in another zone)."""
    shown = label(at, viewer_zone)
    viewer = _zone(viewer_zone).key
    title = f"{shown} {viewer}"
    if source_zone and _zone(source_zone).key != viewer:
        title += f" · {label(at, source_zone)} {_zone(source_zone).key} (the schedule's zone)"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        at.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z"), title, shown
    )
