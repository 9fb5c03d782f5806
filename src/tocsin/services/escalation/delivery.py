"""Delivering pages and room posts: what the engine reads before it sends one (in a short read,
never inside the send), and the outcome it writes on the incident's timeline afterwards.

Kept apart from ``escalation`` (which decides who is paged and when) so each module has one job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from tocsin.db.models import Incident, Job, Service
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.delivery import LAST_LEVEL_RETRY_CAP, Verdict, channel_label, spoken_wait
from tocsin.domain.escalation import Step, step_key
from tocsin.domain.incident import Status
from tocsin.services.deliveries.attempts import record_attempt
from tocsin.services.incidents import timeline
from tocsin.services.paging import ESCALATE
from tocsin.services.sql import tenant_binds, tenant_bound, tenant_filter

SYSTEM = Actor.system()
# The engine loads an incident per job. Built once: ``Session.get`` builds a SELECT and its cache
# key on every call, which cost more than running it. Most jobs never look at the assignees, whose
# eager load (the mapper's ``selectin``, right for API lists) was a second query and a third of a
# step's time; those that do (webhook payloads, reassignment) load them when they first read them.
_INCIDENT = (
    select(Incident)
    .where(
        Incident.id == bindparam("incident_id"),
        *tenant_bound(Incident),
    )
    .options(lazyload(Incident.assignees))
)


def incident_of(*, session: Session, tenant: Tenant, incident_id: str) -> Incident | None:
    """The tenant's incident, or ``None`` when it was deleted (or never was the tenant's)."""
    return session.scalars(_INCIDENT, {"incident_id": incident_id, **tenant_binds(tenant)}).one_or_none()


@dataclass(frozen=True, slots=True)
class Announcement:
    """An incident as a page or a service's room shows it (a room gets no personal links)."""

    incident_id: str
    number: int
    title: str
    description: str | None
    status: str
    urgency: str
    source: str | None
    service_name: str
    livemode: bool
    alert_count: int = 1
    # (label, URL) of the incident's links; (name, value) of its labels or custom details.
    links: tuple[tuple[str, str], ...] = ()
    details: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # When the event that opened the incident was taken in: a page's latency counts from here.
    opened_at: datetime | None = None


# Read no more of an incident's details than any page shows (the channels show fewer still).
_DETAILS_READ = 20


def _detail_pairs(custom_details: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """What a page shows of an incident's details: an Alertmanager group's common labels (stored
    under ``commonLabels``, ``domain/alertmanager.details``), else the custom details themselves,
    values that are not text as compact JSON."""
    if not custom_details:
        return ()
    labels = custom_details.get("commonLabels")
    if isinstance(labels, dict) and "groupKey" in custom_details:
        items = sorted((str(k), str(v)) for k, v in labels.items())
    else:
        items = [
            (str(k), v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":")))
            for k, v in custom_details.items()
        ]
    return tuple(items[:_DETAILS_READ])


