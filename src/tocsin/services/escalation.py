"""Carrying out escalation: one step pages a level's people, the next step is queued; a page is
prepared, sent by the engine, and its outcome written down; timers reopen snoozed and timed-out
incidents; people escalate and reassign by hand.

Every function works in the caller's transaction. The engine runs a step and finishes its job in
one transaction, so a crash either leaves the step undone (and it runs again) or done with every
page it implies queued; idempotency keys make a re-run add nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, Incident, Service, TeamMember, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.escalation import Step, delay_before, next_step, page_key, step_key
from tocsin.domain.incident import Status
from tocsin.services import contacts, jobs, oncall, paging, timeline
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.incident_actions import transition
from tocsin.services.incidents import check_users, get_incident, set_assignees
from tocsin.services.sql import tenant_filter

SYSTEM = Actor.system()


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str


def _incident(session: Session, tenant: Tenant, incident_id: str) -> Incident | None:
    incident = session.get(Incident, incident_id)
    if incident is None or (incident.org_id, incident.livemode) != (tenant.org_id, tenant.livemode):
        return None
    return incident


def _policy(session: Session, tenant: Tenant, policy_id: str | None) -> EscalationPolicy | None:
    if policy_id is None:
        return None
    return session.scalar(
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id == policy_id)
        .options(selectinload(EscalationPolicy.rules))
    )


def _people(session: Session, tenant: Tenant, ids: Iterable[str]) -> dict[str, Person]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.name).where(*tenant_filter(User, tenant), User.id.in_(wanted))
    ).all()
    return {row.id: Person(row.id, row.name) for row in rows}


def _on_call(session: Session, tenant: Tenant, schedule_id: str, at: datetime) -> list[str]:
    try:
        entries = oncall.on_call(session=session, tenant=tenant, schedule_id=schedule_id, at=at)
    except NotFound:
        return []
    return [entry.user.id for entry in entries]


def resolve_targets(
    session: Session, tenant: Tenant, targets: Sequence[Mapping[str, Any]], at: datetime
) -> tuple[list[Person], list[str]]:
    """The people a rule pages at ``at``, in target order without repeats, and notes on targets
    that page nobody (an empty schedule, a deleted user), for the timeline."""
    ordered: list[str] = []
    notes: list[str] = []
    for target in targets:
        kind, ident = target.get("type"), str(target.get("id"))
        found: list[str]
        if kind == "user":
            found = [ident]
        elif kind == "schedule":
            found = _on_call(session, tenant, ident, at)
            if not found:
                notes.append(f"nobody is on call in schedule {ident}")
        elif kind == "team" and target.get("schedule_id"):
            found = _on_call(session, tenant, str(target["schedule_id"]), at)
            if not found:
                notes.append(f"nobody is on call in team {ident}'s schedule {target['schedule_id']}")
        elif kind == "team":
            found = list(
                session.scalars(
                    select(TeamMember.user_id)
                    .where(TeamMember.team_id == ident, TeamMember.org_id == tenant.org_id)
                    .order_by(TeamMember.created_at, TeamMember.user_id)
                )
            )
            if not found:
                notes.append(f"team {ident} has no members")
        else:
            notes.append(f"unknown target {kind!r}")
            found = []
        ordered += [user_id for user_id in found if user_id not in ordered]
    people = _people(session, tenant, ordered)
    missing = [user_id for user_id in ordered if user_id not in people]
    if missing:
        notes.append(f"user(s) {', '.join(missing)} no longer exist")
    return [people[user_id] for user_id in ordered if user_id in people], notes


def _queue_pages(
    session: Session,
    incident: Incident,
    tenant: Tenant,
    run: int,
    step: Step,
    people: Sequence[Person],
    now: datetime,
) -> int:
    """One notify job per (person, notification rule); the default rule when a person has none."""
    plans = contacts.plan_for(session, tenant, [p.id for p in people], incident.urgency)
    queued = 0
    for person in people:
        for plan in plans.get(person.id, []):
            rule = f"{plan.contact_method_id or 'default'}+{plan.delay_minutes}"
            queued += jobs.enqueue(
                session,
                tenant=tenant,
                kind=paging.NOTIFY,
                key=page_key(incident.id, run, step, person.id, plan.type, rule),
                run_at=now + paging.minutes(plan.delay_minutes),
                now=now,
                payload={
                    "run": run,
                    "cycle": step.cycle,
                    "level": step.level,
                    "user_id": person.id,
                    "user_name": person.name,
                    "contact_method_id": plan.contact_method_id,
                    "type": plan.type,
                    "address": plan.address,
                },
                incident_id=incident.id,
            )
    return queued


def run_step(
    session: Session, *, tenant: Tenant, incident_id: str, payload: Mapping[str, Any], now: datetime
) -> str:
    """Carry out one escalation step; the returned text is the job's result."""
    incident = _incident(session, tenant, incident_id)
    if incident is None:
        return "incident deleted"
    run, step = int(payload["run"]), Step(int(payload["cycle"]), int(payload["level"]))
    first = bool(payload.get("first")) and not payload.get("delayed")
    if first and run == 0:
        paging.emit(session, incident=incident, event="incident.triggered", now=now)
        paging.announce(session, incident=incident, event="incident.triggered", now=now)
    if incident.escalation_run != run:
        return f"run {run} was superseded by run {incident.escalation_run}"
    if incident.status != Status.OPEN.value:
        return f"incident is {incident.status}; nobody paged"
    policy = _policy(session, tenant, incident.escalation_policy_id)
    if policy is None or not policy.rules:
        if first:
            timeline.record(
                session=session,
                incident=incident,
                type="unpaged",
                message="No escalation policy with rules on this service: nobody was paged",
                actor=SYSTEM,
                now=now,
            )
        return "no escalation policy"
    rules = policy.rules
    if step.level >= len(rules):
        return f"the policy has no level {step.level + 1} any more"
    if first and rules[0].delay_minutes > 0:
        jobs.enqueue(
            session,
            tenant=tenant,
            kind=paging.ESCALATE,
            key=step_key(incident.id, run, step) + ":delayed",
            run_at=now + paging.minutes(rules[0].delay_minutes),
            now=now,
            payload={**payload, "delayed": True},
            incident_id=incident.id,
        )
        return f"level 1 waits {rules[0].delay_minutes} minute(s)"
    rule = rules[step.level]
    people, notes = resolve_targets(session, tenant, rule.targets, now)
    previous = {a.user_id for a in incident.assignees}
    incident.escalation_level = step.level
    incident.escalation_cycle = step.cycle
    incident.updated_at = now
    if people:
        set_assignees(session=session, incident=incident, user_ids=[p.id for p in people], now=now)
    names = ", ".join(p.name for p in people) or "nobody"
    pass_note = f" (pass {step.cycle + 1} of {policy.repeat_count + 1})" if policy.repeat_count else ""
    escalated = step.level > 0 or step.cycle > 0
    timeline.record(
        session=session,
        incident=incident,
        type="escalated" if escalated else "paging",
        message=f"Escalation level {step.level + 1}{pass_note}: paging {names}"
        + (f" ({'; '.join(notes)})" if notes else ""),
        actor=SYSTEM,
        now=now,
        data={
            "policy_id": policy.id,
            "run": run,
            "cycle": step.cycle,
            "level": step.level,
            "user_ids": [p.id for p in people],
            "notes": notes,
        },
    )
    queued = _queue_pages(session, incident, tenant, run, step, people, now)
    if escalated:
        paging.emit(session, incident=incident, event="incident.escalated", now=now)
    if people and {p.id for p in people} != previous:
        paging.emit(session, incident=incident, event="incident.assigned", now=now)
    following = next_step(step, levels=len(rules), repeat_count=policy.repeat_count)
    if following is not None:
        wait = delay_before(
            following,
            delays_minutes=tuple(r.delay_minutes for r in rules),
            repeat_delay_minutes=policy.repeat_delay_minutes,
        )
        jobs.enqueue(
            session,
            tenant=tenant,
            kind=paging.ESCALATE,
            key=step_key(incident.id, run, following),
            # Nobody to page here: go on at once rather than leave the incident unheard.
            run_at=now + paging.minutes(wait if people else 0),
            now=now,
            payload={"run": run, "cycle": following.cycle, "level": following.level},
            incident_id=incident.id,
        )
    session.flush()
    return f"level {step.level + 1} cycle {step.cycle + 1}: {len(people)} people, {queued} pages"


