"""Grafana OnCall `/api/v1/schedules`: every Tocsin schedule is a ``web`` schedule (its rotation
layers and overrides are its ``shifts``, see ``on_call_shifts``); ``ical`` and ``calendar``
schedules are refused by name. Also ``{id}/final_shifts`` (paginated, clipped to the window) and
``{id}/export`` (the schedule's iCal feed).

Fields are in upstream's order (``ScheduleWebSerializer``, then ``type`` added last by the
polymorphic serializer). Unlike upstream, a web schedule's name, zone and team can be updated; its
``shifts`` list is managed through ``on_call_shifts`` (each is created with ``"schedule"``), so a
PUT may only send the list it already has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request, Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, invalid, optional_string
from tocsin.api.compat.grafana_oncall.public.pagination import fetch_page, paginated, slice_page
from tocsin.api.deps import Db, Now, SchedulesRead, SchedulesWrite
from tocsin.services.errors import Invalid
from tocsin.services.schedules import ical_feeds, schedules
from tocsin.services.schedules import shifts as schedule_shifts

router = SlashRouter()

PATH = "/schedules"
MAX_SPAN = timedelta(days=365)
DATE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d")


def render(schedule: Any, on_call: list[str], shifts: list[str]) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "team_id": schedule.team_id,
        "name": schedule.name,
        "time_zone": schedule.time_zone,
        "slack": {"channel_id": None, "user_group_id": None},
        "on_call_now": on_call,
        "shifts": shifts,
        "type": "web",
    }


def _render_all(session: Any, key: Any, items: list[Any], now: datetime) -> list[dict[str, Any]]:
    ids = schedule_shifts.shift_ids(session=session, tenant=key.tenant, schedule_ids=[s.id for s in items])
    on_call = schedule_shifts.on_call_now(session=session, tenant=key.tenant, schedules=items, now=now)
    return [render(s, on_call.get(s.id, []), ids.get(s.id, [])) for s in items]


def _fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The schedule columns a Grafana body sets, checked as upstream words its errors."""
    changes: dict[str, Any] = {}
    if creating:
        kind = body.get("type")
        if kind is None:
            raise invalid("type", "This field is required.")
        if kind != "web":
            raise invalid(
                "type", f"Schedule type {kind!r} is not supported by Tocsin; create a 'web' schedule"
            )
    for field in ("name", "time_zone"):
        if field in body or creating:
            value = body.get(field)
            if value is None:
                raise invalid(
                    field, "This field is required." if field not in body else "This field may not be null."
                )
            if not isinstance(value, str) or not value.strip():
                raise invalid(
                    field, "This field may not be blank." if field == "name" else "Invalid timezone"
                )
            changes[field] = value
    if "team_id" in body:
        changes["team_id"] = optional_string(body, "team_id") or None
    return changes


def _zone_error(error: Invalid) -> Exception:
    if error.details.get("field") == "time_zone":
        return invalid("time_zone", "Invalid timezone")
    return error


@router.get(PATH, summary="List schedules (Grafana OnCall)")
def list_schedules(
    request: Request,
    key: SchedulesRead,
    db: Db,
    now: Now,
    name: str | None = None,
    team_id: str | None = None,
) -> dict[str, Any]:
    """Oldest first; ``name`` matches the whole name."""
    with db.read() as session:
        wanted, page = fetch_page(
            request,
            lambda limit, offset: schedules.list_schedules(
                session=session,
                tenant=key.tenant,
                team_ids=(team_id,) if team_id else (),
                name=name,
                oldest_first=True,
                limit=limit,
                offset=offset,
            ),
        )
        return paginated(request, wanted, page.total, _render_all(session, key, list(page.items), now))


