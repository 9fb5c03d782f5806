"""Carrying out escalation: one step runs a level's rule (``notify`` pages its people, ``wait``
only lets time pass, ``repeat`` starts the policy again, ``resolve`` resolves the incident) and the
next step is queued; timers reopen snoozed and timed-out incidents. Escalating and reassigning by
hand is ``manual_escalation``'s; sending the pages is ``page_delivery``'s.

Every function works in the caller's transaction. The engine runs a step and finishes its job in
one transaction, so a crash either leaves the step undone (and it runs again) or done with every
page it implies queued; idempotency keys make a re-run add nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, Incident
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.escalation import MAX_REPEAT_STEPS, Step, following, page_key, step_key
from tocsin.domain.incident import Status
from tocsin.services import jobs
from tocsin.services.access import orgs
from tocsin.services.escalation.delivery import incident_of
from tocsin.services.escalation.targets import Person, resolve_targets
from tocsin.services.incidents import timeline
from tocsin.services.incidents.actions import transition
from tocsin.services.incidents.records import set_assignees
from tocsin.services.paging import ESCALATE, NOTIFY, PagingSettings, announce, emit
from tocsin.services.people import contacts
from tocsin.services.sql import tenant_filter

SYSTEM = Actor.system()
# Who resolves an incident at a ``resolve`` rule: the policy itself, on the system's behalf.
ESCALATION_POLICY = Actor(type="system", id=None, name="Escalation policy")


def policy_with_rules(*, session: Session, tenant: Tenant, policy_id: str | None) -> EscalationPolicy | None:
    """The policy with its rules loaded, ``None`` when there is none: every step reads its levels."""
    if policy_id is None:
        return None
    return session.scalar(
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id == policy_id)
        .options(selectinload(EscalationPolicy.rules))
    )


def queue_pages(
    *,
    session: Session,
    incident: Incident,
    tenant: Tenant,
    run: int,
    step: Step,
    people: Sequence[Person],
    now: datetime,
    urgency: str | None = None,
    paging: PagingSettings,
) -> int:
    """One notify job per (person, notification rule); the default rule when a person has none.
    ``urgency`` picks the rule set (an ``important`` rule pages through the high-urgency rules);
    by default the incident's own urgency does. Rules through unverified methods are skipped
    unless the org pages them, and the timeline says so (``_note_unverified``)."""
    page_unverified = orgs.pages_unverified(session=session, org_id=tenant.org_id)
    plans = contacts.plan_for(
        session=session,
        tenant=tenant,
        user_ids=[p.id for p in people],
        urgency=urgency or incident.urgency,
        page_unverified=page_unverified,
    )
    queued = 0
    for person in people:
        planned = plans.get(person.id, [])
        skipped = [plan for plan in planned if not plan.verified and not page_unverified]
        if skipped:
            _note_unverified(session, incident, person, skipped, planned, now)
        for plan in planned:
            if plan in skipped:
                continue
            rule = f"{plan.contact_method_id or 'default'}+{plan.delay_minutes}"
            queued += jobs.enqueue(
                session=session,
                tenant=tenant,
                kind=NOTIFY,
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


def _note_unverified(
    session: Session,
    incident: Incident,
    person: Person,
    skipped: Sequence[contacts.PlannedContact],
    planned: Sequence[contacts.PlannedContact],
    now: datetime,
) -> None:
    """A rule that was not followed is written down, so an unreachable person is loud, not silent."""
    methods = ", ".join(f"{plan.type} ({plan.address})" for plan in skipped)
    fallback = next((plan for plan in planned if plan.contact_method_id is None), None)
    instead = f"; emailing their account address ({fallback.address}) instead" if fallback else ""
    timeline.record(
        session=session,
        incident=incident,
        type="notify_skipped",
        message=f"Not paging {person.name} by {methods}: not verified (verify the contact method, "
        f"or let the org page unverified contacts){instead}",
        actor=SYSTEM,
        now=now,
        data={
            "user_id": person.id,
            "reason": "unverified",
            "contact_method_ids": [plan.contact_method_id for plan in skipped],
            "fallback": fallback.address if fallback else None,
        },
    )


def _level_note(policy: EscalationPolicy, step: Step) -> str:
    pass_note = f" (pass {step.cycle + 1} of {policy.repeat_count + 1})" if policy.repeat_count else ""
    return f"Escalation level {step.level + 1}{pass_note}"


def _notify(
    session: Session,
    tenant: Tenant,
    incident: Incident,
    policy: EscalationPolicy,
    run: int,
    step: Step,
    now: datetime,
    *,
    paging: PagingSettings,
) -> tuple[int, str]:
    """Page the people of a ``notify`` rule: assign them, write the timeline, queue their pages.
    Returns how many people were paged and the job's result text."""
    rule = policy.rules[step.level]
    people, notes = resolve_targets(session=session, tenant=tenant, targets=rule.targets, at=now)
    previous = {a.user_id for a in incident.assignees}
    if people:
        set_assignees(session=session, incident=incident, user_ids=[p.id for p in people], now=now)
    names = ", ".join(p.name for p in people) or "nobody"
    escalated = step.level > 0 or step.cycle > 0
    timeline.record(
        session=session,
        incident=incident,
        type="escalated" if escalated else "paging",
        message=f"{_level_note(policy, step)}: paging {names}"
        + (" as important" if rule.important else "")
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
            "important": rule.important,
        },
    )
    urgency = "HIGH" if rule.important else None
    queued = queue_pages(
        session=session,
        incident=incident,
        tenant=tenant,
        run=run,
        step=step,
        people=people,
        now=now,
        urgency=urgency,
        paging=paging,
    )
    if escalated:
        emit(session=session, incident=incident, event="incident.escalated", now=now, paging=paging)
    if people and {p.id for p in people} != previous:
        emit(session=session, incident=incident, event="incident.assigned", now=now, paging=paging)
    return len(people), f"{len(people)} people, {queued} pages"


