"""What the people's incident screens read: a page of the list with the names behind its ids, and
one incident with everything its screen shows (timeline, notes, the choices its forms offer).

Read in one short transaction and handed back as frozen values, so a template never touches a
session (no lazy load after the transaction ends, no query per row): a list of 25 costs the same
few queries whatever the rows hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import (
    EscalationPolicy,
    EscalationRule,
    Incident,
    Note,
    Schedule,
    Service,
    Team,
    TimelineEntry,
    User,
)
from tocsin.domain.actor import Tenant
from tocsin.services.incidents import records
from tocsin.services.incidents.records import IncidentQuery
from tocsin.services.sql import tenant_filter

PAGE_TYPES = ("notified", "notify_retrying", "notify_failed", "notify_skipped")
# The timeline of a long storm can hold thousands of entries; the screen shows the newest ones.
TIMELINE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One line of the list: what a responder scans for at 3 am."""

    id: str
    number: int
    title: str
    status: str
    urgency: str
    priority: str | None
    service: Named
    assignees: tuple[Named, ...]
    alert_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ListPage:
    rows: tuple[IncidentRow, ...]
    total: int
    limit: int
    offset: int
    open_count: int  # every incident not resolved: the number in the tab's title

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclass(frozen=True, slots=True)
class Entry:
    """A timeline entry; ``page`` holds channel, outcome and level for a page attempt."""

    id: str
    type: str
    message: str
    actor_name: str | None
    created_at: datetime
    page: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class NoteView:
    id: str
    content: str
    author_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    row: IncidentRow
    description: str | None
    severity: str | None
    source: str | None
    custom_details: dict[str, Any]
    links: tuple[dict[str, Any], ...]  # runbooks first
    escalation_policy: Named | None
    escalation_level: int  # 1-based, the level paged last (0: none yet)
    levels: int  # how many levels the policy has: the choices of Escalate
    schedules: tuple[Named, ...]  # the schedules the policy pages through
    snoozed_until: datetime | None
    timeline: tuple[Entry, ...]
    notes: tuple[NoteView, ...]
    people: tuple[Named, ...]  # who Reassign can hand it to
    policies: tuple[Named, ...]


def _names(session: Session, model: Any, tenant: Tenant, ids: Iterable[str]) -> dict[str, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(model.id, model.name).where(*tenant_filter(model, tenant), model.id.in_(wanted))
    )
    return {ident: name for ident, name in rows}


def _rows(session: Session, tenant: Tenant, incidents: Sequence[Incident]) -> tuple[IncidentRow, ...]:
    services = _names(session, Service, tenant, (i.service_id for i in incidents))
    people = _names(session, User, tenant, (a for i in incidents for a in i.assignee_ids))
    return tuple(
        IncidentRow(
            id=incident.id,
            number=incident.number,
            title=incident.title,
            status=incident.status,
            urgency=incident.urgency,
            priority=incident.priority,
            service=Named(incident.service_id, services.get(incident.service_id, "(deleted service)")),
            assignees=tuple(Named(a, people.get(a, "(deleted user)")) for a in incident.assignee_ids),
            alert_count=incident.alert_count,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
        )
        for incident in incidents
    )


def list_page(*, session: Session, tenant: Tenant, query: IncidentQuery, limit: int, offset: int) -> ListPage:
    """One page of the Incidents screen, with the same filters and order as ``GET /api/incidents``."""
    page = records.list_incidents(
        session=session,
        tenant=tenant,
        filters=query.filters,
        sort=query.sort,
        order=query.order,
        limit=limit,
        offset=offset,
    )
    return ListPage(
        rows=_rows(session, tenant, page.items),
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        open_count=records.count_open(session=session, tenant=tenant),
    )


@dataclass(frozen=True, slots=True)
class FilterChoices:
    """What the list's filter form offers: the tenant's services, teams and people by name."""

    services: tuple[Named, ...]
    teams: tuple[Named, ...]
    people: tuple[Named, ...]


def _all(session: Session, model: Any, tenant: Tenant) -> tuple[Named, ...]:
    rows = session.execute(
        select(model.id, model.name).where(*tenant_filter(model, tenant)).order_by(model.name, model.id)
    )
    return tuple(Named(ident, name) for ident, name in rows)


def filter_choices(*, session: Session, tenant: Tenant) -> FilterChoices:
    return FilterChoices(
        services=_all(session, Service, tenant),
        teams=_all(session, Team, tenant),
        people=_all(session, User, tenant),
    )


def _links(raw: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Runbooks first: the link a responder needs before any dashboard."""

    def is_runbook(link: dict[str, Any]) -> bool:
        text = f"{link.get('text') or ''} {link.get('href') or ''}".lower()
        return "runbook" in text or "playbook" in text

    usable = [link for link in raw if isinstance(link, dict) and isinstance(link.get("href"), str)]
    return tuple(sorted(usable, key=lambda link: not is_runbook(link)))


def _schedules(session: Session, tenant: Tenant, rules: Sequence[EscalationRule]) -> tuple[Named, ...]:
    ids: dict[str, None] = {}
    for rule in rules:
        for target in rule.targets:
            schedule_id = target.get("schedule_id") or (
                target.get("id") if target.get("type") == "schedule" else None
            )
            if isinstance(schedule_id, str):
                ids[schedule_id] = None
    names = _names(session, Schedule, tenant, ids)
    return tuple(Named(ident, names[ident]) for ident in ids if ident in names)


def detail(*, session: Session, tenant: Tenant, ref: str) -> IncidentDetail:
    """Everything the Incident screen shows; another org's number is ``NotFound``, as on the API."""
    incident = records.get_incident(session=session, tenant=tenant, ref=ref)
    (row,) = _rows(session, tenant, [incident])
    policy = None
    if incident.escalation_policy_id is not None:
        policy = session.scalar(
            select(EscalationPolicy).where(
                *tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id == incident.escalation_policy_id
            )
        )
    rules = list(policy.rules) if policy is not None else []
    entries = session.scalars(
        select(TimelineEntry)
        .where(*tenant_filter(TimelineEntry, tenant), TimelineEntry.incident_id == incident.id)
        .order_by(TimelineEntry.created_at.desc(), TimelineEntry.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    notes = session.scalars(
        select(Note)
        .where(*tenant_filter(Note, tenant), Note.incident_id == incident.id)
        .order_by(Note.created_at.desc(), Note.id.desc())
    ).all()
    return IncidentDetail(
        row=row,
        description=incident.description,
        severity=incident.severity,
        source=incident.source,
        custom_details=dict(incident.custom_details or {}),
        links=_links(incident.links or []),
        escalation_policy=Named(policy.id, policy.name) if policy is not None else None,
        escalation_level=incident.escalation_level + 1 if policy is not None else 0,
        levels=len(rules),
        schedules=_schedules(session, tenant, rules),
        snoozed_until=incident.snoozed_until,
        timeline=tuple(
            Entry(
                id=entry.id,
                type=entry.type,
                message=entry.message,
                actor_name=entry.actor_name,
                created_at=entry.created_at,
                page=dict(entry.data or {}) if entry.type in PAGE_TYPES else None,
            )
            for entry in entries
        ),
        notes=tuple(NoteView(n.id, n.content, n.author_name, n.created_at) for n in notes),
        people=_all(session, User, tenant),
        policies=_all(session, EscalationPolicy, tenant),
    )