def _link_pairs(links: list[dict[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    """The incident's web links (``{"href", "text"}``) a person can open."""
    return tuple(
        (str(link.get("text") or "Link"), str(link["href"]))
        for link in links or []
        if isinstance(link, dict) and str(link.get("href", "")).startswith(("http://", "https://"))
    )


def _announcement(session: Session, incident: Incident) -> Announcement:
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
        alert_count=incident.alert_count,
        links=_link_pairs(incident.links),
        details=_detail_pairs(incident.custom_details),
        opened_at=incident.created_at,
    )


@dataclass(frozen=True, slots=True)
class PagePlan:
    """What the engine needs to send one page, read in a short transaction before sending: the
    incident, who is paged where, and the key that signs their one-click links."""

    incident: Announcement
    user_id: str
    user_name: str
    type: str
    address: str
    link_key: str

    @property
    def number(self) -> int:
        return self.incident.number


@dataclass(frozen=True, slots=True)
class Stale:
    """A page not to send any more, and why ("incident acknowledged by Erik"): by the time it was
    due, the incident no longer needed it from this level."""

    reason: str
    number: int  # the incident's, for the log line


def _page_step(payload: Mapping[str, Any]) -> Step:
    return Step(int(payload.get("cycle") or 0), int(payload.get("level") or 0))


def _moved_on_before(session: Session, incident: Incident, step: Step, due_at: datetime) -> bool:
    """Whether the incident's escalation reached ``step`` (past a page's level) at a time set
    before the page was due. The step's scheduled time, not the order the engine happened to run
    jobs in: a next level due at the same instant as a page (no delay between them) leaves the
    page current, while a page delayed past the next level (a late notification rule) is not."""
    key = step_key(incident.id, incident.escalation_run, step)
    tenant = Tenant(incident.org_id, incident.livemode)
    moved_at = session.scalar(select(Job.run_at).where(Job.key == key, *tenant_filter(Job, tenant)))
    # No job (purged long after, or the step was reached another way): the level is long gone.
    return moved_at is None or moved_at < due_at


def _stale_reason(
    session: Session, incident: Incident, payload: Mapping[str, Any], due_at: datetime
) -> str | None:
    """Why a page of ``payload`` due at ``due_at`` would come too late, or None while its level
    is still paging."""
    if incident.status != Status.OPEN.value:
        status = incident.status.lower()
        change = timeline.latest(session=session, incident=incident, types=(status,))
        return f"incident {status}" + (f" by {change.actor_name}" if change is not None else "")
    if incident.escalation_run != int(payload["run"]):
        return "escalation started over"
    now_at = Step(incident.escalation_cycle, incident.escalation_level)
    page_step = _page_step(payload)
    if now_at > page_step and _moved_on_before(session, incident, now_at, due_at):
        passed = f" (pass {now_at.cycle + 1})" if now_at.cycle != page_step.cycle else ""
        return f"escalation moved to level {now_at.level + 1}{passed}"
    return None


def plan_page(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    link_key: str,
    due_at: datetime,
) -> PagePlan | Stale | str:
    """The page to send; ``Stale`` when it is too late to (acknowledged, resolved, snoozed, or the
    escalation started over, or moved past its level before it was due at ``due_at``: a page
    delayed by its notification rule or a retry), which the engine records as skipped; a text when
    there is nothing to record it on (the incident was deleted)."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return "incident deleted"
    reason = _stale_reason(session, incident, payload, due_at)
    if reason is not None:
        return Stale(reason, incident.number)
    return PagePlan(
        incident=_announcement(session, incident),
        user_id=str(payload["user_id"]),
        user_name=str(payload.get("user_name") or ""),
        type=str(payload["type"]),
        address=str(payload["address"]),
        link_key=link_key,
    )


def plan_announcement(*, session: Session, tenant: Tenant, incident_id: str) -> Announcement | None:
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    return None if incident is None else _announcement(session, incident)


def _who(payload: Mapping[str, Any]) -> str:
    return str(payload.get("user_name") or payload["user_id"])


def _entry_data(payload: Mapping[str, Any], outcome: str, **extra: Any) -> dict[str, Any]:
    return {
        "user_id": payload["user_id"],
        "channel": payload["type"],
        "address": payload["address"],
        "outcome": outcome,
        "level": payload.get("level"),
        "cycle": payload.get("cycle"),
        "run": payload.get("run"),
        **{key: value for key, value in extra.items() if value is not None},
    }


def record_page(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    outcome: str,
    error: str | None = None,
) -> None:
    """A page the provider accepted (``sent``, or ``sink`` in test mode) on the timeline and, when
    it reached a provider, on the channel's health: both in the caller's transaction, the one that
    finishes the job."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return
    who, channel, address = _who(payload), payload["type"], payload["address"]
    if outcome == "sent":
        record_attempt(session=session, tenant=tenant, channel=channel, ok=True, error=None, now=now)
    messages = {
        "sent": f"Notified {who} by {channel} ({address})",
        "sink": f"Notified {who} by {channel} ({address}) — test mode: recorded, not sent",
    }
    timeline.record(
        session=session,
        incident=incident,
        type="notified",
        message=messages[outcome],
        actor=SYSTEM,
        now=now,
        data=_entry_data(payload, outcome, error=error),
    )


def _failure_message(
    payload: Mapping[str, Any],
    error: str,
    attempt: int,
    max_attempts: int,
    verdict: Verdict,
    wait: timedelta,
    moves_on: bool,
) -> str:
    head = f"{channel_label(str(payload['type']))} to {_who(payload)} failed"
    if verdict.retry_at is not None:
        return f"{head}: {error}; retrying in {spoken_wait(wait)} (attempt {attempt + 1} of {max_attempts})"
    if verdict.stop == "attempts":
        return f"{head} for good after {attempt} attempts: {error}"
    if verdict.stop == "deadline":
        why = (
            "the escalation moves on before the next retry"
            if moves_on
            else f"a page is retried for at most {spoken_wait(LAST_LEVEL_RETRY_CAP)}"
        )
        return f"{head}: {error}; stopped retrying after {attempt} of {max_attempts} attempts: {why}"
    return f"{head}: {error}; not retried (the provider refused it for good)"


def record_failure(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    error: str,
    attempt: int,
    max_attempts: int,
    verdict: Verdict,
    wait: timedelta,
    moves_on: bool,
) -> None:
    """A failed attempt at a page on the channel's health and the timeline, saying what follows:
    the retry (in how long, and which attempt it will be: the engine waits exactly ``wait``) or why
    there is none. ``moves_on``: the deadline that stopped the retries is the next escalation step."""
    record_attempt(
        session=session, tenant=tenant, channel=str(payload["type"]), ok=False, error=error, now=now
    )
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return
    retrying = verdict.retry_at is not None
    timeline.record(
        session=session,
        incident=incident,
        type="notify_retrying" if retrying else "notify_failed",
        message=_failure_message(payload, error, attempt, max_attempts, verdict, wait, moves_on),
        actor=SYSTEM,
        now=now,
        data=_entry_data(
            payload,
            "retrying" if retrying else "failed",
            error=error,
            attempt=attempt,
            max_attempts=max_attempts,
            retry_at=None if verdict.retry_at is None else verdict.retry_at.isoformat(),
            stopped=verdict.stop,
        ),
    )


def record_skip(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    payload: Mapping[str, Any],
    now: datetime,
    reason: str,
) -> None:
    """A page dropped before sending because it would come too late; not an attempt, so the
    channel's health is not touched."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return
    timeline.record(
        session=session,
        incident=incident,
        type="notify_skipped",
        message=f"Page to {_who(payload)} by {payload['type']} skipped: {reason}",
        actor=SYSTEM,
        now=now,
        data=_entry_data(payload, "skipped", reason=reason),
    )


def next_step_at(
    *, session: Session, tenant: Tenant, incident_id: str, payload: Mapping[str, Any]
) -> datetime | None:
    """When the incident's escalation next moves past the level of the page of ``payload``: the
    earliest pending step of the same run after the page's step (a repeat's first level included);
    None at the end of the policy."""
    rows = session.execute(
        select(Job.run_at, Job.payload).where(
            *tenant_filter(Job, tenant),
            Job.incident_id == incident_id,
            Job.kind == ESCALATE,
            Job.status.in_(("pending", "running")),
        )
    )
    page_run, page_step = int(payload["run"]), _page_step(payload)
    due = [
        run_at
        for run_at, step in rows
        if int(step.get("run", -1)) == page_run and _page_step(step) > page_step
    ]
    return min(due, default=None)
