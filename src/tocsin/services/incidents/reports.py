"""Incidents as a report reads them: each with its service, routing key, the people, teams and
policies it paged and the history of its state, gathered for a whole page in a fixed number of
queries. Splunk On-Call's public and reporting APIs render these; nothing here is Splunk's wording
except the three phases, which are the coarse states every on-call tool reports.

Phases: OPEN, SNOOZED and SUPPRESSED are all ``UNACKED`` (nobody has taken the incident: a snooze
only pauses paging, a suppressed one never paged), ACKNOWLEDGED is ``ACKED``, RESOLVED ``RESOLVED``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from tocsin.db.models import (
    Alert,
    EscalationPolicy,
    Incident,
    Integration,
    Service,
    Team,
    TimelineEntry,
)
from tocsin.domain.actor import Tenant
from tocsin.domain.incident import Status
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.people.lookup import user_refs
from tocsin.services.sql import tenant_filter

UNACKED: Final = "UNACKED"
ACKED: Final = "ACKED"
RESOLVED: Final = "RESOLVED"
PHASES: Final = (UNACKED, ACKED, RESOLVED)
STATUSES_OF_PHASE: Final = {
    UNACKED: (Status.OPEN.value, Status.SNOOZED.value, Status.SUPPRESSED.value),
    ACKED: (Status.ACKNOWLEDGED.value,),
    RESOLVED: (Status.RESOLVED.value,),
}
# Timeline entry types that move an incident into a phase.
PHASE_OF_ENTRY: Final = {
    "triggered": UNACKED,
    "reopened": UNACKED,
    "unacknowledged": UNACKED,
    "acknowledged": ACKED,
    "resolved": RESOLVED,
}
PAGING_ENTRIES: Final = ("paging", "escalated", "reassigned")
RECENTLY_RESOLVED: Final = timedelta(hours=24)
SEVERITY_STATE: Final = {"critical": "CRITICAL", "error": "CRITICAL", "warning": "WARNING", "info": "INFO"}
URGENCY_STATE: Final = {"HIGH": "CRITICAL", "MEDIUM": "WARNING", "LOW": "INFO"}


def phase_of(status: str) -> str:
    """The coarse phase of one of our statuses (see the module docstring)."""
    for phase, statuses in STATUSES_OF_PHASE.items():
        if status in statuses:
            return phase
    return UNACKED


@dataclass(frozen=True, slots=True)
class Handle:
    """Something named by a display name and a handle (a team's slug, a policy's id)."""

    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class PagedPolicy:
    policy: Handle
    team: Handle | None


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of phase: who made it (a username, or the actor's name) and their message."""

    name: str
    at: datetime
    by: str | None
    message: str | None
    manually: bool
    alert_id: str | None


@dataclass(frozen=True, slots=True)
class IncidentReport:
    incident: Incident
    phase: str
    entity_state: str
    service_name: str
    routing_key: str
    last_alert_id: str | None
    last_alert_time: datetime
    paged_users: tuple[str, ...]
    paged_teams: tuple[str, ...]
    paged_policies: tuple[PagedPolicy, ...]
    transitions: tuple[Transition, ...]


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """The reporting API's filters; every one given must match. The tuples are any-of: ``numbers``
    holds inclusive ranges (a single number is ``(n, n)``), ``hosts`` and ``services`` names, and
    ``phases`` members of ``PHASES``; empty means no filter."""

    entity_id: str | None = None
    numbers: tuple[tuple[int, int], ...] = ()
    started_after: datetime | None = None
    started_before: datetime | None = None
    hosts: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    routing_key: str | None = None


def _entity_state(incident: Incident) -> str:
    if incident.status == Status.RESOLVED.value:
        return "OK"
    return SEVERITY_STATE.get(
        (incident.severity or "").lower(), URGENCY_STATE.get(incident.urgency, "CRITICAL")
    )


