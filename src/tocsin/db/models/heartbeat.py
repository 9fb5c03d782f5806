"""Heartbeats: a dead man's switch on a service, fed by a URL a sender hits every interval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.models.service import Integration
from tocsin.db.types import UTCDateTime


class Heartbeat(TenantMixin, Base):
    """``token_hash``: SHA-256 of the beat URL's random token, shown once like an API key (the
    URL alone finds the row);
    ``integration_id`` is the door its incidents open through (Grafana OnCall's one heartbeat per
    integration, hence unique). ``state``: ``waiting`` (no beat yet), ``up`` or ``missed``."""

    __tablename__ = "heartbeats"

    service_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True
    )
    integration_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    interval_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    last_beat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    integration: Mapped[Integration] = relationship()
