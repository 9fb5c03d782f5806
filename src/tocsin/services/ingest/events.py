"""Events in, deduplicated incidents out: the one service call every inbound dialect ends in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from tocsin.db.models import Alert, Incident, Service
from tocsin.domain.actor import Actor
from tocsin.domain.incident import Status, urgency_for_severity
from tocsin.ids import new_id
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.incidents.actions import transition
from tocsin.services.incidents.records import NewIncident, find_open_by_dedup, open_incident
from tocsin.services.paging import PagingSettings

Action = Literal["trigger", "acknowledge", "resolve"]
Outcome = Literal["created", "appended", "acknowledged", "resolved", "unchanged", "no_incident"]


@dataclass(frozen=True, slots=True)
class Event:
    """A normalised event; each dialect builds one from its own wire format."""

    action: Action
    dedup_key: str | None
    summary: str | None = None
    severity: str | None = None
    source: str | None = None
    custom_details: dict[str, Any] | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # Set by dialects that carry one (Opsgenie's P1-P5); a new incident takes it.
    priority: str | None = None
    # A longer text than the summary (Opsgenie's description, an Alertmanager annotation).
    description: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    dedup_key: str
    outcome: Outcome
    incident_id: str | None = None
    incident_number: int | None = None


def _append_alert(
    session: Session, route: IngestRoute, incident_id: str, event: Event, now: datetime
) -> None:
    session.add(
        Alert(
            id=new_id("alert"),
            org_id=route.org_id,
            livemode=route.livemode,
            incident_id=incident_id,
            integration_id=route.integration_id,
            summary=(event.summary or "")[:1024],
            severity=event.severity,
            source=event.source,
            payload=event.raw,
            created_at=now,
        )
    )


def _trigger(
    session: Session, route: IngestRoute, event: Event, dedup_key: str, actor: Actor, now: datetime
) -> IngestResult:
    tenant = route.tenant
    # A few rounds at most: each lost race means another writer just created or resolved the twin.
    for _ in range(5):
        existing = find_open_by_dedup(
            session=session, tenant=tenant, service_id=route.service_id, dedup_key=dedup_key
        )
        if existing is not None:
            bumped: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Incident)
                .where(Incident.id == existing.id, Incident.status != Status.RESOLVED.value)
                .values(alert_count=Incident.alert_count + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if bumped.rowcount:
                _append_alert(session, route, existing.id, event, now)
                session.expire(existing, ["alert_count", "updated_at"])
                return IngestResult(dedup_key, "appended", existing.id, existing.number)
            continue
        service = session.get_one(Service, route.service_id)
        spec = NewIncident(
            title=(event.summary or "")[:1024],
            urgency=urgency_for_severity(event.severity or "critical"),
            dedup_key=dedup_key,
            source=event.source,
            severity=(event.severity or "").lower() or None,
            custom_details=event.custom_details,
            links=event.links,
            priority=event.priority,
            description=event.description,
        )
        incident = open_incident(
            session=session,
            tenant=tenant,
            service=service,
            spec=spec,
            actor=actor,
            now=now,
            via=route.integration_name,
        )
        if incident is not None:
            _append_alert(session, route, incident.id, event, now)
            return IngestResult(dedup_key, "created", incident.id, incident.number)
    raise RuntimeError(f"could not settle dedup key {dedup_key!r} after repeated races")


def ingest_event(
    *, session: Session, route: IngestRoute, event: Event, actor: Actor, now: datetime, paging: PagingSettings
) -> IngestResult:
    """Trigger opens or extends the open incident with that dedup key; acknowledge and resolve act
    on it, and are accepted (as PagerDuty does) even when there is nothing to act on."""
    if event.action == "trigger":
        return _trigger(session, route, event, event.dedup_key or uuid.uuid4().hex, actor, now)
    assert event.dedup_key is not None, "acknowledge and resolve need a dedup_key"
    incident = find_open_by_dedup(
        session=session, tenant=route.tenant, service_id=route.service_id, dedup_key=event.dedup_key
    )
    if incident is None:
        return IngestResult(event.dedup_key, "no_incident")
    target = Status.ACKNOWLEDGED if event.action == "acknowledge" else Status.RESOLVED
    if target == Status.ACKNOWLEDGED and incident.status == Status.ACKNOWLEDGED.value:
        return IngestResult(event.dedup_key, "unchanged", incident.id, incident.number)
    transition(
        session=session,
        incident=incident,
        target=target,
        actor=actor,
        now=now,
        via=route.integration_name,
        paging=paging,
    )
    outcome: Outcome = "acknowledged" if target == Status.ACKNOWLEDGED else "resolved"
    return IngestResult(event.dedup_key, outcome, incident.id, incident.number)
