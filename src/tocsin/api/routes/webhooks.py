"""``/api/webhooks``: outbound webhook subscriptions (spec 003 "Webhooks (Outbound)"), their
delivery log, test deliveries and secret rotation. Needs ``services:read`` / ``services:write``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, ServicesRead, ServicesWrite
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.webhooks import (
    DeliveryDetail,
    DeliveryRead,
    RotateSecret,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from tocsin.services.webhooks import deliveries as webhook_deliveries
from tocsin.services.webhooks import subscriptions as webhooks

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


def _read(webhook: Any) -> WebhookRead:
    return WebhookRead.of(webhook, secret=webhooks.mask_secret(webhook.secret))


def _created(webhook: Any) -> WebhookCreated:
    return WebhookCreated.of(webhook, secret=webhook.secret)


@router.get("", response_model=ListEnvelope[WebhookRead], summary="List webhooks")
def list_webhooks(
    key: ServicesRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    with db.read() as session:
        page = webhooks.list_webhooks(session=session, tenant=key.tenant, limit=limit, offset=offset)
        return page_envelope(page, _read)


@router.post("", status_code=201, response_model=Envelope[WebhookCreated], summary="Create a webhook")
def create_webhook(body: WebhookCreate, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    """The response carries the signing secret in full; later reads show only its last 4 characters."""
    with db.write() as session:
        webhook = webhooks.create_webhook(
            session=session,
            tenant=key.tenant,
            now=now,
            url=body.url,
            secret=body.secret,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
        )
        return envelope(_created(webhook))


@router.get("/{webhook_id}", response_model=Envelope[WebhookRead], summary="Get a webhook")
def get_webhook(webhook_id: str, key: ServicesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return envelope(
            _read(webhooks.get_webhook(session=session, tenant=key.tenant, webhook_id=webhook_id))
        )


@router.patch("/{webhook_id}", response_model=Envelope[WebhookRead], summary="Update a webhook")
def update_webhook(
    webhook_id: str, body: WebhookUpdate, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """Only the fields sent change; ``events: []`` sends every event."""
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        webhook = webhooks.update_webhook(
            session=session, tenant=key.tenant, webhook_id=webhook_id, changes=changes, now=now
        )
        return envelope(_read(webhook))


@router.delete("/{webhook_id}", status_code=204, response_class=Response, summary="Delete a webhook")
def delete_webhook(webhook_id: str, key: ServicesWrite, db: Db) -> Response:
    """Its delivery log goes with it; deliveries still queued are not sent."""
    with db.write() as session:
        webhooks.delete_webhook(session=session, tenant=key.tenant, webhook_id=webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret", response_model=Envelope[WebhookCreated], summary="Rotate the secret"
)
def rotate_secret(
    webhook_id: str, key: ServicesWrite, db: Db, now: Now, body: RotateSecret | None = None
) -> dict[str, Any]:
    """A new secret (generated, or ``secret`` from the body), shown in full in this response only.
    Every attempt from now on, retries of queued deliveries included, is signed with it."""
    with db.write() as session:
        webhook = webhooks.rotate_secret(
            session=session,
            tenant=key.tenant,
            webhook_id=webhook_id,
            now=now,
            secret=body.secret if body else None,
        )
        return envelope(_created(webhook))


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    response_model=Envelope[DeliveryRead],
    summary="Send a test delivery",
)
def send_test(webhook_id: str, request: Request, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    """Queue a ``webhook.test`` delivery with a sample incident, whatever the filter or ``enabled``
    says. Answered 202 with the queued delivery; follow it in ``/deliveries``."""
    settings = request.app.state.settings
    max_attempts = int(getattr(settings, "webhook_max_attempts", webhook_deliveries.DEFAULT_MAX_ATTEMPTS))
    with db.write() as session:
        delivery = webhook_deliveries.send_test(
            session=session, tenant=key.tenant, webhook_id=webhook_id, now=now, max_attempts=max_attempts
        )
        return envelope(DeliveryRead.of(delivery))


@router.get("/{webhook_id}/deliveries", response_model=ListEnvelope[DeliveryRead], summary="List deliveries")
def list_deliveries(
    webhook_id: str,
    key: ServicesRead,
    db: Db,
    status: str | None = None,
    event: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Newest first, each with every attempt: when, the receiver's status code, latency and error.
    ``status`` (pending | succeeded | failed) and ``event`` filter."""
    with db.read() as session:
        page = webhook_deliveries.list_deliveries(
            session=session,
            tenant=key.tenant,
            webhook_id=webhook_id,
            status=status or None,
            event=event or None,
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, DeliveryRead.of)


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=Envelope[DeliveryDetail],
    summary="Get a delivery",
)
def get_delivery(webhook_id: str, delivery_id: str, key: ServicesRead, db: Db) -> dict[str, Any]:
    """One delivery with the exact body it sends."""
    with db.read() as session:
        webhooks.get_webhook(session=session, tenant=key.tenant, webhook_id=webhook_id)
        delivery = webhook_deliveries.get_delivery(
            session=session, tenant=key.tenant, delivery_id=delivery_id, webhook_id=webhook_id
        )
        return envelope(DeliveryDetail.of(delivery))