def build_reports(*, session: Session, tenant: Tenant, incidents: Sequence[Incident]) -> list[IncidentReport]:
    """Reports for ``incidents`` in their order: six queries whatever their number."""
    if not incidents:
        return []
    ids = [incident.id for incident in incidents]
    services = {
        row.id: row
        for row in session.execute(
            select(Service.id, Service.name, Service.team_id, Service.escalation_policy_id).where(
                *tenant_filter(Service, tenant), Service.id.in_({i.service_id for i in incidents})
            )
        )
    }
    alerts = session.execute(
        select(Alert.incident_id, Alert.id, Alert.created_at, Integration.routing_key)
        .outerjoin(Integration, Integration.id == Alert.integration_id)
        .where(*tenant_filter(Alert, tenant), Alert.incident_id.in_(ids))
        .order_by(Alert.created_at, Alert.id)
    ).all()
    first_key: dict[str, str] = {}
    first_alert: dict[str, str] = {}
    last_alert: dict[str, tuple[str, datetime]] = {}
    for row in alerts:
        if row.routing_key and row.incident_id not in first_key:
            first_key[row.incident_id] = row.routing_key
        first_alert.setdefault(row.incident_id, row.id)
        last_alert[row.incident_id] = (row.id, row.created_at)
    entries = session.scalars(
        select(TimelineEntry)
        .where(
            *tenant_filter(TimelineEntry, tenant),
            TimelineEntry.incident_id.in_(ids),
            TimelineEntry.type.in_([*PHASE_OF_ENTRY, *PAGING_ENTRIES]),
        )
        .order_by(TimelineEntry.created_at, TimelineEntry.id)
    ).all()
    paged_ids: dict[str, list[str]] = {i.id: list(i.assignee_ids) for i in incidents}
    policy_ids: dict[str, list[str]] = {i.id: [] for i in incidents}
    for entry in entries:
        if entry.type in PAGING_ENTRIES:
            for user_id in entry.data.get("user_ids") or []:
                if user_id not in paged_ids[entry.incident_id]:
                    paged_ids[entry.incident_id].append(user_id)
            policy_id = entry.data.get("policy_id") or entry.data.get("escalation_policy_id")
            if policy_id and policy_id not in policy_ids[entry.incident_id]:
                policy_ids[entry.incident_id].append(policy_id)
    for incident in incidents:
        if incident.escalation_policy_id and incident.escalation_policy_id not in policy_ids[incident.id]:
            policy_ids[incident.id].insert(0, incident.escalation_policy_id)
    user_ids = {u for users in paged_ids.values() for u in users}
    user_ids |= {e.actor_id for e in entries if e.actor_type == "user" and e.actor_id}
    usernames = {
        ref.id: ref.username
        for ref in user_refs(session=session, tenant=tenant, ids=user_ids).values()
        if ref.username
    }
    policies = {
        row.id: row
        for row in session.execute(
            select(EscalationPolicy.id, EscalationPolicy.name, EscalationPolicy.team_id).where(
                *tenant_filter(EscalationPolicy, tenant),
                EscalationPolicy.id.in_({p for ps in policy_ids.values() for p in ps}),
            )
        )
    }
    team_ids = {i.team_id for i in incidents if i.team_id} | {
        p.team_id for p in policies.values() if p.team_id
    }
    teams = {
        row.id: Handle(row.name, row.slug or row.id)
        for row in session.execute(
            select(Team.id, Team.name, Team.slug).where(*tenant_filter(Team, tenant), Team.id.in_(team_ids))
        )
    }
    reports = []
    for incident in incidents:
        service = services.get(incident.service_id)
        service_name = service.name if service is not None else ""
        paged = [policies[p] for p in policy_ids[incident.id] if p in policies]
        team_slugs = [teams[incident.team_id].slug] if incident.team_id in teams else []
        for policy in paged:
            if policy.team_id in teams and teams[policy.team_id].slug not in team_slugs:
                team_slugs.append(teams[policy.team_id].slug)
        last = last_alert.get(incident.id)
        transitions = tuple(
            Transition(
                name=PHASE_OF_ENTRY[entry.type],
                at=entry.created_at,
                by=(usernames.get(entry.actor_id or "") if entry.actor_type == "user" else None)
                or entry.actor_name,
                message=entry.data.get("message"),
                manually=entry.actor_type != "system",
                alert_id=first_alert.get(incident.id) if entry.type == "triggered" else None,
            )
            for entry in entries
            if entry.incident_id == incident.id and entry.type in PHASE_OF_ENTRY
        )
        reports.append(
            IncidentReport(
                incident=incident,
                phase=phase_of(incident.status),
                entity_state=_entity_state(incident),
                service_name=service_name,
                routing_key=first_key.get(incident.id, service_name),
                last_alert_id=last[0] if last else None,
                last_alert_time=last[1] if last else incident.created_at,
                paged_users=tuple(usernames[u] for u in paged_ids[incident.id] if u in usernames),
                paged_teams=tuple(team_slugs),
                paged_policies=tuple(
                    PagedPolicy(Handle(p.name, p.id), teams.get(p.team_id) if p.team_id else None)
                    for p in paged
                ),
                transitions=transitions,
            )
        )
    return reports


