"""A schedule's checked parts (instants, layers and their restrictions; zone and name checks are
shared, in ``checks``) and the pure rotation model they become. No database: ``schedules`` looks
up the ids these name.

Every check names the field the client sent (``layers.0.users``), so a bad schedule is a 400 the
caller can fix, never a 500 from the rotation math."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any, cast

from tocsin.db.models import ScheduleLayer
from tocsin.domain import schedule as rota
from tocsin.services.checks import check_name
from tocsin.services.errors import Invalid

LAYER_SOURCES = ("rotation", "ical")
ROTATION_UNITS = ("hours", "days", "weeks")
RESTRICTION_KINDS = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_ROTATION_LENGTH = 1000
MAX_LAYERS = 20
MAX_LAYER_USERS = 500
MAX_RESTRICTIONS = 50
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def check_instant(value: Any, field: str) -> datetime:
    """An aware datetime in UTC; a naive one is ambiguous (which zone?), so it is a 400."""
    if not isinstance(value, datetime):
        raise Invalid(field, "invalid", f"{field} must be an RFC 3339 date-time, e.g. 2024-01-15T09:00:00Z")
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(
            field, "timezone", f"{field} needs a time zone offset, e.g. 2024-01-15T09:00:00+01:00 or ...Z"
        )
    try:
        instant: datetime = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset falls off the calendar
        raise Invalid(field, "range", f"{field} must be between 1970 and 3000") from None
    if not EARLIEST <= instant < LATEST:
        raise Invalid(field, "range", f"{field} must be between 1970 and 3000")
    return instant


def _wall_time(value: Any, field: str) -> time:
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value)
        except ValueError:
            raise Invalid(field, "invalid", f"{field} must be a local time such as 09:00") from None
    if not isinstance(value, time):
        raise Invalid(field, "invalid", f"{field} must be a local time such as 09:00")
    if value.tzinfo is not None:
        raise Invalid(
            field, "timezone", f"{field} is a local time without offset; the schedule's zone applies"
        )
    return value


def _format_time(value: time) -> str:
    return value.isoformat(timespec="seconds" if value.second else "minutes")


def _check_restriction(spec: Any, field: str) -> dict[str, Any]:
    """The stored (and shown) form: ``{kind, start: "09:00", end, start_day: "monday" | None, end_day}``."""
    if not isinstance(spec, Mapping):
        raise Invalid(field, "invalid", f"{field} must be an object")
    kind = spec.get("kind")
    if kind not in RESTRICTION_KINDS:
        raise Invalid(f"{field}.kind", "invalid", f"{field}.kind must be 'daily' or 'weekly'")
    stored: dict[str, Any] = {
        "kind": kind,
        "start": _format_time(_wall_time(spec.get("start"), f"{field}.start")),
        "end": _format_time(_wall_time(spec.get("end"), f"{field}.end")),
        "start_day": None,
        "end_day": None,
    }
    for name in ("start_day", "end_day"):
        day = spec.get(name)
        if kind == "daily":
            if day is not None:
                raise Invalid(f"{field}.{name}", "not_allowed", f"a daily restriction takes no {name}")
        elif day is None:
            raise Invalid(f"{field}.{name}", "required", f"a weekly restriction needs {name} (e.g. 'monday')")
        elif day not in WEEKDAYS:
            raise Invalid(
                f"{field}.{name}", "invalid", f"{field}.{name} must be one of {', '.join(WEEKDAYS)}"
            )
        else:
            stored[name] = day
    try:
        to_restriction(stored)
    except ValueError as exc:
        raise Invalid(field, "invalid", f"{field}: {exc}") from None
    return stored


def to_restriction(stored: Mapping[str, Any]) -> rota.Restriction:
    """A stored restriction as the rotation math reads it (days 0=Monday .. 6=Sunday)."""
    start_day, end_day = stored.get("start_day"), stored.get("end_day")
    return rota.Restriction(
        kind=stored["kind"],
        start=time.fromisoformat(stored["start"]),
        end=time.fromisoformat(stored["end"]),
        start_day=None if start_day is None else WEEKDAYS.index(start_day),
        end_day=None if end_day is None else WEEKDAYS.index(end_day),
    )


def to_layer(row: ScheduleLayer, users: Sequence[str]) -> rota.Layer:
    """A rotation layer row as the rotation math reads it, rotating through ``users``."""
    if row.rotation_unit is None or row.rotation_length is None or row.start is None:
        raise ValueError(f"layer {row.id!r} is not a rotation layer")
    return rota.Layer(
        id=row.id,
        users=tuple(users),
        rotation_unit=cast(rota.RotationUnit, row.rotation_unit),  # checked on write
        rotation_length=row.rotation_length,
        start=row.start,
        end=row.end,
        restrictions=tuple(to_restriction(r) for r in row.restrictions),
    )


def layer_name(spec: Mapping[str, Any], field: str, position: int) -> str:
    name = spec.get("name")
    return check_name(name, f"{field}.name") if name is not None else f"Layer {position + 1}"


def check_layer(spec: Mapping[str, Any], field: str, position: int, known_users: set[str]) -> dict[str, Any]:
    """Column values for one rotation layer spec, or the first problem with it."""
    if spec.get("ical_text") is not None:
        raise Invalid(f"{field}.ical_text", "not_allowed", 'ical_text needs "source": "ical"')
    users = spec.get("users")
    if not isinstance(users, list | tuple) or not users:
        raise Invalid(f"{field}.users", "required", f"{field}.users needs at least one user id to rotate")
    if len(users) > MAX_LAYER_USERS:
        raise Invalid(f"{field}.users", "too_long", f"a layer rotates at most {MAX_LAYER_USERS} users")
    for user_id in users:
        if user_id not in known_users:
            raise Invalid(f"{field}.users", "not_found", f"{field}.users: unknown user id {user_id!r}")
    for name in ("rotation_unit", "rotation_length", "start"):
        if spec.get(name) is None:
            raise Invalid(f"{field}.{name}", "required", f"{field}.{name} is required for a rotation layer")
    unit = spec.get("rotation_unit")
    if unit not in ROTATION_UNITS:
        raise Invalid(f"{field}.rotation_unit", "invalid", "rotation_unit must be one of hours, days, weeks")
    length = spec.get("rotation_length")
    if isinstance(length, bool) or not isinstance(length, int):
        raise Invalid(f"{field}.rotation_length", "required", f"{field}.rotation_length must be an integer")
    if not 1 <= length <= MAX_ROTATION_LENGTH:
        raise Invalid(
            f"{field}.rotation_length",
            "range",
            f"rotation_length must be between 1 and {MAX_ROTATION_LENGTH}",
        )
    start = check_instant(spec.get("start"), f"{field}.start")
    end = None if spec.get("end") is None else check_instant(spec["end"], f"{field}.end")
    if end is not None and end <= start:
        raise Invalid(f"{field}.end", "before_start", f"{field}.end must be after {field}.start")
    restrictions = spec.get("restrictions") or []
    if not isinstance(restrictions, list | tuple):
        raise Invalid(f"{field}.restrictions", "invalid", f"{field}.restrictions must be a list")
    if len(restrictions) > MAX_RESTRICTIONS:
        raise Invalid(f"{field}.restrictions", "too_long", f"at most {MAX_RESTRICTIONS} restrictions a layer")
    values: dict[str, Any] = {
        "position": position,
        "name": layer_name(spec, field, position),
        "source": "rotation",
        "ical_text": None,
        "users": [str(u) for u in users],
        "rotation_unit": unit,
        "rotation_length": length,
        "start": start,
        "end": end,
        "restrictions": [
            _check_restriction(r, f"{field}.restrictions.{i}") for i, r in enumerate(restrictions)
        ],
    }
    try:
        rota.Layer(
            id=f"layer-{position}",
            users=tuple(values["users"]),
            rotation_unit=unit,
            rotation_length=length,
            start=start,
            end=end,
            restrictions=tuple(to_restriction(r) for r in values["restrictions"]),
        )
    except ValueError as exc:
        raise Invalid(field, "invalid", f"{field}: {exc}") from None
    return values
