"""Incidents: opening (deduplicated), reading, filtering and editing. State changes live in
``incident_actions``; the timeline in ``timeline``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, exists, func, select
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, IncidentAssignee, MaintenanceWindow, Service, User
from tocsin.db.models.incident import OPEN_PREDICATE
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import PRIORITIES, STATUS_RANK, URGENCY_RANK, Status, Urgency
from tocsin.ids import new_id
from tocsin.services import paging
from tocsin.services.access import orgs
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.incidents import timeline
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import dialect_insert, load, tenant_filter

SORT_FIELDS = ("created_at", "updated_at", "urgency", "status")
MAX_TITLE = 1024
MAX_DEDUP_KEY = 255


@dataclass(frozen=True, slots=True)
class IncidentFilters:
    statuses: tuple[Status, ...] = ()
    urgencies: tuple[Urgency, ...] = ()
    service_ids: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()
    assignee_ids: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewIncident:
    title: str
    urgency: Urgency
    dedup_key: str
    description: str | None = None
    priority: str | None = None
    source: str | None = None
    severity: str | None = None
    custom_details: dict[str, Any] | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    assignee_ids: tuple[str, ...] = ()


def _sort_column(sort: str) -> Any:
    if sort == "urgency":
        return case({u.value: rank for u, rank in URGENCY_RANK.items()}, value=Incident.urgency)
    if sort == "status":
        return case({s.value: rank for s, rank in STATUS_RANK.items()}, value=Incident.status)
    return getattr(Incident, sort)


def list_incidents(
    *,
    session: Session,
    tenant: Tenant,
    filters: IncidentFilters,
    sort: str = "created_at",
    order: str = "desc",
    limit: int,
    offset: int,
) -> Page[Incident]:
    """One page of incidents; urgency and status sort by meaning (HIGH above LOW), not alphabet."""
    stmt: Select[Any] = select(Incident).where(*tenant_filter(Incident, tenant))
    if filters.statuses:
        stmt = stmt.where(Incident.status.in_([s.value for s in filters.statuses]))
    if filters.urgencies:
        stmt = stmt.where(Incident.urgency.in_([u.value for u in filters.urgencies]))
    if filters.service_ids:
        stmt = stmt.where(Incident.service_id.in_(filters.service_ids))
    if filters.team_ids:
        stmt = stmt.where(Incident.team_id.in_(filters.team_ids))
    if filters.assignee_ids:
        stmt = stmt.where(
            exists().where(
                IncidentAssignee.incident_id == Incident.id,
                IncidentAssignee.user_id.in_(filters.assignee_ids),
            )
        )
    if filters.created_after is not None:
        stmt = stmt.where(Incident.created_at >= filters.created_after)
    if filters.created_before is not None:
        stmt = stmt.where(Incident.created_at < filters.created_before)
    column = _sort_column(sort)
    if order == "asc":
        stmt = stmt.order_by(column.asc(), Incident.id.asc())
    else:
        stmt = stmt.order_by(column.desc(), Incident.id.desc())
    return paginate(session, stmt, limit=limit, offset=offset)


def get_incident(*, session: Session, tenant: Tenant, ref: str, for_update: bool = False) -> Incident:
    """By id (``inc_…``) or by per-org number (``42`` or ``#42``), as people say it out loud.
    ``for_update`` locks it for an action (see ``sql.load``)."""
    number = ref.removeprefix("#")
    if number.isascii() and number.isdigit():
        if len(number) > 10:  # past any per-org number, and past what the column can bind
            raise NotFound("incident", ref)
        stmt = select(Incident).where(*tenant_filter(Incident, tenant), Incident.number == int(number))
        if for_update:
            stmt = stmt.with_for_update(of=Incident)
        incident = session.scalar(stmt)
        if incident is None:
            raise NotFound("incident", ref)
        return incident
    return load(session, Incident, tenant, ref, "incident", for_update=for_update)


def find_open_by_dedup(
    *, session: Session, tenant: Tenant, service_id: str, dedup_key: str
) -> Incident | None:
    return session.scalar(
        select(Incident).where(
            *tenant_filter(Incident, tenant),
            Incident.service_id == service_id,
            Incident.dedup_key == dedup_key,
            Incident.status != Status.RESOLVED.value,
        )
    )


def in_maintenance(*, session: Session, service_id: str, at: datetime) -> bool:
    return (
        session.scalar(
            select(MaintenanceWindow.id)
            .where(
                MaintenanceWindow.service_id == service_id,
                MaintenanceWindow.start <= at,
                MaintenanceWindow.end > at,
            )
            .limit(1)
        )
        is not None
    )


def check_users(*, session: Session, tenant: Tenant, user_ids: Iterable[str], field: str) -> tuple[str, ...]:
    """The given user ids, de-duplicated in order, each checked to exist in the tenant."""
    wanted = tuple(dict.fromkeys(user_ids))
    if not wanted:
        return ()
    found = set(session.scalars(select(User.id).where(*tenant_filter(User, tenant), User.id.in_(wanted))))
    missing = [user_id for user_id in wanted if user_id not in found]
    if missing:
        raise Invalid(field, "not_found", f"unknown user id(s): {', '.join(missing)}")
    return wanted


def normalize_priority(priority: str | None) -> str | None:
    if priority is None:
        return None
    value = priority.strip().upper()
    if value not in PRIORITIES:
        raise Invalid("priority", "invalid", "priority must be one of P1, P2, P3, P4, P5 or null")
    return value


def set_assignees(*, session: Session, incident: Incident, user_ids: Sequence[str], now: datetime) -> None:
    keep = set(user_ids)
    incident.assignees[:] = [a for a in incident.assignees if a.user_id in keep]
    present = {a.user_id for a in incident.assignees}
    for user_id in user_ids:
        if user_id not in present:
            incident.assignees.append(
                IncidentAssignee(incident_id=incident.id, user_id=user_id, created_at=now)
            )


def open_incident(
    *,
    session: Session,
    tenant: Tenant,
    service: Service,
    spec: NewIncident,
    actor: Actor,
    now: datetime,
    via: str,
) -> Incident | None:
    """Insert a new incident, or return ``None`` if an open one with the same dedup key won the
    race: the partial unique index, not a read-then-write, is what keeps dedup exact across replicas."""
    suppressed = in_maintenance(session=session, service_id=service.id, at=now)
    status = Status.SUPPRESSED if suppressed else Status.OPEN
    incident_id = new_id("incident")
    number = orgs.next_number(session=session, tenant=tenant, name="incident")
    values = {
        "id": incident_id,
        "org_id": tenant.org_id,
        "livemode": tenant.livemode,
        "number": number,
        "title": spec.title[:MAX_TITLE],
        "description": spec.description,
        "status": status.value,
        "urgency": spec.urgency.value,
        "priority": spec.priority,
        "service_id": service.id,
        "team_id": service.team_id,
        "escalation_policy_id": service.escalation_policy_id,
        "escalation_level": 0,
        "dedup_key": spec.dedup_key,
        "alert_count": 1,
        "source": spec.source,
        "severity": spec.severity,
        "custom_details": spec.custom_details,
        "links": spec.links,
        "created_at": now,
        "updated_at": now,
    }
    stmt = (
        dialect_insert(session, Incident)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["org_id", "livemode", "service_id", "dedup_key"], index_where=OPEN_PREDICATE
        )
        .returning(Incident.id)
    )
    if session.execute(stmt).scalar_one_or_none() is None:
        orgs.give_back_number(session=session, tenant=tenant, name="incident")
        return None
    incident = session.get_one(Incident, incident_id)
    if spec.assignee_ids:
        set_assignees(session=session, incident=incident, user_ids=spec.assignee_ids, now=now)
    timeline.record(
        session=session,
        incident=incident,
        type="triggered",
        message=f"Incident #{number} triggered via {via}",
        actor=actor,
        now=now,
        data={"dedup_key": spec.dedup_key, "urgency": spec.urgency.value},
    )
    if suppressed:
        timeline.record(
            session=session,
            incident=incident,
            type="suppressed",
            message="Suppressed: the service is in a maintenance window; nobody is paged",
            actor=Actor.system(),
            now=now,
        )
    paging.on_opened(session, incident=incident, now=now)
    session.flush()
    return incident


def create_incident(
    *,
    session: Session,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    title: str,
    service_id: str,
    urgency: Urgency = Urgency.HIGH,
    description: str | None = None,
    assignee_ids: Sequence[str] = (),
    priority: str | None = None,
    dedup_key: str | None = None,
) -> Incident:
    """A manual incident (``POST /api/incidents``): same rules as an event, but a clash is a 409."""
    if not title.strip():
        raise Invalid("title", "required", "Title is required")
    if len(title) > MAX_TITLE:
        raise Invalid("title", "too_long", f"title is at most {MAX_TITLE} characters")
    if dedup_key is not None and not 0 < len(dedup_key) <= MAX_DEDUP_KEY:
        raise Invalid("dedup_key", "length", f"dedup_key must be 1 to {MAX_DEDUP_KEY} characters")
    service = session.scalar(select(Service).where(*tenant_filter(Service, tenant), Service.id == service_id))
    if service is None:
        raise Invalid("service_id", "not_found", f"unknown service id {service_id!r}")
    spec = NewIncident(
        title=title.strip(),
        urgency=urgency,
        dedup_key=dedup_key or uuid.uuid4().hex,
        description=description,
        priority=normalize_priority(priority),
        source=actor.name,
        assignee_ids=check_users(session=session, tenant=tenant, user_ids=assignee_ids, field="assignee_ids"),
    )
    incident = open_incident(
        session=session, tenant=tenant, service=service, spec=spec, actor=actor, now=now, via="API"
    )
    if incident is None:
        raise Conflict(
            f"an open incident with dedup_key {spec.dedup_key!r} already exists on this service",
            {"field": "dedup_key"},
        )
    return incident


def count_by_status(*, session: Session) -> dict[tuple[str, bool], int]:
    """Incidents by (status, livemode) across all orgs: the operator's view, for /metrics."""
    rows = session.execute(
        select(Incident.status, Incident.livemode, func.count()).group_by(Incident.status, Incident.livemode)
    )
    return {(status, livemode): count for status, livemode, count in rows}
