"""Outbound webhook shapes: subscriptions (the secret in full only when created or rotated) and
the delivery log. URL, event names and secret are checked by the service, which names the field."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field, StrictBool

from tocsin.api.schemas.common import Timestamp, WriteModel

EVENTS_HELP = (
    "Event types to send: incident.triggered, incident.acknowledged, incident.resolved, "
    "incident.escalated, incident.assigned. Empty or left out means all."
)


class WebhookRead(BaseModel):
    id: str
    url: str
    events: list[str] = Field(description="The filter; empty means every event.")
    description: str | None
    enabled: bool
    secret: str = Field(description="Masked (whsec_…abcd): the full secret is shown only once.")
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, webhook: Any, *, secret: str) -> Self:
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.events),
            description=webhook.description,
            enabled=webhook.enabled,
            secret=secret,
            livemode=webhook.livemode,
            created_at=webhook.created_at,
            updated_at=webhook.updated_at,
        )


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret in full. Shown in this response only; store it now. Each "
        "delivery carries X-Tocsin-Signature: sha256=<hex HMAC-SHA256 of the raw body with it>."
    )


class WebhookCreate(WriteModel):
    url: str = Field(description="http:// or https://, at most 2048 characters, no user:password@")
    secret: str | None = Field(default=None, description="16-200 characters; generated when left out.")
    events: list[str] | None = Field(default=None, max_length=20, description=EVENTS_HELP)
    description: str | None = Field(default=None, max_length=2000)
    enabled: StrictBool = True


class WebhookUpdate(WriteModel):
    """Only the fields sent change. The secret changes through ``rotate-secret``."""

    url: str | None = None
    events: list[str] | None = Field(default=None, max_length=20, description=EVENTS_HELP)
    description: str | None = Field(default=None, max_length=2000)
    enabled: StrictBool | None = None


class RotateSecret(WriteModel):
    secret: str | None = Field(default=None, description="The new secret; generated when left out.")


class AttemptRead(BaseModel):
    at: Timestamp
    status_code: int | None = Field(
        description="The receiver's HTTP status; null for a timeout, a connection error or a test-mode sink"
    )
    latency_ms: float | None
    error: str | None
    sink: bool = Field(default=False, description="Test mode: recorded, never sent.")


class DeliveryRead(BaseModel):
    id: str
    webhook_id: str
    event: str
    status: str = Field(description="pending | succeeded | failed")
    incident_id: str | None
    attempts: list[AttemptRead]
    livemode: bool
    created_at: Timestamp
    delivered_at: Timestamp | None

    @classmethod
    def of(cls, delivery: Any) -> DeliveryRead:
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event=delivery.event,
            status=delivery.status,
            incident_id=delivery.incident_id,
            attempts=[AttemptRead.model_validate(attempt) for attempt in delivery.attempts],
            livemode=delivery.livemode,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


class DeliveryDetail(DeliveryRead):
    body: str = Field(description="The exact body sent (and signed) on every attempt.")

    @classmethod
    def of(cls, delivery: Any) -> DeliveryDetail:
        return cls(**DeliveryRead.of(delivery).model_dump(), body=delivery.body)
