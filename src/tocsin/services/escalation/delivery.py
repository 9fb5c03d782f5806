"""Delivering pages and room posts: what the engine reads before it sends one (in a short read,
never inside the send), and the outcome it writes on the incident's timeline afterwards.

Kept apart from ``escalation`` (which decides who is paged and when) so each module has one job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from tocsin.db.models import Incident, Service
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status
from tocsin.services.incidents import timeline
from tocsin.services.sql import tenant_binds, tenant_bound

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


def plan_page(
    *, session: Session, tenant: Tenant, incident_id: str, payload: Mapping[str, Any], link_key: str
) -> PagePlan | str:
    """The page to send, or why not to send it any more (acknowledged, resolved, superseded)."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return "incident deleted"
    if incident.escalation_run != int(payload["run"]):
        return "superseded by a later escalation run"
    if incident.status != Status.OPEN.value:
        return f"incident is {incident.status}; page not sent"
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
    """The page's outcome on the timeline: sent (with the channel), sent to the test sink, or failed."""
    incident = incident_of(session=session, tenant=tenant, incident_id=incident_id)
    if incident is None:
        return
    who, channel, address = (
        payload.get("user_name") or payload["user_id"],
        payload["type"],
        payload["address"],
    )
    messages = {
        "sent": f"Notified {who} by {channel} ({address})",
        "sink": f"Notified {who} by {channel} ({address}) — test mode: recorded, not sent",
        "failed": f"Could not notify {who} by {channel} ({address}): {error}",
    }
    timeline.record(
        session=session,
        incident=incident,
        type="notified" if outcome != "failed" else "notify_failed",
        message=messages[outcome],
        actor=SYSTEM,
        now=now,
        data={
            "user_id": payload["user_id"],
            "channel": channel,
            "address": address,
            "outcome": outcome,
            "level": payload.get("level"),
            "cycle": payload.get("cycle"),
            "run": payload.get("run"),
            **({"error": error} if error else {}),
        },
    )
