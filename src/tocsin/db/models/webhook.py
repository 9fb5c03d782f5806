"""Outbound webhook subscriptions and each delivery of an event to one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import JSONType, UTCDateTime


class WebhookSubscription(TenantMixin, Base):
    """``secret`` signs each body (HMAC-SHA256); it is needed in clear to sign, unlike API keys.
    ``events`` lists the event types sent; empty means all."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    description: Mapped[str | None] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class WebhookDelivery(TenantMixin, Base):
    """One event for one subscription. ``body`` is the exact bytes signed and sent, kept so every
    retry carries the same body and signature. ``attempts`` lists ``{at, status_code, latency_ms,
    error}``; ``status`` is pending | succeeded | failed."""

    __tablename__ = "webhook_deliveries"
    index_org_id = False

    webhook_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    incident_id: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
