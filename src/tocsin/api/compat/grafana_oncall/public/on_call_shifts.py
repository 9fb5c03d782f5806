"""Grafana OnCall `/api/v1/on_call_shifts` over Tocsin's rotation layers (``lyr_…``) and schedule
overrides (``ovr_…``). Each shift belongs to a ``web`` schedule (``"schedule": <id>`` on create);
an unknown or other org's schedule id is a 404 ``{"detail": "Not found."}``, as an unknown shift id.

What maps, and how:

- ``rolling_users``: a rotation layer. ``frequency`` hourly|daily|weekly and ``interval`` become
  ``rotation_unit``/``rotation_length``; ``rolling_users`` must be single-user groups, flattened in
  order (rotated by ``start_rotation_from_user_index``); ``rotation_start`` (else ``start``) is the
  layer start; ``until`` its end. ``duration`` equal to the whole period means no restriction; a
  shorter daily window (daily, interval 1) becomes a daily restriction from the start's time; weekly
  with ``by_day`` (interval 1, duration up to 24h) weekly restrictions on those days.
- ``recurrent_event``: one person (``users: [id]``) on a recurrence, mapped as ``rolling_users``
  with that one person; daily with ``by_day`` (interval 1) is a weekly restriction on those days.
- ``single_event``: a one-user layer whose start and end are the event window (the rotation period
  is at least the window, so it never turns over).
- ``override``: a schedule override of ``users[0]`` for ``[start, start + duration)``.

Everything else is a 400 naming the field: ``monthly``, multi-user groups (several people on call
at once in one shift), ``recurrent_event`` with more than one user,
``by_month``/``by_monthday``, windows that are neither the whole period nor one of the above.

What does not round-trip exactly:

- ``time_zone`` reads back as the schedule's zone, and ``start``/``rotation_start``/``until`` as
  wall times there (the same instants). A restricted shift (a window shorter than its period) must
  be in the schedule's zone, since restrictions are the schedule's local times.
- ``start_rotation_from_user_index`` is applied by rotating the stored list: it reads back as 0 with
  ``rolling_users`` already rotated. ``week_start`` reads back ``"MO"`` (with interval 1 it changes
  nothing). ``start`` and ``rotation_start`` read back equal.
- ``level`` is the layer's position (0 = lowest); it places the layer on create and moves it on
  update. Overrides have ``level`` null (they sit above every layer).
- A ``rolling_users`` shift of one user reads back as ``recurrent_event`` (or as ``single_event``
  when its ``until`` falls within its first period).
- ``type`` and ``schedule`` cannot be changed by PUT (400). PUT is a full replace of what was sent
  over the shift as it reads now; PATCH is the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, invalid
from tocsin.api.compat.grafana_oncall.public.pagination import paginated, slice_page
from tocsin.api.compat.grafana_oncall.public.shift_mapping import (
    checked_type,
    instant,
    layer_spec,
    level_of,
    one_user,
    positive_int,
    refuse_fields,
    render,
    shift_zone,
)
from tocsin.api.deps import Db, Now, SchedulesRead, SchedulesWrite
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.schedules import layers as schedule_layers
from tocsin.services.schedules import overrides as schedule_overrides
from tocsin.services.schedules import schedules
from tocsin.services.schedules.layers import Shift

router = SlashRouter()

PATH = "/on_call_shifts"


def _translate(error: Invalid, kind: str) -> Exception:
    """A native layer/override error, named by the Grafana field it came from."""
    field = str(error.details.get("field") or "")
    leaf = field.rsplit(".", 1)[-1]
    mapping = {
        "users": "rolling_users" if kind == "rolling_users" else "users",
        "user_id": "users",
        "start": "start",
        "end": "until" if kind == "rolling_users" else "duration",
        "name": "name",
        "rotation_length": "interval",
    }
    return invalid(mapping.get(leaf, "non_field_errors"), str(error).split(": ", 1)[-1])


def _merged(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The shift as it reads now with the body's fields over it (unknown fields dropped)."""
    merged = {**current, **{k: v for k, v in body.items() if k in current}}
    if "rotation_start" not in body and "start" in body:
        merged["rotation_start"] = None
    return merged


# -- routes ------------------------------------------------------------------------------------


