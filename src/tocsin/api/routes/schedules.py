"""``/api/schedules``: schedules with nested layers, overrides, on-call (spec 003), shifts, gaps,
taking a shift (spec 002) and uploading an iCal layer's calendar. Feeds are in ``routes.ical``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, SchedulesRead, SchedulesWrite
from tocsin.api.errors import ApiError
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.schedules import (
    GapRead,
    OnCallRead,
    OverrideCreate,
    OverrideRead,
    ScheduleCreate,
    ScheduleRead,
    ScheduleUpdate,
    TakeShiftBody,
    TakeShiftRead,
)
from tocsin.domain.scopes import grants
from tocsin.services.errors import Invalid
from tocsin.services.people import lookup
from tocsin.services.query import csv_values
from tocsin.services.schedules import ical_layers, oncall, schedules
from tocsin.services.schedules import overrides as schedule_overrides

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


def instant(raw: str | None, field: str) -> datetime | None:
    """An RFC 3339 query value such as ``2024-03-31T09:00:00+02:00`` (a ``+`` sent unescaped arrives
    as a space). The offset is required: the service answers 400 for a naive value."""
    if raw is None or not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise Invalid(field, "invalid", f"{field}: {raw!r} is not an RFC 3339 date-time") from None


def _window(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    """``since`` and ``until``, both required."""
    ends = []
    for field, raw in (("since", since), ("until", until)):
        value = instant(raw, field)
        if value is None:
            raise Invalid(field, "required", f"{field} is required, e.g. {field}=2024-01-15T09:00:00Z")
        ends.append(value)
    return ends[0], ends[1]


def _read(session: Any, key: Any, items: list[Any], now: datetime) -> list[ScheduleRead]:
    """Schedules with their layers' users named, in one user query for all of them, and the events
    of their iCal layers that match nobody in the next 30 days."""
    users = lookup.user_refs(session=session, tenant=key.tenant, ids=schedules.layer_user_ids(items))
    unmapped = ical_layers.unmapped_labels(session=session, tenant=key.tenant, schedules=items, now=now)
    return [ScheduleRead.of(schedule, users, unmapped) for schedule in items]


@router.get("", response_model=ListEnvelope[ScheduleRead], summary="List schedules")
def list_schedules(
    key: SchedulesRead,
    db: Db,
    now: Now,
    team_id: str | None = None,
    query: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Sorted by name. ``team_id`` takes comma-separated values; ``query`` matches part of the name."""
    with db.read() as session:
        page = schedules.list_schedules(
            session=session,
            tenant=key.tenant,
            team_ids=csv_values(team_id),
            query=query.strip() if query and query.strip() else None,
            limit=limit,
            offset=offset,
        )
        result = page_envelope(page)
        result["data"] = _read(session, key, list(page.items), now)
        return result


