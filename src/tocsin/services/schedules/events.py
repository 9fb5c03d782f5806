"""A schedule's timeline: what happened to its coverage and who did it (swap requests asked, taken,
cancelled and expired; the overrides a take made), so "why is Bob on call tonight?" has an answer.

Entries are written in the transaction of the change they describe, so a rolled-back take leaves
no trace and a committed one always has its story. The timeline reads oldest first, like an
incident's: it is a log, read from the beginning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ScheduleEvent
from tocsin.domain.actor import Actor, Tenant
from tocsin.ids import new_id
from tocsin.services.errors import Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.schedules.schedules import get_schedule
from tocsin.services.sql import tenant_filter

SWAP_REQUESTED: Final = "swap_requested"
SWAP_UPDATED: Final = "swap_updated"
SWAP_TAKEN: Final = "swap_taken"
SWAP_CANCELLED: Final = "swap_cancelled"
SWAP_EXPIRED: Final = "swap_expired"
OVERRIDE_CREATED: Final = "override_created"
TYPES: Final = (SWAP_REQUESTED, SWAP_UPDATED, SWAP_TAKEN, SWAP_CANCELLED, SWAP_EXPIRED, OVERRIDE_CREATED)


def record(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    type: str,
    message: str,
    actor: Actor,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> ScheduleEvent:
    """Append one entry (in the caller's transaction); ``data`` carries the ids involved."""
    event = ScheduleEvent(
        id=new_id("schedule_event"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        schedule_id=schedule_id,
        type=type,
        message=message[:2000],
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name[:200],
        data=data or {},
        created_at=now,
    )
    session.add(event)
    return event


def list_events(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    types: tuple[str, ...] = (),
    limit: int,
    offset: int,
) -> Page[ScheduleEvent]:
    """Oldest first; ``types`` keeps only those kinds. An unknown schedule is a 404."""
    unknown = sorted(set(types) - set(TYPES))
    if unknown:
        raise Invalid("type", "invalid", f"unknown event type {unknown[0]!r}; one of {', '.join(TYPES)}")
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    stmt = (
        select(ScheduleEvent)
        .where(*tenant_filter(ScheduleEvent, tenant), ScheduleEvent.schedule_id == schedule.id)
        .order_by(ScheduleEvent.created_at, ScheduleEvent.id)
    )
    if types:
        stmt = stmt.where(ScheduleEvent.type.in_(types))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)
