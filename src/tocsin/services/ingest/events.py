"""Events as every inbound dialect hands them over, and what ingesting one answers; acknowledge
and resolve act here, triggers in ``services.ingest.bulk`` (the group commit's ``ingest_batch``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from tocsin.domain.actor import Actor
from tocsin.domain.incident import Status
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.incidents.actions import transition
from tocsin.services.incidents.records import find_open_by_dedup
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
    # The summary describes the whole group as it stands (Alertmanager's ``[FIRING:N] ...``): a
    # trigger appended to an open incident replaces its title, as Alertmanager's own template
    # re-renders it for every notification, so the count in the title stays true.
    retitles: bool = False


@dataclass(frozen=True, slots=True)
class IngestResult:
    dedup_key: str
    outcome: Outcome
    incident_id: str | None = None
    incident_number: int | None = None


def acknowledge_or_resolve(
    *,
    session: Session,
    route: IngestRoute,
    event: Event,
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> IngestResult:
    """Act on the open incident with the event's dedup key; accepted (as PagerDuty does) even when
    there is nothing to act on. A trigger never comes here: open-or-append has one implementation,
    ``services.ingest.bulk``, so dedup cannot differ between two copies of it."""
    assert event.action != "trigger", "triggers go through services.ingest.bulk"
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
