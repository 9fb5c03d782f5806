"""A schedule's shifts seen one by one, as Grafana OnCall's API lists them: each rotation layer and
each override is a "shift" of its schedule; final shifts carry the user's handle; who is on call
now, per schedule. Reads only: layers and overrides are written by ``schedules`` and
``schedule_overrides``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.domain.actor import Tenant
from tocsin.services.schedules import oncall
from tocsin.services.sql import tenant_filter


@dataclass(frozen=True, slots=True)
class FinalShift:
    """One person's final shift, clipped to the window asked for."""

    user_id: str
    email: str
    username: str | None
    start: datetime
    end: datetime


def shift_ids(*, session: Session, tenant: Tenant, schedule_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each schedule's rotation layers (lowest first) then its overrides (oldest first), by id;
    two queries for any number of schedules. Calendar (iCal) layers are not shifts."""
    wanted = list(schedule_ids)
    found: dict[str, list[str]] = defaultdict(list)
    if not wanted:
        return {}
    layers = session.execute(
        select(ScheduleLayer.schedule_id, ScheduleLayer.id)
        .where(
            *tenant_filter(ScheduleLayer, tenant),
            ScheduleLayer.schedule_id.in_(wanted),
            ScheduleLayer.source == "rotation",
        )
        .order_by(ScheduleLayer.schedule_id, ScheduleLayer.position)
    )
    for schedule_id, layer_id in layers:
        found[schedule_id].append(layer_id)
    overrides = session.execute(
        select(ScheduleOverride.schedule_id, ScheduleOverride.id)
        .where(*tenant_filter(ScheduleOverride, tenant), ScheduleOverride.schedule_id.in_(wanted))
        .order_by(ScheduleOverride.schedule_id, ScheduleOverride.created_at, ScheduleOverride.id)
    )
    for schedule_id, override_id in overrides:
        found[schedule_id].append(override_id)
    return dict(found)


def on_call_now(
    *, session: Session, tenant: Tenant, schedules: Sequence[Schedule], now: datetime
) -> dict[str, list[str]]:
    """The user ids on call at ``now`` in each schedule."""
    return {
        schedule.id: [
            entry.user.id
            for entry in oncall.on_call(session=session, tenant=tenant, schedule_id=schedule.id, at=now)
        ]
        for schedule in schedules
    }


def final_shifts(
    *, session: Session, tenant: Tenant, schedule_id: str, since: datetime, until: datetime
) -> list[FinalShift]:
    """The final shifts of ``[since, until)`` (any length: the caller bounds it), clipped to it."""
    snapshot = oncall.load_snapshot(
        session=session, tenant=tenant, schedule_id=schedule_id, since=since, until=until
    )
    entries = snapshot.entries(snapshot.final(since, until))
    return [
        FinalShift(
            user_id=entry.user.id,
            email=entry.user.email,
            username=entry.user.username,
            start=max(entry.start, since),
            end=min(entry.end, until),
        )
        for entry in entries
    ]
