"""Escalation policies: ordered rules of targets, run again ``repeat_count`` times while nobody acks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import JSONType, UTCDateTime


class EscalationPolicy(TenantMixin, Base):
    __tablename__ = "escalation_policies"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(String(2000))
    team_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("teams.id", ondelete="SET NULL"))
    # After the last rule, start again from the first this many times (0: run once).
    repeat_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Minutes from the last rule of one pass to the first rule of the next; NULL: the last rule's
    # delay (domain.escalation.repeat_delay).
    repeat_delay_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    rules: Mapped[list[EscalationRule]] = relationship(
        back_populates="policy",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EscalationRule.position",
    )


class EscalationRule(TenantMixin, Base):
    """One level. ``kind`` is ``notify`` (page ``targets``), ``wait`` (only its delay: the Grafana
    OnCall step of that name), ``repeat`` (go back to the first level, at most ``MAX_REPEATS``
    times per incident) or ``resolve`` (resolve the incident). ``important`` pages through the
    targets' high-urgency notification rules whatever the incident's urgency. ``delay_minutes``
    counts from the previous level being notified (for the first level, from the trigger).
    ``targets`` is a list of ``{"type": "user"|"schedule"|"team", "id": ..., "schedule_id"?: ...}``:
    a team target pages every member, or whoever is on call in the
    team's named schedule when ``schedule_id`` is given."""

    __tablename__ = "escalation_rules"
    index_org_id = False  # always read through its policy

    policy_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("escalation_policies.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    delay_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="notify", server_default="notify")
    important: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

    policy: Mapped[EscalationPolicy] = relationship(back_populates="rules")