@router.get(PATH + "/{schedule_id}", summary="Get a schedule (Grafana OnCall)")
def get_schedule(schedule_id: str, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        schedule = schedules.get_schedule(session=session, tenant=key.tenant, schedule_id=schedule_id)
        return _render_all(session, key, [schedule], now)[0]


@router.post(PATH, status_code=201, summary="Create a schedule (Grafana OnCall)")
def create_schedule(body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    """A new schedule has no shifts: create them through ``on_call_shifts`` with its id."""
    fields = _fields(body, creating=True)
    if body.get("shifts"):
        raise invalid(
            "shifts", 'Create the schedule first, then its on-call shifts with "schedule": <its id>'
        )
    with db.write() as session:
        try:
            schedule = schedules.create_schedule(
                session=session,
                tenant=key.tenant,
                now=now,
                name=fields["name"],
                time_zone=fields["time_zone"],
                team_id=fields.get("team_id"),
            )
        except Invalid as error:
            raise _zone_error(error) from None
        return _render_all(session, key, [schedule], now)[0]


@router.put(PATH + "/{schedule_id}", summary="Update a schedule (Grafana OnCall)")
@router.patch(PATH + "/{schedule_id}", include_in_schema=False)
def update_schedule(schedule_id: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    """``name``, ``time_zone`` and ``team_id``; ``shifts`` may only repeat the current list."""
    changes = _fields(body, creating=False)
    with db.write() as session:
        schedule = schedules.get_schedule(session=session, tenant=key.tenant, schedule_id=schedule_id)
        if "shifts" in body:
            current = schedule_shifts.shift_ids(
                session=session, tenant=key.tenant, schedule_ids=[schedule.id]
            ).get(schedule.id, [])
            sent = body["shifts"] or []
            if not isinstance(sent, list) or sorted(map(str, sent)) != sorted(current):
                raise invalid(
                    "shifts",
                    "Tocsin manages a schedule's shifts through on_call_shifts: "
                    "create one with this schedule, or delete it",
                )
        try:
            schedule = schedules.update_schedule(
                session=session, tenant=key.tenant, schedule_id=schedule_id, changes=changes, now=now
            )
        except Invalid as error:
            raise _zone_error(error) from None
        return _render_all(session, key, [schedule], now)[0]


@router.delete(PATH + "/{schedule_id}", status_code=204, response_class=Response)
def delete_schedule(schedule_id: str, key: SchedulesWrite, db: Db) -> Response:
    """Its shifts (layers and overrides) go with it."""
    with db.write() as session:
        schedules.delete_schedule(session=session, tenant=key.tenant, schedule_id=schedule_id)
    return Response(status_code=204)


def _date(raw: str | None, field: str) -> tuple[datetime, bool]:
    """A query date as upstream reads it (UTC), and whether it named a whole day."""
    if raw is None or not raw.strip():
        raise invalid(field, "This field is required.")
    for number, pattern in enumerate(DATE_FORMATS):
        try:
            parsed = datetime.strptime(raw.strip(), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        if not 1970 <= parsed.year < 3000:  # as the native API's instants; 9999-12-31 + 1 day overflows
            raise invalid(field, "Date must be between 1970 and 3000.")
        return parsed, number == 1
    raise invalid(
        field, "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm, YYYY-MM-DD."
    )


def timestamp(value: datetime) -> str:
    """A shift bound as DRF writes a datetime: ISO-8601 in UTC with ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@router.get(PATH + "/{schedule_id}/final_shifts", summary="A schedule's final shifts (Grafana OnCall)")
def final_shifts(
    schedule_id: str,
    request: Request,
    key: SchedulesRead,
    db: Db,
    start_date: str | None = None,
    end_date: str | None = None,
) -> dict[str, Any]:
    """Who is on call from ``start_date`` until the end of ``end_date`` (a whole day when given as
    ``YYYY-MM-DD``), each shift clipped to that window; at most 365 days apart."""
    with db.read() as session:
        schedules.get_schedule(session=session, tenant=key.tenant, schedule_id=schedule_id)
    since, _ = _date(start_date, "start_date")
    until, whole_day = _date(end_date, "end_date")
    if since > until:
        raise invalid("non_field_errors", "start_date must be less than or equal to end_date")
    if until - since > MAX_SPAN:
        raise invalid(
            "non_field_errors",
            "The difference between start_date and end_date must be less than one year (365 days)",
        )
    window_end = until + timedelta(days=1) if whole_day else until
    with db.read() as session:
        shifts = schedule_shifts.final_shifts(
            session=session, tenant=key.tenant, schedule_id=schedule_id, since=since, until=window_end
        )
    wanted, page = slice_page(request, shifts)
    results = [
        {
            "user_pk": shift.user_id,
            "user_email": shift.email,
            "user_username": shift.username,
            "shift_start": timestamp(shift.start),
            "shift_end": timestamp(shift.end),
        }
        for shift in page.items
    ]
    return paginated(request, wanted, page.total, results)


@router.get(
    PATH + "/{schedule_id}/export", response_class=Response, summary="A schedule as iCal (Grafana OnCall)"
)
def export(schedule_id: str, key: SchedulesRead, db: Db, now: Now) -> Response:
    """The schedule's final shifts from 7 days ago to 60 days ahead, as ``text/calendar``."""
    since, until = ical_feeds.feed_window(None, None, now)
    with db.read() as session:
        feed = ical_feeds.schedule_feed(
            session=session, tenant=key.tenant, schedule_id=schedule_id, since=since, until=until, now=now
        )
    return Response(feed.body, media_type="text/calendar; charset=utf-8")
