"""Times as people type them (``2h``, ``-30m``, ``2024-03-31T09:00:00+02:00``) and as they read
them (local zone, plus "in 3 h" / "5 min ago")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^([+-]?)(\d+)\s*(m|min|h|d|w)$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime, *, past: bool = False) -> datetime:
    """An ISO 8601 instant (naive means local time) or an offset from now: ``2h``, ``-30m``, ``1d``.
    With ``past`` (``--since``, ``--until``), an unsigned offset looks back: ``2h`` is 2 hours ago."""
    value = text.strip().lower().removesuffix(" ago")
    if value == "now":
        return now
    match = _RELATIVE.match(value)
    if match:
        sign, amount, unit = match.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        back = sign == "-" or (past and sign == "") or text.strip().lower().endswith(" ago")
        return now - delta if back else now + delta
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use e.g. 2h, -30m, 1d or 2024-03-31T09:00") from None
    return parsed.astimezone() if parsed.tzinfo is None else parsed


def parse_duration(text: str) -> timedelta:
    """A length of time: ``30m``, ``2h``, ``1d``."""
    match = _RELATIVE.match(text.strip().lower())
    if not match or match.group(1):
        raise ValueError(f"{text!r} is not a duration: use e.g. 30m, 2h or 1d")
    _, amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(amount)})


def show(instant: str | datetime, now: datetime) -> str:
    """``2024-03-31 09:00 CEST (in 3 h)``: local wall time first, how far second."""
    at = datetime.fromisoformat(instant.replace("Z", "+00:00")) if isinstance(instant, str) else instant
    local = at.astimezone()
    seconds = (at - now).total_seconds()
    span = abs(seconds)
    if span < 90:
        distance = "now"
    else:
        unit, size = next(
            (u, s) for u, s in (("d", 86400), ("h", 3600), ("min", 60)) if span >= s or u == "min"
        )
        amount = f"{span / size:.0f} {unit}"
        distance = f"in {amount}" if seconds > 0 else f"{amount} ago"
    return f"{local:%Y-%m-%d %H:%M %Z} ({distance})"


def show_optional(instant: str | None, now: datetime) -> str:
    return show(instant, now) if instant else ""


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
