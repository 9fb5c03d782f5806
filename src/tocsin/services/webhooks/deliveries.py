"""Outbound webhooks: the deliveries an incident event queues, and their log.

``emit`` runs in the transaction of the state change, so a committed change always has its
deliveries and a rolled-back one never does. Each delivery stores the exact body it will send and
is carried by one durable job (``kind="webhook"``); the engine sends it with no transaction open
and reports each attempt back through ``record_attempt``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, Service, User, WebhookDelivery, WebhookSubscription
from tocsin.domain import webhook_events
from tocsin.domain.actor import Tenant
from tocsin.domain.webhook_events import EVENTS, TEST_EVENT, IncidentFacts, Person
from tocsin.ids import new_id
from tocsin.services import jobs
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_binds, tenant_bound, tenant_filter
from tocsin.services.webhooks.subscriptions import get_webhook

JOB_KIND: Final = "webhook"
DEFAULT_MAX_ATTEMPTS: Final = 8
DELIVERY_STATUSES: Final = ("pending", "succeeded", "failed")
# A tenant's enabled subscriptions, oldest first: asked once per new incident by the engine, so
# built once (building a statement and its cache key cost more than running it).
_ENABLED: Final = (
    select(WebhookSubscription)
    .where(*tenant_bound(WebhookSubscription), WebhookSubscription.enabled.is_(True))
    .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
)


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """What the engine needs to send one delivery, read in a short transaction and used after it."""

    delivery_id: str
    webhook_id: str
    event: str
    status: str
    body: bytes
    url: str
    secret: str
    enabled: bool


def _facts(session: Session, incident: Incident, base_url: str | None) -> IncidentFacts:
    """The incident as a webhook tells it: one query for the service name, one for the assignee."""
    service_name = session.scalar(select(Service.name).where(Service.id == incident.service_id)) or ""
    assignee = None
    if incident.assignees:
        first = incident.assignees[0].user_id
        name = session.scalar(select(User.name).where(User.id == first))
        assignee = Person(id=first, name=name or first)
    return IncidentFacts(
        id=incident.id,
        number=incident.number,
        title=incident.title,
        status=incident.status,
        urgency=incident.urgency,
        service_id=incident.service_id,
        service_name=service_name,
        dedup_key=incident.dedup_key,
        created_at=incident.created_at,
        assignee=assignee,
        priority=incident.priority,
        html_url=None if base_url is None else f"{base_url.rstrip('/')}/incidents/{incident.id}",
    )


def _queue(
    session: Session,
    *,
    webhook: WebhookSubscription,
    event: str,
    body: bytes,
    incident_id: str | None,
    now: datetime,
    max_attempts: int,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        id=new_id("webhook_delivery"),
        org_id=webhook.org_id,
        livemode=webhook.livemode,
        webhook_id=webhook.id,
        event=event,
        incident_id=incident_id,
        body=body.decode("utf-8"),
        status="pending",
        attempts=[],
        created_at=now,
        updated_at=now,
    )
    session.add(delivery)
    session.flush()
    jobs.enqueue(
        session=session,
        tenant=Tenant(webhook.org_id, webhook.livemode),
        kind=JOB_KIND,
        key=f"webhook:{delivery.id}",
        run_at=now,
        now=now,
        payload={"delivery_id": delivery.id},
        incident_id=incident_id,
        max_attempts=max_attempts,
    )
    return delivery


def emit(
    *,
    session: Session,
    tenant: Tenant,
    event: str,
    incident: Incident,
    now: datetime,
    base_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int:
    """Queue ``event`` about ``incident`` to every enabled subscription whose filter takes it, in the
    caller's transaction; returns how many deliveries were queued. Test-mode tenants get deliveries
    too (the engine records them to a sink). ``base_url`` (settings) fills ``incident.html_url``."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; events are {', '.join(EVENTS)}")
    subscribers = [
        webhook
        for webhook in session.scalars(_ENABLED, tenant_binds(tenant))
        if webhook_events.wants(webhook.events, event)
    ]
    if not subscribers:
        return 0
    body = webhook_events.encode(webhook_events.payload(event, _facts(session, incident, base_url), now))
    for webhook in subscribers:
        _queue(
            session,
            webhook=webhook,
            event=event,
            body=body,
            incident_id=incident.id,
            now=now,
            max_attempts=max_attempts,
        )
    return len(subscribers)


