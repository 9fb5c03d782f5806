"""What an incident's state change means for paging, written in the same transaction as the change:
opening starts escalation, acknowledge and resolve stop it, snooze and ack timeouts arm timers.

Only jobs are written here (DESIGN.md section 7); the engine carries them out. Nothing in this module
sends anything, so an incident change that rolls back leaves no page behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, Service, ServiceChannel, TimelineEntry, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.escalation import Step, step_key
from tocsin.domain.incident import Status
from tocsin.services import jobs
from tocsin.services.sql import tenant_binds, tenant_bound, tenant_filter
from tocsin.services.webhooks import deliveries as webhook_deliveries

if TYPE_CHECKING:
    from tocsin.config import Settings

ESCALATE = "escalate"
NOTIFY = "notify"
ANNOUNCE = "announce"
NOTICE = "notice"
SNOOZE_EXPIRY = "snooze_expiry"
ACK_TIMEOUT = "ack_timeout"
TIMERS = (SNOOZE_EXPIRY, ACK_TIMEOUT)
# A service's rooms, asked once per new incident by the engine: built once, as building a statement
# and its cache key cost more than running it.
_ROOMS = select(ServiceChannel).where(
    ServiceChannel.service_id == bindparam("service_id"), *tenant_bound(ServiceChannel)
)


@dataclass(frozen=True, slots=True)
class PagingSettings:
    """What paging reads from the settings, built once by whoever owns them (the app, the engine,
    the ingest writer child: ``from_settings``) and passed down to every call that writes paging
    jobs, so two processes or two apps in one test never share or overwrite it.

    ``minute`` is how long a policy "minute" lasts: one minute in production; tests and demos may
    shrink it (``TOCSIN_ENGINE_MINUTE_SECONDS``) so a five-minute escalation is watched in seconds.
    ``base_url`` fills links in webhook payloads (none without it)."""

    minute: timedelta = timedelta(minutes=1)
    base_url: str | None = None
    webhook_max_attempts: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> PagingSettings:
        return cls(
            minute=timedelta(seconds=settings.engine_minute_seconds),
            base_url=settings.base_url.rstrip("/") if settings.base_url else None,
            webhook_max_attempts=settings.webhook_max_attempts,
        )

    def minutes(self, count: int) -> timedelta:
        """``count`` policy minutes as a duration."""
        return self.minute * count


def emit(*, session: Session, incident: Incident, event: str, now: datetime, paging: PagingSettings) -> int:
    """Queue a webhook event about ``incident`` to the tenant's subscriptions (same transaction)."""
    return webhook_deliveries.emit(
        session=session,
        tenant=Tenant(incident.org_id, incident.livemode),
        event=event,
        incident=incident,
        now=now,
        base_url=paging.base_url,
        max_attempts=paging.webhook_max_attempts,
    )


def announce(*, session: Session, incident: Incident, event: str, now: datetime) -> int:
    """Tell the service's rooms (Slack, Teams, webhook channels) about ``event``: one job each."""
    tenant = Tenant(incident.org_id, incident.livemode)
    channels = session.scalars(_ROOMS, {"service_id": incident.service_id, **tenant_binds(tenant)}).all()
    queued = 0
    for channel in channels:
        queued += jobs.enqueue(
            session=session,
            tenant=tenant,
            kind=ANNOUNCE,
            key=f"ann:{incident.id}:{event}:{incident.escalation_run}:{channel.id}",
            run_at=now,
            now=now,
            payload={"event": event, "type": channel.type, "address": channel.url, "channel_id": channel.id},
            incident_id=incident.id,
        )
    return queued


def first_step(incident_id: str, run: int) -> tuple[str, dict[str, Any]]:
    """The idempotency key and payload of run ``run``'s first escalation step: one definition for
    the job the ORM writes here (a restarted run) and the row opening writes in bulk SQL."""
    return step_key(incident_id, run, Step(0, 0)), {"run": run, "cycle": 0, "level": 0, "first": True}


