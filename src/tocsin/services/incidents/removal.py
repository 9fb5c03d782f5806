"""Removing an incident for good, or wiping what its senders said while keeping the incident.

Grafana OnCall's ``DELETE /api/v1/alert_groups/{id}`` offers both: ``delete`` removes the group,
``wipe`` keeps it but erases its alerts' payloads (a payload that leaked a secret, say).

A delete takes everything that hangs off the incident with it, explicitly rather than by trusting
``ON DELETE CASCADE`` alone, so nothing dangles on either database: alerts, notes, timeline,
assignees, and the engine jobs still queued for it (escalation steps, pages, snooze and ack
timers). Webhook delivery jobs stay: they carry an event that already happened to a subscriber,
and their delivery rows are the subscriber's log. One-click link uses stay too: they are the guard
that keeps a used link from working twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from tocsin.db.models import Alert, Incident, IncidentAssignee, Job, Note, TimelineEntry
from tocsin.domain.actor import Actor, Tenant
from tocsin.services.incidents import timeline
from tocsin.services.sql import load
from tocsin.services.webhooks import deliveries as webhook_deliveries


def delete_incident(*, session: Session, tenant: Tenant, incident_id: str) -> None:
    """Remove the incident and everything that is only about it (see the module docstring)."""
    incident = load(
        session=session,
        model=Incident,
        tenant=tenant,
        ident=incident_id,
        resource="incident",
        for_update=True,
    )
    session.execute(
        delete(Job)
        .where(
            Job.org_id == tenant.org_id,
            Job.livemode == tenant.livemode,
            Job.incident_id == incident.id,
            Job.kind != webhook_deliveries.JOB_KIND,
        )
        .execution_options(synchronize_session=False)
    )
    for model in (Alert, Note, TimelineEntry):
        session.execute(
            delete(model)
            .where(model.org_id == tenant.org_id, model.incident_id == incident.id)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(IncidentAssignee)
        .where(IncidentAssignee.incident_id == incident.id)
        .execution_options(synchronize_session=False)
    )
    session.expire(incident, ["assignees"])
    session.delete(incident)
    session.flush()


def wipe_incident(*, session: Session, tenant: Tenant, incident_id: str, actor: Actor, now: datetime) -> int:
    """Erase the payload of every alert of the incident (the incident, its notes and timeline stay);
    the wipe itself goes on the timeline. Returns how many alerts were wiped."""
    incident = load(
        session=session,
        model=Incident,
        tenant=tenant,
        ident=incident_id,
        resource="incident",
        for_update=True,
    )
    result = session.execute(
        update(Alert)
        .where(Alert.org_id == tenant.org_id, Alert.incident_id == incident.id)
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    wiped = int(getattr(result, "rowcount", 0) or 0)
    timeline.record(
        session=session,
        incident=incident,
        type="wiped",
        message=f"{actor.name} wiped the payloads of {wiped} alert(s)",
        actor=actor,
        now=now,
        data={"alerts": wiped},
    )
    incident.updated_at = now
    session.flush()
    return wiped
