"""Schedules and their layers (rotations, or calendars as in ``ical_layers``): checked specs in, rows out.

The checks of each part are ``schedule_specs``; here are the ones that need the database (the
team and the people a layer names) and the rows. ``oncall`` turns the rows into the pure model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import Schedule, ScheduleLayer, User
from tocsin.domain.actor import Tenant
from tocsin.ids import new_id
from tocsin.services.checks import check_name, check_team, check_time_zone
from tocsin.services.errors import Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.schedules.ical_layers import ical_layer_values
from tocsin.services.schedules.specs import (
    LAYER_SOURCES,
    MAX_LAYERS,
    check_layer,
    layer_name,
)
from tocsin.services.sql import load, tenant_filter


def _existing_users(session: Session, tenant: Tenant, ids: Iterable[str]) -> set[str]:
    wanted = {i for i in ids if isinstance(i, str)}
    if not wanted:
        return set()
    return set(session.scalars(select(User.id).where(*tenant_filter(User, tenant), User.id.in_(wanted))))


def _set_layers(session: Session, tenant: Tenant, schedule: Schedule, specs: Any, now: datetime) -> None:
    """Replace the layer list. A spec with the ``id`` of one of this schedule's layers updates it in
    place (its id, and so its shifts' ``layer.id``, stay); layers left out are deleted."""
    if not isinstance(specs, list | tuple):
        raise Invalid("layers", "required", "layers must be a list; send [] for a schedule with no layers")
    if len(specs) > MAX_LAYERS:
        raise Invalid("layers", "too_long", f"a schedule has at most {MAX_LAYERS} layers")
    referenced = [u for s in specs if isinstance(s, Mapping) for u in (s.get("users") or [])]
    known = _existing_users(session, tenant, referenced)
    current = {layer.id: layer for layer in schedule.layers}
    kept: list[ScheduleLayer] = []
    seen: set[str] = set()
    for position, spec in enumerate(specs):
        field = f"layers.{position}"
        if not isinstance(spec, Mapping):
            raise Invalid(field, "invalid", f"{field} must be an object")
        source = spec.get("source") or "rotation"
        if source not in LAYER_SOURCES:
            raise Invalid(f"{field}.source", "invalid", f"{field}.source must be 'rotation' or 'ical'")
        layer_id = spec.get("id")
        if source == "ical":
            previous = current.get(layer_id) if isinstance(layer_id, str) else None
            values = ical_layer_values(
                spec,
                field,
                position=position,
                name=layer_name(spec, field, position),
                stored_text=previous.ical_text if previous else None,
            )
        else:
            values = check_layer(spec, field, position, known)
        if layer_id is not None:
            if layer_id not in current:
                raise Invalid(
                    f"{field}.id", "not_found", f"{field}.id: this schedule has no layer {layer_id!r}"
                )
            if layer_id in seen:
                raise Invalid(f"{field}.id", "duplicate", f"{field}.id: layer {layer_id!r} is listed twice")
            seen.add(layer_id)
            layer = current[layer_id]
            for column, value in values.items():
                setattr(layer, column, value)
            layer.updated_at = now
        else:
            layer = ScheduleLayer(
                id=new_id("schedule_layer"),
                org_id=tenant.org_id,
                livemode=tenant.livemode,
                created_at=now,
                updated_at=now,
                **values,
            )
        kept.append(layer)
    schedule.layers = kept


def create_schedule(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    name: str,
    time_zone: str,
    description: str | None = None,
    team_id: str | None = None,
    layers: Sequence[Mapping[str, Any]] = (),
) -> Schedule:
    """A schedule with its layers (lowest first), all checked before anything is written."""
    schedule = Schedule(
        id=new_id("schedule"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        name=check_name(name, "name"),
        description=description,
        time_zone=check_time_zone(time_zone),
        team_id=check_team(session=session, tenant=tenant, team_id=team_id),
        created_at=now,
        updated_at=now,
    )
    schedule.layers = []
    _set_layers(session, tenant, schedule, list(layers), now)
    session.add(schedule)
    session.flush()
    return schedule


def get_schedule(*, session: Session, tenant: Tenant, schedule_id: str) -> Schedule:
    return load(session=session, model=Schedule, tenant=tenant, ident=schedule_id, resource="schedule")


def list_schedules(
    *,
    session: Session,
    tenant: Tenant,
    team_ids: tuple[str, ...] = (),
    query: str | None = None,
    name: str | None = None,
    oldest_first: bool = False,
    limit: int,
    offset: int,
) -> Page[Schedule]:
    """By name (or oldest first); ``query`` matches part of the name, ``name`` all of it."""
    order = (Schedule.created_at, Schedule.id) if oldest_first else (Schedule.name, Schedule.id)
    stmt = (
        select(Schedule)
        .where(*tenant_filter(Schedule, tenant))
        .options(selectinload(Schedule.layers))
        .order_by(*order)
    )
    if name is not None:
        stmt = stmt.where(Schedule.name == name)
    if team_ids:
        stmt = stmt.where(Schedule.team_id.in_(team_ids))
    if query:
        stmt = stmt.where(func.lower(Schedule.name).contains(query.strip().lower(), autoescape=True))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_schedule(
    *, session: Session, tenant: Tenant, schedule_id: str, changes: Mapping[str, Any], now: datetime
) -> Schedule:
    """Fields present in ``changes`` are set; ``layers`` replaces the whole layer list."""
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    if "name" in changes:
        schedule.name = check_name(changes["name"], "name")
    if "description" in changes:
        schedule.description = changes["description"]
    if "time_zone" in changes:
        schedule.time_zone = check_time_zone(changes["time_zone"])
    if "team_id" in changes:
        schedule.team_id = check_team(session=session, tenant=tenant, team_id=changes["team_id"])
    if "layers" in changes:
        _set_layers(session, tenant, schedule, changes["layers"], now)
    schedule.updated_at = now
    session.flush()
    return schedule


def delete_schedule(*, session: Session, tenant: Tenant, schedule_id: str) -> None:
    """Its layers and overrides go with it."""
    session.delete(get_schedule(session=session, tenant=tenant, schedule_id=schedule_id))
    session.flush()


def layer_user_ids(schedules: Iterable[Schedule]) -> set[str]:
    """Every user id the layers of ``schedules`` name, to look them up in one query."""
    return {user for schedule in schedules for layer in schedule.layers for user in layer.users}
