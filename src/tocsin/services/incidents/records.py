"""Incidents: reading, filtering, editing, and the manual incident (opened, like every incident,
by ``opening``). State changes live in ``actions``; the timeline in ``timeline``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, exists, func, select
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, IncidentAssignee, Service, User
from tocsin.db.raw import RawSQL
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import PRIORITIES, STATUS_RANK, URGENCY_RANK, Status, Urgency
from tocsin.services import jobs
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.incidents import changes, opening
from tocsin.services.incidents.opening import NewIncident, OpenRequest, Placement
from tocsin.services.pagination import Page, paginate
from tocsin.services.query import choice, csv_enum, csv_values, iso_datetime
from tocsin.services.sql import load, tenant_filter

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
class IncidentQuery:
    """A list's filters and order, as ``GET /api/incidents`` and the Incidents screen take them."""

    filters: IncidentFilters = IncidentFilters()
    sort: str = "created_at"
    order: str = "desc"


def parse_query(
    *,
    status: str | None = None,
    urgency: str | None = None,
    service_id: str | None = None,
    team_id: str | None = None,
    assignee_id: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    sort: str = "created_at",
    order: str = "desc",
) -> IncidentQuery:
    """The query string's words as a query, or ``Invalid`` naming the field: one parser for the API
    and the screens, so the same URL filters (and is refused) the same way in both."""
    filters = IncidentFilters(
        statuses=csv_enum(status, Status, "status"),
        urgencies=csv_enum(urgency, Urgency, "urgency"),
        service_ids=csv_values(service_id),
        team_ids=csv_values(team_id),
        assignee_ids=csv_values(assignee_id),
        created_after=iso_datetime(created_after, "created_after"),
        created_before=iso_datetime(created_before, "created_before"),
    )
    return IncidentQuery(
        filters=filters, sort=choice(sort, SORT_FIELDS, "sort"), order=choice(order, ("asc", "desc"), "order")
    )


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
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


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
    return load(
        session=session, model=Incident, tenant=tenant, ident=ref, resource="incident", for_update=for_update
    )


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
    key = dedup_key or uuid.uuid4().hex
    assignees = check_users(session=session, tenant=tenant, user_ids=assignee_ids, field="assignee_ids")
    spec = NewIncident(
        title=title.strip(),
        urgency=urgency,
        dedup_key=key,
        actor=actor,
        created_at=now,
        updated_at=now,
        description=description,
        priority=normalize_priority(priority),
        source=actor.name,
    )
    request = OpenRequest(Placement(tenant, service.id, "API"), [spec])
    if opening.open_incidents(RawSQL.of(session.connection()), [request]):
        jobs.mark_enqueued(session=session)
    changes.announce(session=session, tenant=tenant)
    opened = request.opened.get(key)
    if opened is None:
        raise Conflict(
            f"an open incident with dedup_key {key!r} already exists on this service",
            {"field": "dedup_key"},
        )
    incident = session.get_one(Incident, opened.id)
    if assignees:
        set_assignees(session=session, incident=incident, user_ids=assignees, now=now)
        session.flush()
    return incident


def status_counts(*, session: Session, tenant: Tenant) -> dict[str, int]:
    """The tenant's incidents by status, every status present (0 when none): the home screen's
    counts, one grouped query however many incidents there are."""
    rows = session.execute(
        select(Incident.status, func.count())
        .where(*tenant_filter(Incident, tenant))
        .group_by(Incident.status)
    )
    counts = dict.fromkeys((status.value for status in Status), 0)
    counts.update({status: count for status, count in rows})
    return counts


def count_by_status(*, session: Session) -> dict[tuple[str, bool], int]:
    """Incidents by (status, livemode) across all orgs: the operator's view, for /metrics."""
    rows = session.execute(
        select(Incident.status, Incident.livemode, func.count()).group_by(Incident.status, Incident.livemode)
    )
    return {(status, livemode): count for status, livemode, count in rows}


def count_open(*, session: Session, tenant: Tenant) -> int:
    """The tenant's incidents in OPEN (nobody acknowledged them yet): the Incidents tab's title
    shows it, so a glance at a browser's tabs says whether anything waits for a person."""
    return (
        session.scalar(
            select(func.count()).where(*tenant_filter(Incident, tenant), Incident.status == Status.OPEN.value)
        )
        or 0
    )
