"""Incidents and what hangs off them: alerts, assignees, the timeline and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import JSONType, UTCDateTime

OPEN_PREDICATE = text("status != 'RESOLVED'")


class Incident(TenantMixin, Base):
    __tablename__ = "incidents"
    index_org_id = False  # every incident index below starts with org_id
    __table_args__ = (
        UniqueConstraint("org_id", "livemode", "number"),
        # The dedup guarantee: at most one open incident per (org, mode, service, dedup_key),
        # whatever number of replicas race on it.
        Index(
            "uq_incidents_open_dedup",
            "org_id",
            "livemode",
            "service_id",
            "dedup_key",
            unique=True,
            sqlite_where=OPEN_PREDICATE,
            postgresql_where=OPEN_PREDICATE,
        ),
        Index("ix_incidents_org_created", "org_id", "livemode", "created_at"),
        Index("ix_incidents_org_status", "org_id", "livemode", "status"),
    )

    number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(1024), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    urgency: Mapped[str] = mapped_column(String(8), nullable=False)
    priority: Mapped[str | None] = mapped_column(String(2))
    service_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True
    )
    team_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("teams.id", ondelete="SET NULL"))
    escalation_policy_id: Mapped[str | None] = mapped_column(String(40))
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Which pass through the policy (0, then 1.. per repeat) and which (re)start of escalation
    # (bumped by an ack timeout, a snooze expiry, a manual escalate or reassign): with the level
    # they make every page's idempotency key.
    escalation_cycle: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    escalation_run: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    dedup_key: Mapped[str] = mapped_column(String(255), nullable=False)
    alert_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    source: Mapped[str | None] = mapped_column(String(255))
    severity: Mapped[str | None] = mapped_column(String(16))
    custom_details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignees: Mapped[list[IncidentAssignee]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IncidentAssignee.created_at"
    )

    @property
    def assignee_ids(self) -> list[str]:
        return [a.user_id for a in self.assignees]


class IncidentAssignee(Base):
    __tablename__ = "incident_assignees"

    incident_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Alert(TenantMixin, Base):
    """One event that fed an incident, kept verbatim so nothing a sender said is lost."""

    __tablename__ = "alerts"
    index_org_id = False

    incident_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    integration_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("integrations.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(String(1024), nullable=False)
    severity: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)


class TimelineEntry(TenantMixin, Base):
    __tablename__ = "timeline_entries"
    index_org_id = False

    incident_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(String(2000), nullable=False)
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class Note(TenantMixin, Base):
    __tablename__ = "notes"
    index_org_id = False

    incident_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    content: Mapped[str] = mapped_column(Text, nullable=False)
    author_type: Mapped[str] = mapped_column(String(16), nullable=False)
    author_id: Mapped[str | None] = mapped_column(String(40))
    author_name: Mapped[str] = mapped_column(String(200), nullable=False)