def send_test(
    *,
    session: Session,
    tenant: Tenant,
    webhook_id: str,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> WebhookDelivery:
    """Queue a ``webhook.test`` delivery with a made-up incident, whatever the filter or ``enabled``
    says, so a receiver can be checked before the first real page."""
    webhook = get_webhook(session=session, tenant=tenant, webhook_id=webhook_id)
    body = webhook_events.encode(webhook_events.payload(TEST_EVENT, webhook_events.sample_incident(now), now))
    return _queue(
        session,
        webhook=webhook,
        event=TEST_EVENT,
        body=body,
        incident_id=None,
        now=now,
        max_attempts=max_attempts,
    )


def get_delivery(
    *, session: Session, tenant: Tenant, delivery_id: str, webhook_id: str | None = None
) -> WebhookDelivery:
    delivery = load(
        session=session, model=WebhookDelivery, tenant=tenant, ident=delivery_id, resource="webhook delivery"
    )
    if webhook_id is not None and delivery.webhook_id != webhook_id:
        raise NotFound("webhook delivery", delivery_id)
    return delivery


def list_deliveries(
    *,
    session: Session,
    tenant: Tenant,
    webhook_id: str,
    limit: int,
    offset: int,
    status: str | None = None,
    event: str | None = None,
) -> Page[WebhookDelivery]:
    """Newest first: the log a receiver's owner reads when something did not arrive."""
    webhook = get_webhook(session=session, tenant=tenant, webhook_id=webhook_id)
    stmt = (
        select(WebhookDelivery)
        .where(*tenant_filter(WebhookDelivery, tenant), WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    )
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise Invalid("status", "invalid", f"status must be one of {', '.join(DELIVERY_STATUSES)}")
        stmt = stmt.where(WebhookDelivery.status == status)
    if event is not None:
        stmt = stmt.where(WebhookDelivery.event == event)
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def delivery_target(*, session: Session, tenant: Tenant, delivery_id: str) -> DeliveryTarget | None:
    """The delivery with its subscription's URL and secret; None once the subscription is deleted."""
    row = session.execute(
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.webhook_id)
        .where(*tenant_filter(WebhookDelivery, tenant), WebhookDelivery.id == delivery_id)
    ).first()
    if row is None:
        return None
    delivery, webhook = row
    return DeliveryTarget(
        delivery_id=delivery.id,
        webhook_id=webhook.id,
        event=delivery.event,
        status=delivery.status,
        body=delivery.body.encode("utf-8"),
        url=webhook.url,
        secret=webhook.secret,
        enabled=webhook.enabled,
    )


def record_attempt(
    *,
    session: Session,
    tenant: Tenant,
    delivery_id: str,
    at: datetime,
    status_code: int | None,
    latency_ms: float | None,
    error: str | None,
    succeeded: bool,
    final: bool,
    sink: bool = False,
) -> WebhookDelivery | None:
    """Append one attempt to the delivery's log: ``succeeded`` ends it as delivered, ``final`` (no
    retry will follow) as failed; otherwise it stays pending. None when the delivery is gone."""
    delivery = session.scalar(
        select(WebhookDelivery)
        .where(*tenant_filter(WebhookDelivery, tenant), WebhookDelivery.id == delivery_id)
        .with_for_update()
    )
    if delivery is None:
        return None
    attempt: dict[str, Any] = {
        "at": webhook_events.rfc3339(at),
        "status_code": status_code,
        "latency_ms": None if latency_ms is None else round(latency_ms, 1),
        "error": None if error is None else error[:500],
    }
    if sink:
        attempt["sink"] = True
    delivery.attempts = [*delivery.attempts, attempt]
    if succeeded:
        delivery.status = "succeeded"
        delivery.delivered_at = at
    elif final:
        delivery.status = "failed"
    delivery.updated_at = at
    session.flush()
    return delivery