@dataclass(frozen=True, slots=True)
class PagePlan:
    """What the engine needs to send one page, read in a short transaction before sending."""

    incident_id: str
    number: int
    title: str
    description: str | None
    status: str
    urgency: str
    source: str | None
    service_name: str
    user_id: str
    user_name: str
    type: str
    address: str
    livemode: bool
    link_key: str


def plan_page(
    session: Session, *, tenant: Tenant, incident_id: str, payload: Mapping[str, Any], link_key: str
) -> PagePlan | str:
    """The page to send, or why not to send it any more (acknowledged, resolved, superseded)."""
    incident = _incident(session, tenant, incident_id)
    if incident is None:
        return "incident deleted"
    if incident.escalation_run != int(payload["run"]):
        return "superseded by a later escalation run"
    if incident.status != Status.OPEN.value:
        return f"incident is {incident.status}; page not sent"
    service_name = session.scalar(select(Service.name).where(Service.id == incident.service_id)) or ""
    return PagePlan(
        incident_id=incident.id,
        number=incident.number,
        title=incident.title,
        description=incident.description,
        status=incident.status,
        urgency=incident.urgency,
        source=incident.source,
        service_name=service_name,
        user_id=str(payload["user_id"]),
        user_name=str(payload.get("user_name") or ""),
        type=str(payload["type"]),
        address=str(payload["address"]),
        livemode=incident.livemode,
        link_key=link_key,
    )


