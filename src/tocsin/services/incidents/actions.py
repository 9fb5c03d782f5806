"""Moving incidents between states (acknowledge, resolve, snooze, reopen) and editing them, each
change written to the timeline with its actor."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status, Urgency, can_transition
from tocsin.services.errors import Conflict, Invalid
from tocsin.services.incidents import timeline
from tocsin.services.incidents.records import (
    MAX_TITLE,
    check_users,
    find_open_by_dedup,
    get_incident,
    normalize_priority,
    set_assignees,
)
from tocsin.services.paging import PagingSettings, on_transition
from tocsin.services.sql import tenant_filter

MAX_SNOOZE = timedelta(days=30)


def transition(
    *,
    session: Session,
    incident: Incident,
    target: Status,
    actor: Actor,
    now: datetime,
    snoozed_until: datetime | None = None,
    via: str | None = None,
    paging: PagingSettings,
) -> bool:
    """Move ``incident`` to ``target``. Same state is a no-op (``False``); an illegal move is a 409."""
    current = Status(incident.status)
    if current == target and target != Status.SNOOZED:
        return False
    if not can_transition(current, target):
        raise Conflict(
            f"cannot move incident #{incident.number} from {current.value} to {target.value}",
            {"status": current.value, "target": target.value},
        )
    if current == Status.RESOLVED and find_open_by_dedup(
        session=session,
        tenant=Tenant(incident.org_id, incident.livemode),
        service_id=incident.service_id,
        dedup_key=incident.dedup_key,
    ):
        raise Conflict(
            f"cannot reopen incident #{incident.number}: another open incident has its dedup_key",
            {"dedup_key": incident.dedup_key},
        )
    incident.status = target.value
    incident.updated_at = now
    suffix = f" via {via}" if via else ""
    if target == Status.ACKNOWLEDGED:
        incident.acknowledged_at = now
        incident.snoozed_until = None
        kind, message = "acknowledged", f"Acknowledged by {actor.name}{suffix}"
        _assign_acknowledger(session, incident, actor, now)
    elif target == Status.RESOLVED:
        incident.resolved_at = now
        incident.snoozed_until = None
        kind, message = "resolved", f"Resolved by {actor.name}{suffix}"
    elif target == Status.SNOOZED:
        assert snoozed_until is not None
        incident.snoozed_until = snoozed_until
        kind, message = "snoozed", f"Snoozed by {actor.name} until {snoozed_until.isoformat()}"
    else:
        kind = {
            Status.SNOOZED: "unsnoozed",
            Status.ACKNOWLEDGED: "unacknowledged",
            Status.RESOLVED: "reopened",
        }.get(current, "reopened")
        message = f"{kind.capitalize()} by {actor.name}{suffix}; the incident is open again"
        incident.snoozed_until = None
        if current == Status.RESOLVED:
            incident.resolved_at = None
            incident.acknowledged_at = None
        elif current == Status.ACKNOWLEDGED:
            incident.acknowledged_at = None
    timeline.record(
        session=session,
        incident=incident,
        type=kind,
        message=message,
        actor=actor,
        now=now,
        data={"from": current.value, "to": target.value},
    )
    on_transition(
        session=session,
        incident=incident,
        previous=current,
        target=target,
        now=now,
        paging=paging,
        actor=actor,
    )
    session.flush()
    return True


def _assign_acknowledger(session: Session, incident: Incident, actor: Actor, now: datetime) -> None:
    """Whoever acknowledges owns the incident from then on, beside those already assigned (as in
    PagerDuty), so the incident lists the person working on it. A user who was deleted since their
    one-click link was signed is not added."""
    if actor.type != "user" or actor.id is None or actor.id in incident.assignee_ids:
        return
    tenant = Tenant(incident.org_id, incident.livemode)
    if session.scalar(select(User.id).where(User.id == actor.id, *tenant_filter(User, tenant))) is None:
        return
    set_assignees(session=session, incident=incident, user_ids=[*incident.assignee_ids, actor.id], now=now)


def snooze_until(*, now: datetime, until: datetime | None, duration_minutes: int | None) -> datetime:
    """Exactly one of ``until`` / ``duration_minutes``, in the future and at most 30 days away."""
    if (until is None) == (duration_minutes is None):
        raise Invalid("until", "required", "give exactly one of 'until' or 'duration_minutes'")
    if duration_minutes is not None:
        if duration_minutes <= 0:
            raise Invalid("duration_minutes", "invalid", "duration_minutes must be positive")
        target = now + timedelta(minutes=duration_minutes)
        field = "duration_minutes"
    else:
        assert until is not None
        if until.tzinfo is None:
            raise Invalid("until", "timezone", "until needs a time zone offset, e.g. 2024-01-15T10:30:00Z")
        target = until
        field = "until"
    if target <= now:
        raise Invalid(field, "in_past", "the snooze must end in the future")
    if target - now > MAX_SNOOZE:
        raise Invalid(field, "too_far", "an incident can be snoozed for at most 30 days")
    return target


def act(
    *,
    session: Session,
    tenant: Tenant,
    ref: str,
    target: Status,
    actor: Actor,
    now: datetime,
    snoozed_until: datetime | None = None,
    paging: PagingSettings,
) -> Incident:
    """The API's action endpoints: load by id or number (locked), then ``transition``."""
    incident = get_incident(session=session, tenant=tenant, ref=ref, for_update=True)
    if target == Status.OPEN and incident.status != Status.SNOOZED.value:
        raise Conflict(
            f"incident #{incident.number} is {incident.status}, not SNOOZED", {"status": incident.status}
        )
    transition(
        session=session,
        incident=incident,
        target=target,
        actor=actor,
        now=now,
        snoozed_until=snoozed_until,
        paging=paging,
    )
    return incident


