"""Commands a tool sends on behalf of a named person (Splunk On-Call's ``userName``): acknowledge or
resolve incidents by number or all those paged to them, open an incident for people or a policy,
and reroute incidents. Each is carried out and written on the timeline as that person, through the
same services the native API uses.

A batch command answers per incident: one that cannot be acted on is reported, not fatal, and is
rolled back to its own savepoint so it leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import EscalationPolicy, Incident, IncidentAssignee, Service, TimelineEntry, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status
from tocsin.services.catalog import services as catalog
from tocsin.services.errors import ServiceError
from tocsin.services.escalation import manual as manual_escalation
from tocsin.services.escalation.policies import services_using
from tocsin.services.incidents import records as incidents
from tocsin.services.incidents.actions import transition
from tocsin.services.paging import PagingSettings
from tocsin.services.people.handles import user_by_username
from tocsin.services.sql import tenant_filter

API_SERVICE: Final = "Splunk API"
MAX_MESSAGE: Final = 2000
ENTRY_OF: Final = {Status.ACKNOWLEDGED: "acknowledged", Status.RESOLVED: "resolved"}
PENDING: Final = {
    Status.ACKNOWLEDGED: (Status.OPEN.value, Status.SNOOZED.value, Status.SUPPRESSED.value),
    Status.RESOLVED: (
        Status.OPEN.value,
        Status.SNOOZED.value,
        Status.SUPPRESSED.value,
        Status.ACKNOWLEDGED.value,
    ),
}


def is_number(text: str) -> bool:
    """An incident number as Splunk clients send it: a string of at most 12 digits."""
    return text.isascii() and text.isdigit() and len(text) <= 12


def acting_user(*, session: Session, tenant: Tenant, username: str) -> tuple[User, Actor]:
    """The named user and an actor recording them; 404 for a username the org does not have."""
    user = user_by_username(session=session, tenant=tenant, username=username)
    return user, Actor(type="user", id=user.id, name=user.name)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What happened to one incident of a batch: ``accepted`` false with the reason otherwise."""

    number: str
    entity_id: str | None
    accepted: bool
    message: str


def _note_message(session: Session, incident: Incident, kind: str, message: str, now: datetime) -> None:
    """The caller's message on the transition just written (so a report shows it with the change)."""
    entry = session.scalar(
        select(TimelineEntry)
        .where(
            TimelineEntry.incident_id == incident.id,
            TimelineEntry.type == kind,
            TimelineEntry.created_at == now,
        )
        .order_by(TimelineEntry.id.desc())
        .limit(1)
    )
    if entry is not None:
        entry.data = {**entry.data, "message": message[:MAX_MESSAGE]}


def _act(
    session: Session,
    tenant: Tenant,
    number: str,
    target: Status,
    actor: Actor,
    message: str | None,
    now: datetime,
    *,
    paging: PagingSettings,
) -> CommandResult:
    if not is_number(number):
        return CommandResult(number, None, False, f"Incident {number} not found")
    incident = session.scalar(
        select(Incident).where(*tenant_filter(Incident, tenant), Incident.number == int(number))
    )
    if incident is None:
        return CommandResult(number, None, False, f"Incident {number} not found")
    if incident.status not in PENDING[target]:
        return CommandResult(
            number, incident.dedup_key, False, f"Incident {number} is already {incident.status}"
        )
    try:
        with session.begin_nested():
            transition(
                session=session,
                incident=incident,
                target=target,
                actor=actor,
                now=now,
                via="Splunk API",
                paging=paging,
            )
            if message:
                _note_message(session, incident, ENTRY_OF[target], message, now)
    except ServiceError as error:
        return CommandResult(number, incident.dedup_key, False, error.message)
    verb = "acknowledged" if target == Status.ACKNOWLEDGED else "resolved"
    return CommandResult(number, incident.dedup_key, True, f"Incident {number} {verb} by {actor.name}")