def current(*, session: Session, tenant: Tenant, now: datetime) -> list[IncidentReport]:
    """Every incident not resolved, and those resolved in the last 24 hours, by number."""
    stmt = (
        select(Incident)
        .where(
            *tenant_filter(Incident, tenant),
            or_(Incident.status != Status.RESOLVED.value, Incident.resolved_at >= now - RECENTLY_RESOLVED),
        )
        .order_by(Incident.number)
    )
    return build_reports(session=session, tenant=tenant, incidents=session.scalars(stmt).all())


def by_number(*, session: Session, tenant: Tenant, number: str) -> IncidentReport:
    """One incident by its number as Splunk clients send it (a string of digits); 404 otherwise."""
    if not (number.isascii() and number.isdigit()) or len(number) > 12:
        raise NotFound("incident", number)
    incident = session.scalar(
        select(Incident).where(*tenant_filter(Incident, tenant), Incident.number == int(number))
    )
    if incident is None:
        raise NotFound("incident", number)
    return build_reports(session=session, tenant=tenant, incidents=[incident])[0]


def _filtered(tenant: Tenant, filters: ReportFilters) -> Select[Any]:
    stmt: Select[Any] = select(Incident).where(*tenant_filter(Incident, tenant))
    if filters.entity_id is not None:
        stmt = stmt.where(Incident.dedup_key == filters.entity_id)
    if filters.numbers:
        stmt = stmt.where(or_(*(Incident.number.between(low, high) for low, high in filters.numbers)))
    if filters.started_after is not None:
        stmt = stmt.where(Incident.created_at >= filters.started_after)
    if filters.started_before is not None:
        stmt = stmt.where(Incident.created_at < filters.started_before)
    if filters.hosts:
        stmt = stmt.where(Incident.source.in_(filters.hosts))
    if filters.phases:
        stmt = stmt.where(Incident.status.in_([s for p in filters.phases for s in STATUSES_OF_PHASE[p]]))
    if filters.services:
        stmt = stmt.where(
            Incident.service_id.in_(
                select(Service.id).where(*tenant_filter(Service, tenant), Service.name.in_(filters.services))
            )
        )
    if filters.routing_key is not None:
        through_key = exists().where(
            Alert.incident_id == Incident.id,
            Alert.integration_id.in_(
                select(Integration.id).where(
                    *tenant_filter(Integration, tenant), Integration.routing_key == filters.routing_key
                )
            ),
        )
        named_service = Incident.service_id.in_(
            select(Service.id).where(*tenant_filter(Service, tenant), Service.name == filters.routing_key)
        )
        stmt = stmt.where(or_(through_key, named_service))
    return stmt


def search(
    *, session: Session, tenant: Tenant, filters: ReportFilters, limit: int, offset: int
) -> tuple[list[IncidentReport], int]:
    """One page of reports, newest first, and how many match in all."""
    if filters.started_after and filters.started_before and filters.started_before <= filters.started_after:
        raise Invalid("startedBefore", "before_start", "startedBefore must be after startedAfter")
    stmt = _filtered(tenant, filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Incident.created_at.desc(), Incident.number.desc()).limit(limit).offset(offset)
    ).all()
    return build_reports(session=session, tenant=tenant, incidents=rows), total
