"""Absences: a person away from ``start`` to ``end`` (Splunk On-Call's scheduled "overrides").

An absence changes nobody's rota by itself. It is covered policy by policy: assigning a
replacement for a policy puts them on call, with one schedule override per schedule of the policy
that has the absent person in it, for the absence's window; those overrides point back at the
absence and go with it when it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin.db.models import Absence, EscalationPolicy, Schedule, ScheduleOverride, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.restrictions import load_zone
from tocsin.ids import new_id
from tocsin.services.checks import check_time_zone
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.people import directory
from tocsin.services.schedules import oncall
from tocsin.services.schedules.overrides import create_override
from tocsin.services.schedules.policy_oncall import schedule_ids
from tocsin.services.schedules.specs import check_instant
from tocsin.services.sql import tenant_filter

RESOURCE: Final = "override"


def _instant(value: datetime, zone: str, field: str) -> datetime:
    """A wall time without an offset is read in the absence's own time zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=load_zone(zone))
    return check_instant(value, field)


def create_absence(
    *,
    session: Session,
    tenant: Tenant,
    user: User,
    start: datetime,
    end: datetime,
    time_zone: str,
    actor: Actor,
    now: datetime,
) -> Absence:
    """``user`` is away for ``[start, end)``; nobody covers them until an assignment is made."""
    zone = check_time_zone(time_zone, "timezone")
    begins, ends = _instant(start, zone, "start"), _instant(end, zone, "end")
    if ends <= begins:
        raise Invalid("end", "before_start", "end must be after start")
    absence = Absence(
        id=new_id("absence"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        user_id=user.id,
        start=begins,
        end=ends,
        time_zone=zone,
        created_by_name=actor.name,
        created_at=now,
    )
    session.add(absence)
    session.flush()
    return absence


def list_absences(*, session: Session, tenant: Tenant) -> list[Absence]:
    """Every absence, soonest first."""
    stmt = select(Absence).where(*tenant_filter(Absence, tenant)).order_by(Absence.start, Absence.id)
    return list(session.scalars(stmt))


def get_absence(*, session: Session, tenant: Tenant, absence_id: str) -> Absence:
    absence = session.scalar(select(Absence).where(*tenant_filter(Absence, tenant), Absence.id == absence_id))
    if absence is None:
        raise NotFound(RESOURCE, absence_id)
    return absence


def delete_absence(*, session: Session, tenant: Tenant, absence_id: str) -> None:
    """The absence and the cover arranged for it: its replacements are no longer on call."""
    absence = get_absence(session=session, tenant=tenant, absence_id=absence_id)
    session.execute(delete(ScheduleOverride).where(ScheduleOverride.absence_id == absence.id))
    session.delete(absence)
    session.flush()


@dataclass(frozen=True, slots=True)
class Assignment:
    """One policy the absent person is on a schedule of, and who covers them there (if anyone)."""

    entry: directory.PolicyEntry
    replacement: User | None


def _affected(session: Session, tenant: Tenant, absence: Absence, policy: EscalationPolicy) -> list[str]:
    """The policy's schedules that can have the absent person on call during the absence."""
    wanted = schedule_ids(policy)
    schedules = session.scalars(
        select(Schedule).where(*tenant_filter(Schedule, tenant), Schedule.id.in_(wanted))
    ).all()
    snapshots = oncall.load_snapshots(
        session=session, tenant=tenant, schedules=schedules, since=absence.start, until=absence.end
    )
    return [s.schedule.id for s in snapshots if absence.user_id in s.users]


def assignments(*, session: Session, tenant: Tenant, absence: Absence) -> list[Assignment]:
    """Per policy the absent person could be on call for (by name), its replacement or ``None``."""
    covers = session.scalars(
        select(ScheduleOverride).where(
            *tenant_filter(ScheduleOverride, tenant), ScheduleOverride.absence_id == absence.id
        )
    ).all()
    result = []
    for entry in directory.policies(session=session, tenant=tenant):
        affected = _affected(session, tenant, absence, entry.policy)
        if not affected:
            continue
        cover = next((c for c in covers if c.schedule_id in affected), None)
        result.append(Assignment(entry, cover.user if cover is not None else None))
    return result


def assign(
    *,
    session: Session,
    tenant: Tenant,
    absence: Absence,
    policy: EscalationPolicy,
    replacement: User,
    actor: Actor,
    now: datetime,
) -> list[ScheduleOverride]:
    """``replacement`` covers the absence on each of the policy's schedules the absent person is
    in, replacing whoever covered it there before; 400 when the policy does not involve them."""
    if replacement.id == absence.user_id:
        raise Invalid("username", "same_user", "the replacement must be someone other than the absent user")
    affected = _affected(session, tenant, absence, policy)
    if not affected:
        raise Invalid(
            "policySlug", "not_affected", f"the absent user is on no schedule of policy {policy.id!r}"
        )
    session.execute(
        delete(ScheduleOverride).where(
            ScheduleOverride.absence_id == absence.id, ScheduleOverride.schedule_id.in_(affected)
        )
    )
    made = []
    for schedule_id in affected:
        override = create_override(
            session=session,
            tenant=tenant,
            schedule_id=schedule_id,
            user_id=replacement.id,
            start=absence.start,
            end=absence.end,
            actor=actor,
            now=now,
        )
        override.absence_id = absence.id
        made.append(override)
    session.flush()
    return made