@dataclass(frozen=True, slots=True)
class Announcement:
    """An incident as a service's room is told about it (no personal ack/resolve links)."""

    incident_id: str
    number: int
    title: str
    description: str | None
    status: str
    urgency: str
    source: str | None
    service_name: str
    livemode: bool


def plan_announcement(session: Session, *, tenant: Tenant, incident_id: str) -> Announcement | None:
    incident = _incident(session, tenant, incident_id)
    if incident is None:
        return None
    service_name = session.scalar(select(Service.name).where(Service.id == incident.service_id)) or ""
    return Announcement(
        incident_id=incident.id,
        number=incident.number,
        title=incident.title,
        description=incident.description,
        status=incident.status,
        urgency=incident.urgency,
        source=incident.source,
        service_name=service_name,
        livemode=incident.livemode,
    )


def record_page(
    session: Session,
    *,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    outcome: str,
    error: str | None = None,
) -> None:
    """The page's outcome on the timeline: sent (with the channel), sent to the test sink, or failed."""
    incident = _incident(session, tenant, incident_id)
    if incident is None:
        return
    who, channel, address = (
        payload.get("user_name") or payload["user_id"],
        payload["type"],
        payload["address"],
    )
    messages = {
        "sent": f"Notified {who} by {channel} ({address})",
        "sink": f"Notified {who} by {channel} ({address}) — test mode: recorded, not sent",
        "failed": f"Could not notify {who} by {channel} ({address}): {error}",
    }
    timeline.record(
        session=session,
        incident=incident,
        type="notified" if outcome != "failed" else "notify_failed",
        message=messages[outcome],
        actor=SYSTEM,
        now=now,
        data={
            "user_id": payload["user_id"],
            "channel": channel,
            "address": address,
            "outcome": outcome,
            "level": payload.get("level"),
            "cycle": payload.get("cycle"),
            "run": payload.get("run"),
            **({"error": error} if error else {}),
        },
    )


def _reopen_if_still(
    session: Session,
    *,
    tenant: Tenant,
    incident_id: str,
    status: Status,
    expected: str,
    kind: str,
    message: str,
    now: datetime,
) -> str:
    """A timer fired: if the incident is still in ``status`` from the same moment the timer was set
    for (``expected``, an ISO time), open it again; the reopening starts a new escalation run."""
    incident = _incident(session, tenant, incident_id)
    if incident is None:
        return "incident deleted"
    current = incident.snoozed_until if status == Status.SNOOZED else incident.acknowledged_at
    if incident.status != status.value or current is None or current.isoformat() != expected:
        return f"{kind}: no longer current"
    transition(session=session, incident=incident, target=Status.OPEN, actor=SYSTEM, now=now, via=kind)
    timeline.record(session=session, incident=incident, type=kind, message=message, actor=SYSTEM, now=now)
    return "reopened"


def expire_snooze(
    session: Session, *, tenant: Tenant, incident_id: str, payload: Mapping[str, Any], now: datetime
) -> str:
    """A snooze ran out: the incident is open again and escalates from the first level."""
    return _reopen_if_still(
        session,
        tenant=tenant,
        incident_id=incident_id,
        status=Status.SNOOZED,
        expected=str(payload["snoozed_until"]),
        kind="snooze_expired",
        message="Snooze expired; escalating again",
        now=now,
    )


def ack_timed_out(
    session: Session, *, tenant: Tenant, incident_id: str, payload: Mapping[str, Any], now: datetime
) -> str:
    """Acknowledged but not resolved in the service's ack timeout: open again, escalate again."""
    return _reopen_if_still(
        session,
        tenant=tenant,
        incident_id=incident_id,
        status=Status.ACKNOWLEDGED,
        expected=str(payload["acknowledged_at"]),
        kind="ack_timeout",
        message="Acknowledgement timed out without a resolve; escalating again",
        now=now,
    )


