"""Who is on call: load a snapshot of schedules (layers, the overrides of the window), compute with
the pure rotation math, and name the people and layers for the caller.

A user deleted after being put in a rotation is dropped from it (the next person takes the turn),
so nobody is ever paged through a ghost; their overrides were deleted with them.

A schedule with iCal layers is computed layer by layer (rotations by the rotation math, calendars by
``ical.imported_shifts`` with events matched to the tenant's users by email or name) and stacked by
``domain.layering`` with the same priority rule; a schedule of rotations only uses ``domain.schedule``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.domain import layering
from tocsin.domain import schedule as rota
from tocsin.domain.actor import Tenant
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.pagination import Page
from tocsin.services.people.lookup import UserRef, user_refs
from tocsin.services.schedules import ical_layers
from tocsin.services.schedules.schedules import get_schedule
from tocsin.services.schedules.specs import check_instant, to_layer
from tocsin.services.sql import tenant_filter

MAX_WINDOW = timedelta(days=90)
MAX_FEED_WINDOW = timedelta(days=180)


@dataclass(frozen=True, slots=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ShiftEntry:
    """A final or layer shift with the people and layer named, as the API shows it."""

    schedule: Named
    user: UserRef
    start: datetime
    end: datetime
    layer: Named | None
    override_id: str | None


@dataclass(frozen=True, slots=True)
class CalendarLayer:
    """An iCal layer as the snapshot computes it."""

    id: str
    ical_text: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One schedule as loaded for a window: the pure model and the names it refers to.

    ``model`` has the rotation layers and the overrides. When the schedule has iCal layers, ``stack``
    lists every layer lowest first (rotations and calendars) and ``user_keys`` maps event names and
    emails to users; otherwise ``stack`` is empty and ``model`` alone answers."""

    schedule: Named
    model: rota.Schedule
    layer_names: Mapping[str, str]
    users: Mapping[str, UserRef]
    stack: tuple[rota.Layer | CalendarLayer, ...] = ()
    user_keys: Mapping[str, str] = field(default_factory=dict)

    def final(self, since: datetime, until: datetime) -> list[rota.Shift]:
        """The final shifts in ``[since, until)``: layers stacked, overrides on top."""
        if not self.stack:
            return rota.final_shifts(self.model, since, until)
        return layering.stack(
            [self.own(layer, since, until) for layer in self.stack], self.model.overrides, since, until
        )

    def own(self, layer: rota.Layer | CalendarLayer, since: datetime, until: datetime) -> list[rota.Shift]:
        """One layer's own shifts in the window, before higher layers and overrides."""
        if isinstance(layer, rota.Layer):
            return rota.layer_shifts(layer, self.model.time_zone, since, until)
        zone = self.model.time_zone
        return ical_layers.layer_shifts(layer.id, layer.ical_text, self.user_keys, zone, since, until)[0]

    def on_call_at(self, at: datetime) -> list[rota.Shift]:
        if not self.stack:
            return rota.on_call_at(self.model, at)
        return layering.on_call_at(self.final, at)

    def gaps(self, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        if not self.stack:
            return rota.gaps(self.model, since, until)
        return layering.gaps(self.final(since, until), since, until)

    def entries(self, shifts: Iterable[rota.Shift]) -> list[ShiftEntry]:
        return [
            ShiftEntry(
                schedule=self.schedule,
                user=self.users[shift.user_id],
                start=shift.start,
                end=shift.end,
                layer=None
                if shift.layer_id is None
                else Named(shift.layer_id, self.layer_names[shift.layer_id]),
                override_id=shift.override_id,
            )
            for shift in shifts
        ]


def check_window(since: Any, until: Any, longest: timedelta = MAX_WINDOW) -> tuple[datetime, datetime]:
    """A query window: both ends with an offset, ``since < until``, at most ``longest`` (90 days)."""
    since = check_instant(since, "since")
    until = check_instant(until, "until")
    if until <= since:
        raise Invalid("until", "before_start", "until must be after since")
    if until - since > longest:
        raise Invalid("until", "range", f"the window from since to until is at most {longest.days} days")
    return since, until


def _naming(
    schedules: Sequence[Schedule],
    layers: Sequence[ScheduleLayer],
    overrides: Sequence[ScheduleOverride],
    user_ids: frozenset[str],
) -> list[Schedule]:
    """The schedules that can have one of ``user_ids`` on call: those naming one in a layer or an
    override, and any with an iCal layer (its people are only known once the calendar is read)."""
    keep = {o.schedule_id for o in overrides if o.user_id in user_ids}
    keep.update(
        layer.schedule_id
        for layer in layers
        if layer.source == "ical" or not user_ids.isdisjoint(layer.users)
    )
    return [schedule for schedule in schedules if schedule.id in keep]


def _snapshots(
    session: Session,
    tenant: Tenant,
    schedules: Sequence[Schedule],
    since: datetime,
    until: datetime,
    only_users: frozenset[str] | None = None,
) -> list[Snapshot]:
    """Three queries whatever the number of schedules: layers, overrides meeting the window, users.

    With ``only_users``, schedules that cannot have any of them on call are left out before the
    people are looked up and anything is computed."""
    if not schedules:
        return []
    ids = [schedule.id for schedule in schedules]
    layers = session.scalars(
        select(ScheduleLayer)
        .where(*tenant_filter(ScheduleLayer, tenant), ScheduleLayer.schedule_id.in_(ids))
        .order_by(ScheduleLayer.schedule_id, ScheduleLayer.position)
    ).all()
    overrides = session.scalars(
        select(ScheduleOverride)
        .where(
            *tenant_filter(ScheduleOverride, tenant),
            ScheduleOverride.schedule_id.in_(ids),
            ScheduleOverride.end > since,
            ScheduleOverride.start < until,
        )
        .order_by(ScheduleOverride.created_at, ScheduleOverride.id)
    ).all()
    if only_users is not None:
        schedules = _naming(schedules, layers, overrides, only_users)
        kept = {schedule.id for schedule in schedules}
        layers = [layer for layer in layers if layer.schedule_id in kept]
        overrides = [override for override in overrides if override.schedule_id in kept]
    users = user_refs(
        session=session,
        tenant=tenant,
        ids={u for layer in layers for u in layer.users} | {o.user_id for o in overrides},
    )
    user_keys: dict[str, str] = {}
    if any(layer.source == "ical" for layer in layers):
        everyone = ical_layers.tenant_users(session=session, tenant=tenant)
        users = {u.id: UserRef(u.id, u.name, u.email, u.username) for u in everyone}
        user_keys = ical_layers.users_by_key(everyone)
    layers_of: dict[str, list[ScheduleLayer]] = {}
    for layer in layers:
        layers_of.setdefault(layer.schedule_id, []).append(layer)
    overrides_of: dict[str, list[ScheduleOverride]] = {}
    for override in overrides:
        overrides_of.setdefault(override.schedule_id, []).append(override)
    snapshots = []
    for schedule in schedules:
        rows = layers_of.get(schedule.id, [])
        model_layers = []
        stack: list[rota.Layer | CalendarLayer] = []
        for row in rows:
            if row.source == "ical":
                stack.append(CalendarLayer(row.id, row.ical_text))
                continue
            present = [u for u in row.users if u in users]
            if present:
                model_layers.append(to_layer(row, present))
                stack.append(model_layers[-1])
        has_calendar = any(isinstance(layer, CalendarLayer) for layer in stack)
        model = rota.Schedule(
            time_zone=schedule.time_zone,
            layers=tuple(model_layers),
            overrides=tuple(
                rota.Override(o.id, o.user_id, o.start, o.end) for o in overrides_of.get(schedule.id, [])
            ),
        )
        snapshots.append(
            Snapshot(
                Named(schedule.id, schedule.name),
                model,
                {row.id: row.name for row in rows},
                users,
                tuple(stack) if has_calendar else (),
                user_keys if has_calendar else {},
            )
        )
    return snapshots


def _snapshot(
    session: Session, tenant: Tenant, schedule_id: str, since: datetime, until: datetime
) -> Snapshot:
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    return _snapshots(session, tenant, [schedule], since, until)[0]


def load_snapshot(
    *, session: Session, tenant: Tenant, schedule_id: str, since: datetime, until: datetime
) -> Snapshot:
    """A schedule ready to compute, with only the overrides that meet ``[since, until)``."""
    return _snapshot(session, tenant, schedule_id, since, until)


def load_snapshots(
    *, session: Session, tenant: Tenant, schedules: Sequence[Schedule], since: datetime, until: datetime
) -> list[Snapshot]:
    """``load_snapshot`` for many schedules, in a fixed number of queries."""
    return _snapshots(session, tenant, schedules, since, until)


def _around(at: datetime) -> tuple[datetime, datetime]:
    """The overrides ``on_call_at`` can ever look at: it follows a shift at most this far."""
    return at - rota.ON_CALL_HORIZON, at + rota.ON_CALL_HORIZON


def on_call(*, session: Session, tenant: Tenant, schedule_id: str, at: datetime) -> list[ShiftEntry]:
    """Who is on call at ``at``, with the whole shift they are in (spec 003's on-call endpoint)."""
    at = check_instant(at, "at")
    snapshot = _snapshot(session, tenant, schedule_id, *_around(at))
    return snapshot.entries(snapshot.on_call_at(at))


def on_call_users(*, session: Session, tenant: Tenant, schedule_id: str, at: datetime) -> list[UserRef]:
    """Who ``schedule_id`` has on call at ``at``; nobody for a schedule deleted since (an
    escalation rule or policy may still name it)."""
    try:
        entries = on_call(session=session, tenant=tenant, schedule_id=schedule_id, at=at)
    except NotFound:
        return []
    return [entry.user for entry in entries]


def shifts(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    since: datetime,
    until: datetime,
    layer_id: str | None = None,
) -> list[ShiftEntry]:
    """The final shifts in the window, or one layer's own shifts (before higher layers and overrides)."""
    since, until = check_window(since, until)
    snapshot = _snapshot(session, tenant, schedule_id, since, until)
    if layer_id is None:
        return snapshot.entries(snapshot.final(since, until))
    if layer_id not in snapshot.layer_names:
        raise Invalid("layer", "not_found", f"this schedule has no layer {layer_id!r}")
    for layer in snapshot.stack or snapshot.model.layers:
        if layer.id == layer_id:
            return snapshot.entries(snapshot.own(layer, since, until))
    return []  # every user of the layer was deleted: it has no shifts


def gaps(
    *, session: Session, tenant: Tenant, schedule_id: str, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """Spans of the window when nobody is on call, so holes in coverage show before they page no one."""
    since, until = check_window(since, until)
    return _snapshot(session, tenant, schedule_id, since, until).gaps(since, until)


def shifts_of_user(
    *, session: Session, tenant: Tenant, user_id: str, since: datetime, until: datetime
) -> list[ShiftEntry]:
    """One person's final shifts across every schedule of the tenant, soonest first ("when am I
    on call"): schedules that cannot name them are left out before anything is computed."""
    since, until = check_window(since, until)
    schedules = session.scalars(select(Schedule).where(*tenant_filter(Schedule, tenant))).all()
    entries = [
        entry
        for snapshot in _snapshots(session, tenant, schedules, since, until, frozenset({user_id}))
        for entry in snapshot.entries(snapshot.final(since, until))
        if entry.user.id == user_id
    ]
    return sorted(entries, key=lambda entry: (entry.start, entry.schedule.name))


def oncalls(
    *,
    session: Session,
    tenant: Tenant,
    at: datetime,
    user_ids: tuple[str, ...] = (),
    schedule_ids: tuple[str, ...] = (),
    limit: int,
    offset: int,
) -> Page[ShiftEntry]:
    """Everyone on call at ``at`` across the tenant's schedules, by schedule name."""
    at = check_instant(at, "at")
    stmt = select(Schedule).where(*tenant_filter(Schedule, tenant)).order_by(Schedule.name, Schedule.id)
    if schedule_ids:
        stmt = stmt.where(Schedule.id.in_(schedule_ids))
    schedules = session.scalars(stmt).all()
    only_users = frozenset(user_ids) if user_ids else None
    entries = [
        entry
        for snapshot in _snapshots(session, tenant, schedules, *_around(at), only_users)
        for entry in snapshot.entries(snapshot.on_call_at(at))
        if not user_ids or entry.user.id in user_ids
    ]
    return Page(items=entries[offset : offset + limit], total=len(entries), limit=limit, offset=offset)
