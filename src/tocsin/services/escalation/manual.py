"""Escalating and reassigning by hand: a responder pages the next level (or a chosen one) now, or
hands the incident to people or to another policy. Apart from ``escalation``, which runs the steps
the engine queues, because these are a person's requests: they are checked, written to the timeline
under that person's name, and start a new run so that what the old run had queued is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.db.models import Incident
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.escalation import Step, step_key
from tocsin.domain.incident import Status
from tocsin.services import jobs
from tocsin.services.errors import Conflict, Invalid
from tocsin.services.escalation.steps import policy_with_rules, queue_pages
from tocsin.services.escalation.targets import people_of
from tocsin.services.incidents import timeline
from tocsin.services.incidents.actions import transition
from tocsin.services.incidents.records import check_users, get_incident, set_assignees
from tocsin.services.paging import ESCALATE, PagingSettings, emit, restart


def escalate(
    *,
    session: Session,
    tenant: Tenant,
    ref: str,
    level: int | None,
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> Incident:
    """Page the next level now (or level ``level``, 1-based), in a new run; the policy goes on from there."""
    incident = get_incident(session=session, tenant=tenant, ref=ref)
    if incident.status in (Status.RESOLVED.value, Status.SUPPRESSED.value):
        raise Conflict(f"incident #{incident.number} is {incident.status}", {"status": incident.status})
    policy = policy_with_rules(session=session, tenant=tenant, policy_id=incident.escalation_policy_id)
    if policy is None or not policy.rules:
        raise Conflict(f"incident #{incident.number} has no escalation policy to escalate through", {})
    target = incident.escalation_level + 1 if level is None else level - 1
    if level is not None and not 1 <= level <= len(policy.rules):
        raise Invalid("level", "range", f"level must be between 1 and {len(policy.rules)}")
    if target >= len(policy.rules):
        raise Conflict(f"incident #{incident.number} is already at the last level", {"level": target})
    if incident.status != Status.OPEN.value:
        transition(
            session=session,
            incident=incident,
            target=Status.OPEN,
            actor=actor,
            now=now,
            via="escalate",
            paging=paging,
        )
    jobs.cancel_for_incident(session=session, incident_ids=[incident.id], now=now)
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
        session=session,
        tenant=tenant,
        kind=ESCALATE,
        key=step_key(incident.id, incident.escalation_run, Step(incident.escalation_cycle, target)),
        run_at=now,
        now=now,
        payload={"run": incident.escalation_run, "cycle": incident.escalation_cycle, "level": target},
        incident_id=incident.id,
    )
    session.flush()
    return incident


def reassign(
    *,
    session: Session,
    tenant: Tenant,
    ref: str,
    user_ids: Sequence[str],
    escalation_policy_id: str | None,
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> Incident:
    """Hand the incident to people (paged now) or to another policy (escalating from its first level)."""
    if bool(user_ids) == bool(escalation_policy_id):
        raise Invalid("user_ids", "required", "give either user_ids or escalation_policy_id")
    incident = get_incident(session=session, tenant=tenant, ref=ref)
    if incident.status == Status.RESOLVED.value:
        raise Conflict(f"incident #{incident.number} is RESOLVED", {"status": incident.status})
    if escalation_policy_id:
        if policy_with_rules(session=session, tenant=tenant, policy_id=escalation_policy_id) is None:
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
            restart(session=session, incident=incident, now=now)
        else:
            transition(
                session=session,
                incident=incident,
                target=Status.OPEN,
                actor=actor,
                now=now,
                via="reassign",
                paging=paging,
            )
        session.flush()
        return incident
    users = check_users(session=session, tenant=tenant, user_ids=user_ids, field="user_ids")
    people = people_of(session=session, tenant=tenant, ids=users)
    if incident.status != Status.OPEN.value:
        transition(
            session=session,
            incident=incident,
            target=Status.OPEN,
            actor=actor,
            now=now,
            via="reassign",
            paging=paging,
        )
    jobs.cancel_for_incident(session=session, incident_ids=[incident.id], now=now)
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
    queue_pages(
        session=session,
        incident=incident,
        tenant=tenant,
        run=incident.escalation_run,
        step=step,
        people=[people[u] for u in users],
        now=now,
        paging=paging,
    )
    emit(session=session, incident=incident, event="incident.assigned", now=now, paging=paging)
    session.flush()
    return incident