def escalate(
    session: Session, *, tenant: Tenant, ref: str, level: int | None, actor: Actor, now: datetime
) -> Incident:
    """Page the next level now (or level ``level``, 1-based), in a new run; the policy goes on from there."""
    incident = get_incident(session=session, tenant=tenant, ref=ref)
    if incident.status in (Status.RESOLVED.value, Status.SUPPRESSED.value):
        raise Conflict(f"incident #{incident.number} is {incident.status}", {"status": incident.status})
    policy = _policy(session, tenant, incident.escalation_policy_id)
    if policy is None or not policy.rules:
        raise Conflict(f"incident #{incident.number} has no escalation policy to escalate through", {})
    target = incident.escalation_level + 1 if level is None else level - 1
    if level is not None and not 1 <= level <= len(policy.rules):
        raise Invalid("level", "range", f"level must be between 1 and {len(policy.rules)}")
    if target >= len(policy.rules):
        raise Conflict(f"incident #{incident.number} is already at the last level", {"level": target})
    if incident.status != Status.OPEN.value:
        transition(
            session=session, incident=incident, target=Status.OPEN, actor=actor, now=now, via="escalate"
        )
    jobs.cancel_for_incident(session, incident_ids=[incident.id], now=now)
    incident.escalation_run += 1
    timeline.record(
        session=session,
        incident=incident,
        type="escalate_requested",
        message=f"{actor.name} escalated to level {target + 1}",
        actor=actor,
        now=now,
        data={"level": target},
    )
    jobs.enqueue(
        session,
        tenant=tenant,
        kind=paging.ESCALATE,
        key=step_key(incident.id, incident.escalation_run, Step(incident.escalation_cycle, target)),
        run_at=now,
        now=now,
        payload={"run": incident.escalation_run, "cycle": incident.escalation_cycle, "level": target},
        incident_id=incident.id,
    )
    session.flush()
    return incident


def reassign(
    session: Session,
    *,
    tenant: Tenant,
    ref: str,
    user_ids: Sequence[str],
    escalation_policy_id: str | None,
    actor: Actor,
    now: datetime,
) -> Incident:
    """Hand the incident to people (paged now) or to another policy (escalating from its first level)."""
    if bool(user_ids) == bool(escalation_policy_id):
        raise Invalid("user_ids", "required", "give either user_ids or escalation_policy_id")
    incident = get_incident(session=session, tenant=tenant, ref=ref)
    if incident.status == Status.RESOLVED.value:
        raise Conflict(f"incident #{incident.number} is RESOLVED", {"status": incident.status})
    if escalation_policy_id:
        if _policy(session, tenant, escalation_policy_id) is None:
            raise Invalid(
                "escalation_policy_id", "not_found", f"no escalation policy {escalation_policy_id!r}"
            )
        incident.escalation_policy_id = escalation_policy_id
        timeline.record(
            session=session,
            incident=incident,
            type="reassigned",
            message=f"{actor.name} reassigned the incident to escalation policy {escalation_policy_id}",
            actor=actor,
            now=now,
            data={"escalation_policy_id": escalation_policy_id},
        )
        if incident.status == Status.OPEN.value:
            paging.restart(session, incident=incident, now=now)
        else:
            transition(
                session=session, incident=incident, target=Status.OPEN, actor=actor, now=now, via="reassign"
            )
        session.flush()
        return incident
    users = check_users(session=session, tenant=tenant, user_ids=user_ids, field="user_ids")
    people = _people(session, tenant, users)
    if incident.status != Status.OPEN.value:
        transition(
            session=session, incident=incident, target=Status.OPEN, actor=actor, now=now, via="reassign"
        )
    jobs.cancel_for_incident(session, incident_ids=[incident.id], now=now)
    incident.escalation_run += 1
    set_assignees(session=session, incident=incident, user_ids=list(users), now=now)
    timeline.record(
        session=session,
        incident=incident,
        type="reassigned",
        message=f"{actor.name} reassigned the incident to {', '.join(people[u].name for u in users)}",
        actor=actor,
        now=now,
        data={"user_ids": list(users)},
    )
    step = Step(incident.escalation_cycle, incident.escalation_level)
    _queue_pages(session, incident, tenant, incident.escalation_run, step, [people[u] for u in users], now)
    paging.emit(session, incident=incident, event="incident.assigned", now=now)
    session.flush()
    return incident
