"""Change events: deploys, config pushes, merged pull requests. Context shown beside a service's
incidents (PagerDuty's ``/v2/change/enqueue``); they never open an incident or page anyone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import JSONType, UTCDateTime


class ChangeEvent(TenantMixin, Base):
    __tablename__ = "change_events"
    __table_args__ = (
        # A service's changes, newest first: the one way they are read.
        Index("ix_change_events_service_time", "service_id", "timestamp"),
    )

    service_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("services.id", ondelete="CASCADE"), nullable=False
    )
    # Kept when the integration that sent it is deleted; the change still happened.
    integration_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(String(1024), nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    # When the change happened (the sender's ``payload.timestamp``, else when it arrived).
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    custom_details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
