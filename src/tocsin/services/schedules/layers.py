"""One rotation layer or override at a time, as Grafana OnCall's ``on_call_shifts`` edits them.

Layers are written through ``schedules.update_schedule`` (the whole layer list, each kept layer
by its id), so a layer added, changed or removed here passes exactly the checks a native schedule
write does. Overrides are created and deleted by ``schedule_overrides``; only moving one in place
(same id) lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Schedule, ScheduleLayer, ScheduleOverride, User
from tocsin.domain.actor import Tenant
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.schedules import schedules
from tocsin.services.schedules.specs import check_instant
from tocsin.services.sql import tenant_filter


@dataclass(frozen=True, slots=True)
class Shift:
    """A rotation layer or an override, with the schedule it belongs to."""

    schedule: Schedule
    layer: ScheduleLayer | None = None
    override: ScheduleOverride | None = None

    @property
    def id(self) -> str:
        row = self.layer or self.override
        assert row is not None
        return row.id


def _layer_spec(layer: ScheduleLayer) -> dict[str, Any]:
    """A stored layer as the spec that keeps it unchanged."""
    if layer.source != "rotation":
        return {"id": layer.id, "source": layer.source, "name": layer.name}
    return {
        "id": layer.id,
        "name": layer.name,
        "source": "rotation",
        "users": list(layer.users),
        "rotation_unit": layer.rotation_unit,
        "rotation_length": layer.rotation_length,
        "start": layer.start,
        "end": layer.end,
        "restrictions": [dict(r) for r in layer.restrictions],
    }


def get_shift(*, session: Session, tenant: Tenant, shift_id: str) -> Shift:
    """The tenant's rotation layer or override with this id; ``NotFound`` otherwise."""
    layer = session.scalar(
        select(ScheduleLayer).where(
            *tenant_filter(ScheduleLayer, tenant),
            ScheduleLayer.id == shift_id,
            ScheduleLayer.source == "rotation",
        )
    )
    if layer is not None:
        return Shift(schedule=layer.schedule, layer=layer)
    override = session.scalar(
        select(ScheduleOverride).where(
            *tenant_filter(ScheduleOverride, tenant), ScheduleOverride.id == shift_id
        )
    )
    if override is not None:
        schedule = schedules.get_schedule(session=session, tenant=tenant, schedule_id=override.schedule_id)
        return Shift(schedule=schedule, override=override)
    raise NotFound("on_call_shift", shift_id)


def list_shifts(
    *, session: Session, tenant: Tenant, schedule_id: str | None = None, team_id: str | None = None
) -> list[Shift]:
    """Schedules oldest first; in each, its rotation layers (lowest first) then its overrides
    (oldest first), the order ``schedule_shifts.shift_ids`` lists them in."""
    stmt = select(Schedule).where(*tenant_filter(Schedule, tenant)).order_by(Schedule.created_at, Schedule.id)
    if schedule_id is not None:
        stmt = stmt.where(Schedule.id == schedule_id)
    if team_id is not None:
        stmt = stmt.where(Schedule.team_id == team_id)
    found = list(session.scalars(stmt))
    if not found:
        return []
    overrides: dict[str, list[ScheduleOverride]] = {s.id: [] for s in found}
    for override in session.scalars(
        select(ScheduleOverride)
        .where(
            *tenant_filter(ScheduleOverride, tenant),
            ScheduleOverride.schedule_id.in_(list(overrides)),
        )
        .order_by(ScheduleOverride.created_at, ScheduleOverride.id)
    ):
        overrides[override.schedule_id].append(override)
    out: list[Shift] = []
    for schedule in found:
        out.extend(
            Shift(schedule=schedule, layer=layer) for layer in schedule.layers if layer.source == "rotation"
        )
        out.extend(Shift(schedule=schedule, override=override) for override in overrides[schedule.id])
    return out


def _write_layers(
    session: Session, tenant: Tenant, schedule: Schedule, specs: list[dict[str, Any]], now: datetime
) -> None:
    schedules.update_schedule(
        session=session, tenant=tenant, schedule_id=schedule.id, changes={"layers": specs}, now=now
    )


def add_layer(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    spec: Mapping[str, Any],
    position: int | None,
    now: datetime,
) -> ScheduleLayer:
    """A new rotation layer at ``position`` (the top when ``None``); the others keep their ids.
    Errors name the new layer's field as ``layers.<position>.<field>``."""
    schedule = schedules.get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    specs = [_layer_spec(layer) for layer in schedule.layers]
    at = len(specs) if position is None else max(0, min(position, len(specs)))
    specs.insert(at, {key: value for key, value in spec.items() if key != "id"})
    before = {layer.id for layer in schedule.layers}
    _write_layers(session, tenant, schedule, specs, now)
    return next(layer for layer in schedule.layers if layer.id not in before)


def replace_layer(
    *,
    session: Session,
    tenant: Tenant,
    layer_id: str,
    spec: Mapping[str, Any],
    position: int | None,
    now: datetime,
) -> ScheduleLayer:
    """Rewrite one rotation layer in place (same id), moved to ``position`` when one is given."""
    shift = get_shift(session=session, tenant=tenant, shift_id=layer_id)
    if shift.layer is None:
        raise NotFound("on_call_shift", layer_id)
    schedule = shift.schedule
    specs = [_layer_spec(layer) for layer in schedule.layers if layer.id != layer_id]
    current = next(i for i, layer in enumerate(schedule.layers) if layer.id == layer_id)
    at = current if position is None else max(0, min(position, len(specs)))
    specs.insert(at, {**spec, "id": layer_id})
    _write_layers(session, tenant, schedule, specs, now)
    return shift.layer


def delete_layer(*, session: Session, tenant: Tenant, layer_id: str, now: datetime) -> None:
    shift = get_shift(session=session, tenant=tenant, shift_id=layer_id)
    if shift.layer is None:
        raise NotFound("on_call_shift", layer_id)
    specs = [_layer_spec(layer) for layer in shift.schedule.layers if layer.id != layer_id]
    _write_layers(session, tenant, shift.schedule, specs, now)


def move_override(
    *,
    session: Session,
    tenant: Tenant,
    override_id: str,
    user_id: str,
    start: datetime,
    end: datetime,
) -> ScheduleOverride:
    """Change an override's person and window in place (same id), checked as ``create_override``."""
    shift = get_shift(session=session, tenant=tenant, shift_id=override_id)
    if shift.override is None:
        raise NotFound("on_call_shift", override_id)
    found = session.scalar(select(User.id).where(*tenant_filter(User, tenant), User.id == user_id))
    if found is None:
        raise Invalid("user_id", "not_found", f"unknown user id {user_id!r}")
    start = check_instant(start, "start")
    end = check_instant(end, "end")
    if end <= start:
        raise Invalid("end", "before_start", "end must be after start")
    override = shift.override
    override.user_id = user_id
    override.start = start
    override.end = end
    session.flush()
    session.expire(override, ["user"])
    return override