@router.get(PATH, summary="List on-call shifts (Grafana OnCall)")
def list_shifts(
    request: Request,
    key: SchedulesRead,
    db: Db,
    name: str | None = None,
    schedule_id: str | None = None,
    team_id: str | None = None,
) -> dict[str, Any]:
    """Schedules oldest first, each's layers (lowest first) then overrides; ``name`` matches it all."""
    with db.read() as session:
        shifts = [
            render(shift)
            for shift in schedule_layers.list_shifts(
                session=session, tenant=key.tenant, schedule_id=schedule_id, team_id=team_id
            )
        ]
    if name is not None:
        shifts = [shift for shift in shifts if shift["name"] == name]
    wanted, page = slice_page(request, shifts)
    return paginated(request, wanted, page.total, list(page.items))


@router.get(PATH + "/{shift_id}", summary="Get an on-call shift (Grafana OnCall)")
def get_shift(shift_id: str, key: SchedulesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return render(schedule_layers.get_shift(session=session, tenant=key.tenant, shift_id=shift_id))


def _schedule_of(session: Any, key: Any, body: dict[str, Any]) -> Any:
    schedule_id = body.get("schedule")
    if schedule_id is None or schedule_id == "":
        raise invalid("schedule", "This field is required.")
    return schedules.get_schedule(session=session, tenant=key.tenant, schedule_id=str(schedule_id))


def _write(session: Any, key: Any, body: dict[str, Any], now: datetime, existing: Shift | None) -> Shift:
    kind = checked_type(body, name_required=existing is None or existing.layer is not None)
    schedule = _schedule_of(session, key, body)
    zone = shift_zone(body, schedule)
    if existing is not None:
        if kind != render(existing)["type"]:
            raise invalid("type", "The type of a shift cannot be changed; delete it and create another")
        if schedule.id != existing.schedule.id:
            raise invalid("schedule", "The schedule of a shift cannot be changed")
    try:
        if kind == "override":
            refuse_fields(body, ("frequency", "by_day", "rolling_users", "until"), kind)
            start = instant(body, "start", zone, required=True)
            assert start is not None
            end = start + timedelta(seconds=positive_int(body, "duration"))
            user = one_user(body)
            if existing is None:
                override = schedule_overrides.create_override(
                    session=session,
                    tenant=key.tenant,
                    schedule_id=schedule.id,
                    user_id=user,
                    start=start,
                    end=end,
                    actor=key.actor,
                    now=now,
                )
            else:
                override = schedule_layers.move_override(
                    session=session,
                    tenant=key.tenant,
                    override_id=existing.id,
                    user_id=user,
                    start=start,
                    end=end,
                )
            return Shift(schedule=schedule, override=override)
        spec = layer_spec(body, kind, zone, schedule)
        if existing is None:
            layer = schedule_layers.add_layer(
                session=session,
                tenant=key.tenant,
                schedule_id=schedule.id,
                spec=spec,
                position=level_of(body),
                now=now,
            )
        else:
            layer = schedule_layers.replace_layer(
                session=session,
                tenant=key.tenant,
                layer_id=existing.id,
                spec=spec,
                position=level_of(body),
                now=now,
            )
        return Shift(schedule=schedule, layer=layer)
    except Invalid as error:
        raise _translate(error, kind) from None


@router.post(PATH, status_code=201, summary="Create an on-call shift (Grafana OnCall)")
def create_shift(body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    """On the schedule ``body["schedule"]``; see the module docstring for what maps."""
    with db.write() as session:
        return render(_write(session, key, body, now, None))


@router.put(PATH + "/{shift_id}", summary="Update an on-call shift (Grafana OnCall)")
@router.patch(PATH + "/{shift_id}", include_in_schema=False)
def update_shift(shift_id: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    """Same id; the type and schedule stay."""
    with db.write() as session:
        existing = schedule_layers.get_shift(session=session, tenant=key.tenant, shift_id=shift_id)
        merged = _merged(render(existing), body)
        if "level" not in body:
            merged["level"] = None
        return render(_write(session, key, merged, now, existing))


@router.delete(PATH + "/{shift_id}", status_code=204, response_class=Response)
def delete_shift(shift_id: str, key: SchedulesWrite, db: Db, now: Now) -> Response:
    with db.write() as session:
        shift = schedule_layers.get_shift(session=session, tenant=key.tenant, shift_id=shift_id)
        if shift.override is not None:
            schedule_overrides.delete_override(
                session=session, tenant=key.tenant, schedule_id=shift.schedule.id, override_id=shift.id
            )
        elif shift.layer is not None:
            schedule_layers.delete_layer(session=session, tenant=key.tenant, layer_id=shift.id, now=now)
        else:
            raise NotFound("on_call_shift", shift_id)
    return Response(status_code=204)