@router.post("", status_code=201, response_model=Envelope[ScheduleRead], summary="Create a schedule")
def create_schedule(body: ScheduleCreate, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        schedule = schedules.create_schedule(
            session=session,
            tenant=key.tenant,
            now=now,
            name=body.name,
            time_zone=body.time_zone,
            description=body.description,
            team_id=body.team_id,
            layers=[layer.model_dump() for layer in body.layers],
        )
        return envelope(_read(session, key, [schedule], now)[0])


@router.get("/{schedule_id}", response_model=Envelope[ScheduleRead], summary="Get a schedule")
def get_schedule(schedule_id: str, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        schedule = schedules.get_schedule(session=session, tenant=key.tenant, schedule_id=schedule_id)
        return envelope(_read(session, key, [schedule], now)[0])


@router.patch("/{schedule_id}", response_model=Envelope[ScheduleRead], summary="Update a schedule")
def update_schedule(
    schedule_id: str, body: ScheduleUpdate, key: SchedulesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """Only the fields sent change; ``layers`` replaces the list (a layer sent with its ``id`` keeps it)."""
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        schedule = schedules.update_schedule(
            session=session, tenant=key.tenant, schedule_id=schedule_id, changes=changes, now=now
        )
        return envelope(_read(session, key, [schedule], now)[0])


@router.post(
    "/{schedule_id}/layers/{layer_id}/ical",
    response_model=Envelope[ScheduleRead],
    summary="Upload an iCal layer's calendar",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/calendar": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_layer_calendar(
    schedule_id: str, layer_id: str, request: Request, key: SchedulesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """Replace the calendar of an iCal layer with the ``.ics`` sent as the raw body (at most 1 MiB).
    A malformed calendar is a 400 naming ``body``; a rotation layer answers 409."""
    ics = await request.body()

    def replace() -> dict[str, Any]:
        with db.write() as session:
            schedule = ical_layers.replace_layer_calendar(
                session=session,
                tenant=key.tenant,
                schedule_id=schedule_id,
                layer_id=layer_id,
                ical=ics,
                now=now,
            )
            return envelope(_read(session, key, [schedule], now)[0])

    return await run_in_threadpool(replace)


@router.delete("/{schedule_id}", status_code=204, response_class=Response, summary="Delete a schedule")
def delete_schedule(schedule_id: str, key: SchedulesWrite, db: Db) -> Response:
    """Its layers and overrides are deleted with it."""
    with db.write() as session:
        schedules.delete_schedule(session=session, tenant=key.tenant, schedule_id=schedule_id)
    return Response(status_code=204)


@router.get("/{schedule_id}/overrides", response_model=ListEnvelope[OverrideRead], summary="List overrides")
def list_overrides(
    schedule_id: str,
    key: SchedulesRead,
    db: Db,
    since: str | None = None,
    until: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """By start; ``since``/``until`` keep the overrides that meet that window."""
    window = instant(since, "since"), instant(until, "until")
    with db.read() as session:
        page = schedule_overrides.list_overrides(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            since=window[0],
            until=window[1],
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, OverrideRead.of)


@router.post(
    "/{schedule_id}/overrides",
    status_code=201,
    response_model=Envelope[OverrideRead],
    summary="Add an override",
)
def create_override(
    schedule_id: str, body: OverrideCreate, key: SchedulesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """``user_id`` is on call for ``[start, end)`` above every layer; the newest override wins an overlap."""
    with db.write() as session:
        override = schedule_overrides.create_override(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            user_id=body.user_id,
            start=body.start,
            end=body.end,
            actor=key.actor,
            now=now,
        )
        return envelope(OverrideRead.of(override))


@router.delete(
    "/{schedule_id}/overrides/{override_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an override",
)
def delete_override(schedule_id: str, override_id: str, key: SchedulesWrite, db: Db) -> Response:
    with db.write() as session:
        schedule_overrides.delete_override(
            session=session, tenant=key.tenant, schedule_id=schedule_id, override_id=override_id
        )
    return Response(status_code=204)


@router.get(
    "/{schedule_id}/on-call", response_model=Envelope[list[OnCallRead]], summary="Get current on-call"
)
def get_on_call(
    schedule_id: str, key: SchedulesRead, db: Db, now: Now, at: str | None = None
) -> dict[str, Any]:
    """Who is on call now (or at ``at``), with the whole shift they are in, and its layer or override."""
    when = instant(at, "at") or now
    with db.read() as session:
        entries = oncall.on_call(session=session, tenant=key.tenant, schedule_id=schedule_id, at=when)
        return envelope([OnCallRead.of(entry) for entry in entries])


@router.get("/{schedule_id}/shifts", response_model=Envelope[list[OnCallRead]], summary="List shifts")
def list_shifts(
    schedule_id: str,
    key: SchedulesRead,
    db: Db,
    since: str | None = None,
    until: str | None = None,
    layer: str | None = None,
) -> dict[str, Any]:
    """The final shifts in ``[since, until)`` (at most 90 days), or with ``layer`` that layer's own."""
    window = _window(since, until)
    with db.read() as session:
        entries = oncall.shifts(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            since=window[0],
            until=window[1],
            layer_id=layer or None,
        )
        return envelope([OnCallRead.of(entry) for entry in entries])


@router.get("/{schedule_id}/gaps", response_model=Envelope[list[GapRead]], summary="List coverage gaps")
def list_gaps(
    schedule_id: str, key: SchedulesRead, db: Db, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """Spans of ``[since, until)`` (at most 90 days) when nobody is on call."""
    window = _window(since, until)
    with db.read() as session:
        holes = oncall.gaps(
            session=session, tenant=key.tenant, schedule_id=schedule_id, since=window[0], until=window[1]
        )
        return envelope([GapRead(start=start, end=end) for start, end in holes])


@router.post(
    "/{schedule_id}/take-shift",
    status_code=201,
    response_model=Envelope[TakeShiftRead],
    summary="Take a shift",
)
def take_shift(schedule_id: str, body: TakeShiftBody, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    """An override for ``user_id`` from ``start`` (now) until ``end`` (the end of the current shift of
    ``from_user_id``, or of whoever is on call). A user key may take a shift for its own user;
    taking one for someone else needs ``schedules:write``. 409 when there is no shift to take."""
    if body.user_id != key.user_id and not grants(key.scopes, "schedules:write"):
        raise ApiError(
            "FORBIDDEN",
            "Taking a shift for another user needs the 'schedules:write' scope; "
            "a user's key may take a shift for that user",
            {"required_scope": "schedules:write"},
        )
    with db.write() as session:
        taken = schedule_overrides.take_shift(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            user_id=body.user_id,
            from_user_id=body.from_user_id,
            start=body.start,
            end=body.end,
            actor=key.actor,
            now=now,
        )
        return envelope(
            TakeShiftRead(
                override=OverrideRead.of(taken.override),
                on_call=[OnCallRead.of(entry) for entry in taken.on_call],
            )
        )