def act_on_numbers(
    *,
    session: Session,
    tenant: Tenant,
    numbers: Sequence[str],
    target: Status,
    actor: Actor,
    message: str | None,
    now: datetime,
    paging: PagingSettings,
) -> list[CommandResult]:
    """Acknowledge or resolve each incident by number, in the order given, each number once."""
    return [
        _act(session, tenant, n, target, actor, message, now, paging=paging) for n in dict.fromkeys(numbers)
    ]


def act_on_paged(
    *,
    session: Session,
    tenant: Tenant,
    user: User,
    target: Status,
    actor: Actor,
    message: str | None,
    now: datetime,
    paging: PagingSettings,
) -> list[CommandResult]:
    """Acknowledge or resolve every incident ``user`` is paged for that can still take it, by number."""
    numbers = session.scalars(
        select(Incident.number)
        .join(IncidentAssignee, IncidentAssignee.incident_id == Incident.id)
        .where(
            *tenant_filter(Incident, tenant),
            IncidentAssignee.user_id == user.id,
            Incident.status.in_(PENDING[target]),
        )
        .order_by(Incident.number)
    ).all()
    return [_act(session, tenant, str(n), target, actor, message, now, paging=paging) for n in numbers]


def _service_for(session: Session, tenant: Tenant, policy: EscalationPolicy | None, now: datetime) -> Service:
    """The service an API-made incident opens on: the first (by name) paging through ``policy``, or
    one made for it on first use; without a policy the org's "Splunk API" service, likewise."""
    if policy is not None:
        using = services_using(session=session, tenant=tenant, policy_ids=[policy.id]).get(policy.id)
        if using:
            return catalog.get_service(session=session, tenant=tenant, service_id=using[0].id)
        name = f"{API_SERVICE}: {policy.name}"[:200]
        return catalog.create_service(
            session=session,
            tenant=tenant,
            now=now,
            name=name,
            team_id=policy.team_id,
            integrations=[],
            escalation_policy_id=policy.id,
        )
    found = session.scalar(
        select(Service)
        .where(
            *tenant_filter(Service, tenant),
            Service.name == API_SERVICE,
            Service.escalation_policy_id.is_(None),
        )
        .order_by(Service.created_at)
        .limit(1)
    )
    if found is not None:
        return found
    return catalog.create_service(session=session, tenant=tenant, now=now, name=API_SERVICE, integrations=[])


def open_incident(
    *,
    session: Session,
    tenant: Tenant,
    summary: str,
    details: str | None,
    users: Sequence[User],
    policy: EscalationPolicy | None,
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> Incident:
    """An incident paging ``policy`` (its users assigned alongside) or, without one, paging
    ``users`` at once; at least one of the two is given."""
    service = _service_for(session, tenant, policy, now)
    user_ids = [user.id for user in users]
    incident = incidents.create_incident(
        session=session,
        tenant=tenant,
        actor=actor,
        now=now,
        title=summary,
        service_id=service.id,
        description=details,
        assignee_ids=user_ids if policy is not None else (),
    )
    if policy is None and user_ids and incident.status == Status.OPEN.value:
        manual_escalation.reassign(
            session=session,
            tenant=tenant,
            ref=incident.id,
            user_ids=user_ids,
            escalation_policy_id=None,
            actor=actor,
            now=now,
            paging=paging,
        )
    return incident


def reroute(
    *,
    session: Session,
    tenant: Tenant,
    number: str,
    users: Sequence[User],
    policy: EscalationPolicy | None,
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> tuple[bool, str]:
    """Hand one incident to ``users`` (paged now) or to ``policy`` (escalating from its first level);
    ``(False, why)`` when it cannot be, with nothing changed."""
    if not is_number(number):
        return False, f"Incident {number} not found"
    try:
        with session.begin_nested():
            incident = incidents.get_incident(session=session, tenant=tenant, ref=number)
            manual_escalation.reassign(
                session=session,
                tenant=tenant,
                ref=incident.id,
                user_ids=[user.id for user in users] if policy is None else [],
                escalation_policy_id=policy.id if policy is not None else None,
                actor=actor,
                now=now,
                paging=paging,
            )
    except ServiceError as error:
        return False, error.message
    return True, f"Incident {number} rerouted"