def notify_paged(
    *, session: Session, incident: Incident, event: str, actor: Actor | None, now: datetime
) -> int:
    """Tell the people paged for ``incident`` that someone else acknowledged or resolved it: one
    notice job per channel and address that paged them (read from the "notified" timeline entries,
    which are exactly the pages that went out), for users whose ``status_notices`` is on, never the
    person who acted. The key names the incident, event, moment, user and channel, so a retried
    transaction or job sends one notice, while a second acknowledgement after a reopen sends again."""
    tenant = Tenant(incident.org_id, incident.livemode)
    paged = session.scalars(
        select(TimelineEntry.data).where(
            TimelineEntry.incident_id == incident.id,
            TimelineEntry.type == "notified",
            *tenant_filter(TimelineEntry, tenant),
        )
    ).all()
    acted_by = actor.id if actor is not None and actor.type == "user" else None
    channels = {(str(d["user_id"]), str(d["channel"]), str(d["address"])) for d in paged}
    users = {user for user, _, _ in channels if user != acted_by}
    if not users:
        return 0
    rows = session.execute(
        select(User.id, User.name).where(
            User.id.in_(sorted(users)), User.status_notices.is_(True), *tenant_filter(User, tenant)
        )
    )
    names = {user_id: name for user_id, name in rows}
    queued = 0
    for user_id, channel, address in sorted(channels):
        if user_id not in names:
            continue
        digest = hashlib.sha256(address.encode()).hexdigest()[:16]
        queued += jobs.enqueue(
            session=session,
            tenant=tenant,
            kind=NOTICE,
            key=f"notice:{incident.id}:{event}:{now.isoformat()}:{user_id}:{channel}:{digest}",
            run_at=now,
            now=now,
            payload={
                "event": event,
                "user_id": user_id,
                "user_name": names[user_id],
                "type": channel,
                "address": address,
                "actor_name": actor.name if actor is not None else Actor.system().name,
            },
            incident_id=incident.id,
        )
    return queued


def start_escalation(*, session: Session, incident: Incident, now: datetime, run: int) -> None:
    """Queue the first step of run ``run`` (the step itself finds the policy and its delay)."""
    key, payload = first_step(incident.id, run)
    jobs.enqueue(
        session=session,
        tenant=Tenant(incident.org_id, incident.livemode),
        kind=ESCALATE,
        key=key,
        run_at=now,
        now=now,
        payload=payload,
        incident_id=incident.id,
    )


def on_opened(*, session: Session, incident: Incident, now: datetime) -> None:
    """A new incident: page unless it was suppressed by a maintenance window."""
    if incident.status == Status.OPEN.value:
        start_escalation(session=session, incident=incident, now=now, run=incident.escalation_run)


def restart(*, session: Session, incident: Incident, now: datetime) -> None:
    """A new run: everything pending of the old one is dropped, the new one starts from level 1."""
    jobs.cancel_for_incident(session=session, incident_ids=[incident.id], now=now)
    incident.escalation_run += 1
    incident.escalation_cycle = 0
    incident.escalation_level = 0
    start_escalation(session=session, incident=incident, now=now, run=incident.escalation_run)


def _ack_timeout(session: Session, incident: Incident) -> int | None:
    return session.scalar(select(Service.ack_timeout_minutes).where(Service.id == incident.service_id))


def on_transition(
    *,
    session: Session,
    incident: Incident,
    previous: Status,
    target: Status,
    now: datetime,
    paging: PagingSettings,
    actor: Actor | None = None,
) -> None:
    """Follow a state change with the paging it implies; ``actor`` (who made the change) is spared
    the notice the others paged for the incident get (None: the system acted)."""
    tenant = Tenant(incident.org_id, incident.livemode)
    if target in (Status.ACKNOWLEDGED, Status.RESOLVED):
        event = "incident.acknowledged" if target == Status.ACKNOWLEDGED else "incident.resolved"
        emit(session=session, incident=incident, event=event, now=now, paging=paging)
        announce(session=session, incident=incident, event=event, now=now)
        notify_paged(session=session, incident=incident, event=event, actor=actor, now=now)
    if target in (Status.ACKNOWLEDGED, Status.RESOLVED, Status.SNOOZED):
        jobs.cancel_for_incident(session=session, incident_ids=[incident.id], now=now)
    if target == Status.RESOLVED or previous == Status.SNOOZED or previous == Status.ACKNOWLEDGED:
        jobs.cancel_for_incident(session=session, incident_ids=[incident.id], now=now, kinds=TIMERS)
    if target == Status.ACKNOWLEDGED:
        timeout = _ack_timeout(session, incident)
        if timeout and incident.acknowledged_at is not None:
            jobs.enqueue(
                session=session,
                tenant=tenant,
                kind=ACK_TIMEOUT,
                key=f"ackto:{incident.id}:{incident.acknowledged_at.isoformat()}",
                run_at=incident.acknowledged_at + paging.minutes(timeout),
                now=now,
                payload={"acknowledged_at": incident.acknowledged_at.isoformat()},
                incident_id=incident.id,
            )
    elif target == Status.SNOOZED and incident.snoozed_until is not None:
        jobs.enqueue(
            session=session,
            tenant=tenant,
            kind=SNOOZE_EXPIRY,
            key=f"snooze:{incident.id}:{incident.snoozed_until.isoformat()}",
            run_at=incident.snoozed_until,
            now=now,
            payload={"snoozed_until": incident.snoozed_until.isoformat()},
            incident_id=incident.id,
        )
    elif target == Status.OPEN and previous != Status.OPEN:
        restart(session=session, incident=incident, now=now)
