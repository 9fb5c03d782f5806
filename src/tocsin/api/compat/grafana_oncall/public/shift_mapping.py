"""Grafana OnCall on-call shifts ↔ Tocsin rotation layers and overrides: reading a request body
into a native layer spec (or refusing, naming the field), and rendering a layer or override in
upstream's field order. The routes in ``on_call_shifts`` only load, call services and answer; what
maps and what does not round-trip is described there."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from tocsin.api.compat.grafana_oncall.public.common import invalid
from tocsin.domain.restrictions import load_zone
from tocsin.services.errors import Invalid
from tocsin.services.schedules.layers import Shift
from tocsin.services.schedules.specs import check_instant

FORMAT = "%Y-%m-%dT%H:%M:%S"
TYPES = ("single_event", "recurrent_event", "rolling_users", "override")
FREQUENCIES = {"hourly": "hours", "daily": "days", "weekly": "weeks"}
UNIT_SECONDS = {"hours": 3600, "days": 86400, "weeks": 604800}
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_LENGTH = 1000
MAX_SECONDS = 100 * 366 * 86400  # durations and intervals beyond a century are typos, not shifts
DAY = 86400


def wall(value: datetime | None, zone: str) -> str | None:
    return None if value is None else value.astimezone(load_zone(zone)).strftime(FORMAT)


def _period(layer: Any) -> int:
    return int(layer.rotation_length) * UNIT_SECONDS[layer.rotation_unit]


def _is_single_event(layer: Any) -> bool:
    return (
        len(layer.users) == 1
        and layer.end is not None
        and not layer.restrictions
        and (layer.end - layer.start).total_seconds() <= _period(layer)
    )


def _window_seconds(restriction: dict[str, Any]) -> int:
    start, end = time.fromisoformat(restriction["start"]), time.fromisoformat(restriction["end"])
    seconds = (end.hour * 3600 + end.minute * 60 + end.second) - (
        start.hour * 3600 + start.minute * 60 + start.second
    )
    if restriction["kind"] == "weekly":
        seconds += DAY * (WEEKDAYS.index(restriction["end_day"]) - WEEKDAYS.index(restriction["start_day"]))
        return seconds if seconds > 0 else seconds + 7 * DAY
    return seconds if seconds > 0 else seconds + DAY


def render(shift: Shift) -> dict[str, Any]:
    zone = shift.schedule.time_zone
    out: dict[str, Any] = {
        "id": shift.id,
        "team_id": shift.schedule.team_id,
        "schedule": shift.schedule.id,
        "name": None,
        "type": None,
        "time_zone": zone,
        "level": None,
        "start": None,
        "duration": None,
        "rotation_start": None,
        "frequency": None,
        "interval": None,
        "until": None,
        "week_start": "MO",
        "by_day": None,
        "by_month": None,
        "by_monthday": None,
        "users": [],
        "rolling_users": None,
        "start_rotation_from_user_index": None,
    }
    if shift.override is not None:
        override = shift.override
        out.update(
            type="override",
            start=wall(override.start, zone),
            duration=int((override.end - override.start).total_seconds()),
            rotation_start=wall(override.start, zone),
            users=[override.user_id],
        )
        return out
    layer = shift.layer
    assert layer is not None and layer.start is not None and layer.rotation_unit is not None
    start = wall(layer.start, zone)
    out.update(name=layer.name, level=layer.position, start=start, rotation_start=start)
    if _is_single_event(layer) and layer.end is not None:
        out.update(
            type="single_event",
            duration=int((layer.end - layer.start).total_seconds()),
            users=list(layer.users),
        )
        return out
    restrictions = layer.restrictions
    if len(layer.users) == 1:
        # One person on a recurrence: Grafana's recurrent_event (a one-group rolling_users reads
        # back as this too).
        out.update(
            type="recurrent_event",
            duration=_window_seconds(restrictions[0]) if restrictions else _period(layer),
            frequency={unit: name for name, unit in FREQUENCIES.items()}[layer.rotation_unit],
            interval=layer.rotation_length,
            until=wall(layer.end, zone),
            users=list(layer.users),
        )
        if restrictions and restrictions[0]["kind"] == "weekly":
            out["by_day"] = [DAYS[WEEKDAYS.index(r["start_day"])] for r in restrictions]
        return out
    out.update(
        type="rolling_users",
        duration=_window_seconds(restrictions[0]) if restrictions else _period(layer),
        frequency={unit: name for name, unit in FREQUENCIES.items()}[layer.rotation_unit],
        interval=layer.rotation_length,
        until=wall(layer.end, zone),
        rolling_users=[[user] for user in layer.users],
        start_rotation_from_user_index=0,
    )
    if restrictions and restrictions[0]["kind"] == "weekly":
        out["by_day"] = [DAYS[WEEKDAYS.index(r["start_day"])] for r in restrictions]
    return out


# -- reading a request -------------------------------------------------------------------------


def shift_zone(body: dict[str, Any], schedule: Any) -> str:
    value = body.get("time_zone")
    if value is None:
        return str(schedule.time_zone)
    if not isinstance(value, str):
        raise invalid("time_zone", "Invalid timezone")
    try:
        load_zone(value)
    except ValueError:
        raise invalid("time_zone", "Invalid timezone") from None
    return value


def instant(body: dict[str, Any], field: str, zone: str, *, required: bool) -> datetime | None:
    value = body.get(field)
    if value is None:
        if required:
            raise invalid(field, "This field is required.")
        return None
    try:
        naive = datetime.strptime(str(value), FORMAT)
    except ValueError:
        raise invalid(
            field, "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm:ss."
        ) from None
    try:  # the native bounds (1970-3000), and year 1 or 9999 that a zone pushes off the calendar
        return check_instant(naive.replace(tzinfo=load_zone(zone)), field)
    except Invalid as error:
        raise invalid(field, error.message) from None


def positive_int(body: dict[str, Any], field: str, default: int | None = None) -> int:
    value = body.get(field, default)
    if value is None:
        raise invalid(field, "This field is required.")
    text = str(value).strip()
    if isinstance(value, bool) or not isinstance(value, int | str) or not (text.isascii() and text.isdigit()):
        raise invalid(field, "A valid integer is required.")
    number = int(text)
    if number < 1:
        raise invalid(field, "Ensure this value is greater than or equal to 1.")
    if number > MAX_SECONDS:
        raise invalid(field, f"Ensure this value is less than or equal to {MAX_SECONDS}.")
    return number


def one_user(body: dict[str, Any]) -> str:
    users = body.get("users")
    if not isinstance(users, list) or not users:
        raise invalid("users", "This field is required.")
    if len(users) > 1:
        raise invalid("users", "Tocsin puts one user on a single_event or override shift; send one user id")
    return str(users[0])


def refuse_fields(body: dict[str, Any], fields: tuple[str, ...], kind: str | None = None) -> None:
    for field in fields:
        if body.get(field) not in (None, [], ""):
            where = f"on {kind} shifts " if kind else ""
            raise invalid(field, f"{field} is not supported {where}by Tocsin")


def checked_type(body: dict[str, Any], *, name_required: bool) -> str:
    kind = body.get("type")
    if kind is None:
        raise invalid("type", "This field is required.")
    if kind not in TYPES:
        raise invalid("type", f'"{kind}" is not a valid choice.')
    name = body.get("name")
    if name_required and (not isinstance(name, str) or not name.strip()):
        raise invalid("name", "This field is required." if name is None else "This field may not be blank.")
    refuse_fields(body, ("by_month", "by_monthday"))
    week_start = body.get("week_start")
    if week_start is not None and week_start not in DAYS:
        raise invalid("week_start", f'"{week_start}" is not a valid choice.')
    return str(kind)


def layer_spec(body: dict[str, Any], kind: str, zone: str, schedule: Any) -> dict[str, Any]:
    """The native layer spec for a ``single_event`` or ``rolling_users`` body."""
    start = instant(body, "start", zone, required=True)
    assert start is not None
    duration = positive_int(body, "duration")
    name = str(body["name"]).strip()
    if kind == "single_event":
        refuse_fields(body, ("frequency", "by_day", "rolling_users"), kind)
        user = one_user(body)
        unit = next(
            (u for u in ("hours", "days", "weeks") if -(-duration // UNIT_SECONDS[u]) <= MAX_LENGTH), None
        )
        if unit is None:
            raise invalid("duration", f"A single event lasts at most {MAX_LENGTH} weeks.")
        return {
            "name": name,
            "users": [user],
            "rotation_unit": unit,
            "rotation_length": max(1, -(-duration // UNIT_SECONDS[unit])),
            "start": start,
            "end": start + timedelta(seconds=duration),
            "restrictions": [],
        }
    frequency = body.get("frequency")
    if frequency is None:
        raise invalid("frequency", "This field is required.")
    if not isinstance(frequency, str) or frequency not in FREQUENCIES:
        raise invalid("frequency", f"Frequency {frequency!r} is not supported by Tocsin")
    unit = FREQUENCIES[str(frequency)]
    interval = positive_int(body, "interval", 1)
    if interval > MAX_LENGTH:
        raise invalid("interval", f"Ensure this value is less than or equal to {MAX_LENGTH}.")
    if kind == "recurrent_event":
        # One person on a recurrence: a rotation of one, so the rotation itself never matters.
        refuse_fields(body, ("rolling_users", "start_rotation_from_user_index"), kind)
        groups: Any = [[one_user(body)]]
    elif body.get("users"):
        raise invalid("users", "A rolling_users shift takes its people from rolling_users")
    else:
        groups = body.get("rolling_users")
    if not isinstance(groups, list) or not groups:
        raise invalid("rolling_users", "This field is required.")
    users: list[str] = []
    for group in groups:
        if not isinstance(group, list) or len(group) != 1:
            raise invalid(
                "rolling_users",
                "Tocsin rotates one user at a time: each rolling_users group must hold exactly one user id",
            )
        users.append(str(group[0]))
    index = body.get("start_rotation_from_user_index")
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(users):
            raise invalid(
                "start_rotation_from_user_index", f"Must be an index into rolling_users (0..{len(users) - 1})"
            )
        users = users[index:] + users[:index]
    rotation_start = instant(body, "rotation_start", zone, required=False) or start
    until = instant(body, "until", zone, required=False)
    period = interval * UNIT_SECONDS[unit]
    by_day = body.get("by_day")
    restrictions: list[dict[str, Any]] = []
    local = start.astimezone(load_zone(zone))
    window_end = (local + timedelta(seconds=duration)).time()
    if by_day:
        # A one-person daily event on some weekdays is the same as a weekly one on those days; a
        # rotation of several people would turn over on the skipped days too, so it is refused.
        daily_single = frequency == "daily" and len(users) == 1
        if frequency != "weekly" and not daily_single:
            raise invalid("by_day", f"by_day with frequency {frequency!r} is not supported by Tocsin")
        if interval != 1:
            raise invalid("interval", "by_day is supported by Tocsin only with interval 1")
        if duration > DAY:
            raise invalid("duration", "With by_day, Tocsin supports a duration of at most 24 hours")
        if not isinstance(by_day, list) or any(day not in DAYS for day in by_day):
            raise invalid("by_day", f"Each day must be one of {', '.join(DAYS)}")
        crosses = local.time() >= window_end
        for day in dict.fromkeys(by_day):
            first = DAYS.index(day)
            last = (first + 1) % 7 if crosses else first
            restrictions.append(
                {
                    "kind": "weekly",
                    "start_day": WEEKDAYS[first],
                    "start": local.time().isoformat(timespec="seconds"),
                    "end_day": WEEKDAYS[last],
                    "end": window_end.isoformat(timespec="seconds"),
                }
            )
    elif duration != period:
        if frequency == "daily" and interval == 1 and duration < DAY:
            restrictions.append(
                {
                    "kind": "daily",
                    "start": local.time().isoformat(timespec="seconds"),
                    "end": window_end.isoformat(timespec="seconds"),
                }
            )
        else:
            raise invalid(
                "duration",
                f"Duration {duration}s is not supported by Tocsin for a {frequency} shift with interval "
                f"{interval}: use the whole period ({period}s), a daily window under 24h, or weekly by_day",
            )
    if restrictions and zone != schedule.time_zone:
        raise invalid(
            "time_zone",
            f"A shift shorter than its period must use the schedule's time zone {schedule.time_zone!r}",
        )
    return {
        "name": name,
        "users": users,
        "rotation_unit": unit,
        "rotation_length": interval,
        "start": rotation_start,
        "end": until,
        "restrictions": restrictions,
    }


def level_of(body: dict[str, Any]) -> int | None:
    value = body.get("level")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid("level", "A valid non-negative integer is required.")
    return value