def update_incident(
    *,
    session: Session,
    tenant: Tenant,
    ref: str,
    changes: dict[str, Any],
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> Incident:
    """``PATCH``: only the fields given change; each change is on the timeline."""
    incident = get_incident(session=session, tenant=tenant, ref=ref)
    changed: list[str] = []
    if "title" in changes:
        title = (changes["title"] or "").strip()
        if not title:
            raise Invalid("title", "required", "Title cannot be empty")
        if len(title) > MAX_TITLE:
            raise Invalid("title", "too_long", f"title is at most {MAX_TITLE} characters")
        if title != incident.title:
            incident.title = title
            changed.append("title")
    if "description" in changes and changes["description"] != incident.description:
        incident.description = changes["description"]
        changed.append("description")
    if "urgency" in changes:
        if changes["urgency"] is None:
            raise Invalid("urgency", "required", "urgency cannot be null")
        urgency = Urgency(changes["urgency"])
        if urgency.value != incident.urgency:
            incident.urgency = urgency.value
            changed.append("urgency")
    if "priority" in changes:
        priority = normalize_priority(changes["priority"])
        if priority != incident.priority:
            incident.priority = priority
            changed.append("priority")
    new_assignees: tuple[str, ...] | None = None
    if "assignee_ids" in changes:
        new_assignees = check_users(
            session=session, tenant=tenant, user_ids=changes["assignee_ids"] or [], field="assignee_ids"
        )
    if "status" in changes and changes["status"] is not None:
        target = Status(changes["status"])
        if target == Status.SNOOZED:
            raise Invalid("status", "use_snooze", "use POST /api/incidents/{id}/snooze to snooze")
        if target == Status.SUPPRESSED and incident.status != Status.SUPPRESSED.value:
            raise Invalid("status", "invalid", "only a maintenance window suppresses an incident")
        transition(session=session, incident=incident, target=target, actor=actor, now=now, paging=paging)
    if new_assignees is not None and list(new_assignees) != incident.assignee_ids:
        set_assignees(session=session, incident=incident, user_ids=new_assignees, now=now)
        timeline.record(
            session=session,
            incident=incident,
            type="assigned",
            message=f"Assigned by {actor.name}",
            actor=actor,
            now=now,
            data={"assignee_ids": list(new_assignees)},
        )
        incident.updated_at = now
    if changed:
        incident.updated_at = now
        timeline.record(
            session=session,
            incident=incident,
            type="updated",
            message=f"{actor.name} changed {', '.join(changed)}",
            actor=actor,
            now=now,
            data={"fields": changed},
        )
    session.flush()
    return incident
