"""Services, the integrations that feed them, and their maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import JSONType, UTCDateTime


class Service(TenantMixin, Base):
    __tablename__ = "services"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(String(2000))
    team_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("teams.id", ondelete="SET NULL"))
    escalation_policy_id: Mapped[str | None] = mapped_column(String(40))
    ack_timeout_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    integrations: Mapped[list[Integration]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="Integration.created_at"
    )
    maintenance_windows: Mapped[list[MaintenanceWindow]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="MaintenanceWindow.start"
    )


class Integration(TenantMixin, Base):
    """An inbound door into a service; ``routing_key`` is globally unique because unauthenticated
    dialects (PagerDuty's ``/v2/enqueue``) find the org by it alone."""

    __tablename__ = "integrations"

    service_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(40), nullable=False, default="events_api_v2")
    routing_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    service: Mapped[Service] = relationship(back_populates="integrations")


class MaintenanceWindow(TenantMixin, Base):
    __tablename__ = "maintenance_windows"

    service_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    description: Mapped[str | None] = mapped_column(String(2000))

    service: Mapped[Service] = relationship(back_populates="maintenance_windows")