def _pass_through(
    session: Session, incident: Incident, policy: EscalationPolicy, run: int, step: Step, now: datetime
) -> str:
    """A ``wait`` or ``repeat`` rule pages nobody; write down what it did."""
    kind = policy.rules[step.level].kind
    if kind == "wait":
        message = f"{_level_note(policy, step)}: waited {policy.rules[step.level].delay_minutes} minute(s)"
    elif step.cycle < MAX_REPEAT_STEPS:
        message = (
            f"{_level_note(policy, step)}: repeating from level 1 "
            f"(repeat {step.cycle + 1} of at most {MAX_REPEAT_STEPS})"
        )
    else:
        message = f"{_level_note(policy, step)}: already repeated {MAX_REPEAT_STEPS} times; going on"
    timeline.record(
        session=session,
        incident=incident,
        type="escalation_step",
        message=message,
        actor=SYSTEM,
        now=now,
        data={"policy_id": policy.id, "run": run, "cycle": step.cycle, "level": step.level, "kind": kind},
    )
    return message


def _resolve(
    session: Session,
    incident: Incident,
    policy: EscalationPolicy,
    step: Step,
    now: datetime,
    *,
    paging: PagingSettings,
) -> str:
    """A ``resolve`` rule: the policy resolves the incident (Grafana OnCall's ``resolve`` step)."""
    transition(
        session=session,
        incident=incident,
        target=Status.RESOLVED,
        actor=ESCALATION_POLICY,
        now=now,
        via=f"level {step.level + 1} of escalation policy {policy.name!r}",
        paging=paging,
    )
    return f"level {step.level + 1}: resolved by the escalation policy"


class StepReport(str):
    """A step's result text (the job's result), carrying for the engine's log line how many people
    its level paged (None when the step paged nobody by design, or did not run)."""

    targets: int | None = None

    @classmethod
    def of(cls, text: str, targets: int | None) -> StepReport:
        report = cls(text)
        report.targets = targets
        return report


def run_step(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    paging: PagingSettings,
) -> str:
    """Carry out one escalation step; the returned text is the job's result."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return "incident deleted"
    run, step = int(payload["run"]), Step(int(payload["cycle"]), int(payload["level"]))
    first = bool(payload.get("first")) and not payload.get("delayed")
    if first and run == 0:
        emit(session=session, incident=incident, event="incident.triggered", now=now, paging=paging)
        announce(session=session, incident=incident, event="incident.triggered", now=now)
    if incident.escalation_run != run:
        return f"run {run} was superseded by run {incident.escalation_run}"
    if incident.status != Status.OPEN.value:
        return f"incident is {incident.status}; nobody paged"
    policy = policy_with_rules(session=session, tenant=tenant, policy_id=incident.escalation_policy_id)
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
            session=session,
            tenant=tenant,
            kind=ESCALATE,
            key=step_key(incident.id, run, step) + ":delayed",
            run_at=now + paging.minutes(rules[0].delay_minutes),
            now=now,
            payload={**payload, "delayed": True},
            incident_id=incident.id,
        )
        return f"level 1 waits {rules[0].delay_minutes} minute(s)"
    kind = rules[step.level].kind
    incident.escalation_level = step.level
    incident.escalation_cycle = step.cycle
    incident.updated_at = now
    if kind == "resolve":
        result = _resolve(session, incident, policy, step, now, paging=paging)
        session.flush()
        return result
    paged: int | None = None
    if kind == "notify":
        paged, outcome = _notify(session, tenant, incident, policy, run, step, now, paging=paging)
    else:
        outcome = _pass_through(session, incident, policy, run, step, now)
    after = following(
        step,
        kinds=tuple(r.kind for r in rules),
        delays_minutes=tuple(r.delay_minutes for r in rules),
        repeat_count=policy.repeat_count,
        repeat_delay_minutes=policy.repeat_delay_minutes,
    )
    if after is not None:
        # A notify rule that reached nobody goes on at once rather than leave the incident unheard;
        # a wait or repeat rule pages nobody by design, so what follows keeps its delay.
        wait = after.wait_minutes if paged or kind != "notify" else 0
        jobs.enqueue(
            session=session,
            tenant=tenant,
            kind=ESCALATE,
            key=step_key(incident.id, run, after.step),
            run_at=now + paging.minutes(wait),
            now=now,
            payload={"run": run, "cycle": after.step.cycle, "level": after.step.level},
            incident_id=incident.id,
        )
    session.flush()
    return StepReport.of(f"level {step.level + 1} cycle {step.cycle + 1} ({kind}): {outcome}", paged)


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
    paging: PagingSettings,
) -> str:
    """A timer fired: if the incident is still in ``status`` from the same moment the timer was set
    for (``expected``, an ISO time), open it again; the reopening starts a new escalation run."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return "incident deleted"
    current = incident.snoozed_until if status == Status.SNOOZED else incident.acknowledged_at
    if incident.status != status.value or current is None or current.isoformat() != expected:
        return f"{kind}: no longer current"
    transition(
        session=session, incident=incident, target=Status.OPEN, actor=SYSTEM, now=now, via=kind, paging=paging
    )
    timeline.record(session=session, incident=incident, type=kind, message=message, actor=SYSTEM, now=now)
    return "reopened"


def expire_snooze(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    paging: PagingSettings,
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
        paging=paging,
    )


def ack_timed_out(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    paging: PagingSettings,
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
        paging=paging,
    )
