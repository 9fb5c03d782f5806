"""Overrides: a user placed on call over every layer, by hand or by taking someone's shift (spec 002)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ScheduleOverride, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.ids import new_id
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.schedules import oncall
from tocsin.services.schedules.schedules import get_schedule
from tocsin.services.schedules.specs import check_instant
from tocsin.services.sql import tenant_filter


@dataclass(frozen=True, slots=True)
class TakenShift:
    """The override a take-shift created, and who is on call once it starts."""

    override: ScheduleOverride
    on_call: list[oncall.ShiftEntry]


def _check_user(session: Session, tenant: Tenant, user_id: str, field: str) -> User:
    user = session.scalar(select(User).where(*tenant_filter(User, tenant), User.id == user_id))
    if user is None:
        raise Invalid(field, "not_found", f"unknown user id {user_id!r}")
    return user


def list_overrides(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    offset: int,
) -> Page[ScheduleOverride]:
    """By start; ``since``/``until`` keep the overrides that meet that window."""
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    stmt = (
        select(ScheduleOverride)
        .where(*tenant_filter(ScheduleOverride, tenant), ScheduleOverride.schedule_id == schedule.id)
        .order_by(ScheduleOverride.start, ScheduleOverride.id)
    )
    if since is not None:
        stmt = stmt.where(ScheduleOverride.end > check_instant(since, "since"))
    if until is not None:
        stmt = stmt.where(ScheduleOverride.start < check_instant(until, "until"))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def create_override(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    user_id: str,
    start: datetime,
    end: datetime,
    actor: Actor,
    now: datetime,
) -> ScheduleOverride:
    """Put ``user_id`` on call for ``[start, end)``; where overrides overlap the newest wins."""
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    user = _check_user(session, tenant, user_id, "user_id")
    start = check_instant(start, "start")
    end = check_instant(end, "end")
    if end <= start:
        raise Invalid("end", "before_start", "end must be after start")
    override = ScheduleOverride(
        id=new_id("schedule_override"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        schedule_id=schedule.id,
        user_id=user.id,
        start=start,
        end=end,
        created_by_type=actor.type,
        created_by_id=actor.id,
        created_by_name=actor.name,
        created_at=now,
    )
    session.add(override)
    session.flush()
    return override


def delete_override(*, session: Session, tenant: Tenant, schedule_id: str, override_id: str) -> None:
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    override = session.scalar(
        select(ScheduleOverride).where(
            *tenant_filter(ScheduleOverride, tenant),
            ScheduleOverride.id == override_id,
            ScheduleOverride.schedule_id == schedule.id,
        )
    )
    if override is None:
        raise NotFound("override", override_id)
    session.delete(override)
    session.flush()


def take_shift(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    user_id: str,
    actor: Actor,
    now: datetime,
    from_user_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> TakenShift:
    """``user_id`` covers from ``start`` (now) until ``end``, by default the end of the shift that
    ``from_user_id`` (or whoever is on call) is in at ``start``. 409 when there is no such shift."""
    get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    _check_user(session, tenant, user_id, "user_id")
    if from_user_id is not None:
        _check_user(session, tenant, from_user_id, "from_user_id")
        if from_user_id == user_id:
            raise Invalid("from_user_id", "same_user", "a user cannot take a shift from themselves")
    start = now if start is None else check_instant(start, "start")
    if end is not None:
        end = check_instant(end, "end")
        if end <= start:
            raise Invalid("end", "before_start", "end must be after start")
    if from_user_id is not None or end is None:
        current = oncall.on_call(session=session, tenant=tenant, schedule_id=schedule_id, at=start)
        if from_user_id is not None:
            theirs = [entry for entry in current if entry.user.id == from_user_id]
            if not theirs:
                raise Conflict(
                    f"user {from_user_id!r} is not on call at {start.isoformat()}; nothing to take",
                    {"field": "from_user_id", "reason": "not_on_call"},
                )
            current = theirs
        if end is None:
            if not current:
                raise Conflict(
                    f"nobody is on call at {start.isoformat()}; give an end to cover the gap",
                    {"field": "end", "reason": "nobody_on_call"},
                )
            if current[0].user.id == user_id:
                raise Conflict(
                    "that user is already on call; give an end to extend their shift",
                    {"field": "user_id", "reason": "already_on_call"},
                )
            end = current[0].end
    override = create_override(
        session=session,
        tenant=tenant,
        schedule_id=schedule_id,
        user_id=user_id,
        start=start,
        end=end,
        actor=actor,
        now=now,
    )
    after = oncall.on_call(session=session, tenant=tenant, schedule_id=schedule_id, at=start)
    return TakenShift(override=override, on_call=after)
