"""``/api/incidents``: list with filters, create, edit, act on, notes and timeline (spec 003)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.deps import DEFAULT_PAGE, Db, IncidentsRead, IncidentsWrite, Limit, Now, Offset, Paging
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.incidents import (
    EscalateRequest,
    IncidentCreate,
    IncidentRead,
    IncidentUpdate,
    NoteCreate,
    NoteRead,
    ReassignRequest,
    SnoozeRequest,
    TimelineEntryRead,
)
from tocsin.domain.incident import Status
from tocsin.services.escalation import manual as manual_escalation
from tocsin.services.incidents import actions as incident_actions
from tocsin.services.incidents import records as incidents
from tocsin.services.incidents import timeline
from tocsin.services.paging import PagingSettings

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


def _read(incident: Any) -> IncidentRead:
    return IncidentRead.model_validate(incident)


@router.get("", response_model=ListEnvelope[IncidentRead], summary="List incidents")
def list_incidents(
    key: IncidentsRead,
    db: Db,
    status: str | None = None,
    urgency: str | None = None,
    service_id: str | None = None,
    team_id: str | None = None,
    assignee_id: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    sort: str = "created_at",
    order: str = "desc",
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Filters take comma-separated values: ``?status=OPEN,ACKNOWLEDGED&urgency=HIGH``."""
    query = incidents.parse_query(
        status=status,
        urgency=urgency,
        service_id=service_id,
        team_id=team_id,
        assignee_id=assignee_id,
        created_after=created_after,
        created_before=created_before,
        sort=sort,
        order=order,
    )
    with db.read() as session:
        page = incidents.list_incidents(
            session=session,
            tenant=key.tenant,
            filters=query.filters,
            sort=query.sort,
            order=query.order,
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, _read)


@router.post("", status_code=201, response_model=Envelope[IncidentRead], summary="Create an incident")
def create_incident(body: IncidentCreate, key: IncidentsWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        incident = incidents.create_incident(
            session=session,
            tenant=key.tenant,
            actor=key.actor,
            now=now,
            title=body.title,
            service_id=body.service_id,
            urgency=body.urgency,
            description=body.description,
            assignee_ids=body.assignee_ids,
            priority=body.priority,
            dedup_key=body.dedup_key,
        )
        return envelope(_read(incident))


@router.get(
    "/{incident_id}", response_model=Envelope[IncidentRead], summary="Get an incident by id or number"
)
def get_incident(incident_id: str, key: IncidentsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return envelope(_read(incidents.get_incident(session=session, tenant=key.tenant, ref=incident_id)))


@router.patch("/{incident_id}", response_model=Envelope[IncidentRead], summary="Update an incident")
def update_incident(
    incident_id: str, body: IncidentUpdate, key: IncidentsWrite, db: Db, now: Now, paging: Paging
) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        incident = incident_actions.update_incident(
            session=session,
            tenant=key.tenant,
            ref=incident_id,
            changes=changes,
            actor=key.actor,
            now=now,
            paging=paging,
        )
        return envelope(_read(incident))


def _act(
    db: Any, key: Any, now: Any, paging: PagingSettings, incident_id: str, target: Status, until: Any = None
) -> dict[str, Any]:
    with db.write() as session:
        incident = incident_actions.act(
            session=session,
            tenant=key.tenant,
            ref=incident_id,
            target=target,
            actor=key.actor,
            now=now,
            snoozed_until=until,
            paging=paging,
        )
        return envelope(_read(incident))


@router.post("/{incident_id}/acknowledge", response_model=Envelope[IncidentRead], summary="Acknowledge")
def acknowledge(incident_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _act(db, key, now, paging, incident_id, Status.ACKNOWLEDGED)


@router.post("/{incident_id}/resolve", response_model=Envelope[IncidentRead], summary="Resolve")
def resolve(incident_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _act(db, key, now, paging, incident_id, Status.RESOLVED)


@router.post("/{incident_id}/snooze", response_model=Envelope[IncidentRead], summary="Snooze")
def snooze(
    incident_id: str, body: SnoozeRequest, key: IncidentsWrite, db: Db, now: Now, paging: Paging
) -> dict[str, Any]:
    """``{"until": "2024-01-15T12:00:00Z"}`` or ``{"duration_minutes": 60}``; back to OPEN at expiry."""
    until = incident_actions.snooze_until(now=now, until=body.until, duration_minutes=body.duration_minutes)
    return _act(db, key, now, paging, incident_id, Status.SNOOZED, until)


@router.post("/{incident_id}/unsnooze", response_model=Envelope[IncidentRead], summary="Unsnooze")
def unsnooze(incident_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _act(db, key, now, paging, incident_id, Status.OPEN)


@router.post("/{incident_id}/escalate", response_model=Envelope[IncidentRead], summary="Escalate")
def escalate(
    incident_id: str,
    key: IncidentsWrite,
    db: Db,
    now: Now,
    paging: Paging,
    body: EscalateRequest | None = None,
) -> dict[str, Any]:
    """Page the next level of the incident's escalation policy now, or the level given; the policy
    goes on from there. An acknowledged or snoozed incident is opened again."""
    with db.write() as session:
        incident = manual_escalation.escalate(
            session=session,
            tenant=key.tenant,
            ref=incident_id,
            level=body.level if body else None,
            actor=key.actor,
            now=now,
            paging=paging,
        )
        return envelope(_read(incident))


@router.post("/{incident_id}/reassign", response_model=Envelope[IncidentRead], summary="Reassign")
def reassign(
    incident_id: str, body: ReassignRequest, key: IncidentsWrite, db: Db, now: Now, paging: Paging
) -> dict[str, Any]:
    """``{"user_ids": [...]}`` assigns and pages those people now; ``{"escalation_policy_id": ...}``
    hands the incident to that policy, escalating from its first level."""
    with db.write() as session:
        incident = manual_escalation.reassign(
            session=session,
            tenant=key.tenant,
            ref=incident_id,
            user_ids=body.user_ids or [],
            escalation_policy_id=body.escalation_policy_id,
            actor=key.actor,
            now=now,
            paging=paging,
        )
        return envelope(_read(incident))


@router.get("/{incident_id}/notes", response_model=ListEnvelope[NoteRead], summary="List notes")
def list_notes(
    incident_id: str, key: IncidentsRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    with db.read() as session:
        incident = incidents.get_incident(session=session, tenant=key.tenant, ref=incident_id)
        page = timeline.list_notes(
            session=session, tenant=key.tenant, incident_id=incident.id, limit=limit, offset=offset
        )
        return page_envelope(page, NoteRead.model_validate)


@router.post("/{incident_id}/notes", status_code=201, response_model=Envelope[NoteRead], summary="Add a note")
def add_note(incident_id: str, body: NoteCreate, key: IncidentsWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        incident = incidents.get_incident(session=session, tenant=key.tenant, ref=incident_id)
        note = timeline.add_note(
            session=session, incident=incident, content=body.content, actor=key.actor, now=now
        )
        return envelope(NoteRead.model_validate(note))


@router.get("/{incident_id}/timeline", response_model=ListEnvelope[TimelineEntryRead], summary="Timeline")
def get_timeline(
    incident_id: str, key: IncidentsRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    with db.read() as session:
        incident = incidents.get_incident(session=session, tenant=key.tenant, ref=incident_id)
        page = timeline.list_entries(
            session=session, tenant=key.tenant, incident_id=incident.id, limit=limit, offset=offset
        )
        return page_envelope(page, TimelineEntryRead.model_validate)
