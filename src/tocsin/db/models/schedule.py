"""Schedules: ordered layers (a rotation of users, or a stored iCalendar) and overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.models.org import User, new_ical_token
from tocsin.db.types import JSONType, UTCDateTime


class Schedule(TenantMixin, Base):
    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(String(2000))
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    team_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ical_token: Mapped[str] = mapped_column(
        String(64), nullable=False, unique=True, index=True, default=new_ical_token
    )

    layers: Mapped[list[ScheduleLayer]] = relationship(
        back_populates="schedule",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ScheduleLayer.position",
    )


class ScheduleLayer(TenantMixin, Base):
    """One layer; a higher ``position`` wins where it has someone.

    A ``rotation`` layer rotates ``users`` (the ordered list of user ids; a user may appear twice)
    with ``restrictions`` (the API's restriction objects). An ``ical`` layer takes its shifts from
    the calendar in ``ical_text`` and leaves the rotation columns empty."""

    __tablename__ = "schedule_layers"
    index_org_id = False  # always read through its schedule (by ``schedule_id``)

    schedule_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(8), nullable=False, default="rotation")
    rotation_unit: Mapped[str | None] = mapped_column(String(8))
    rotation_length: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    users: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    ical_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    schedule: Mapped[Schedule] = relationship(back_populates="layers")


class ScheduleOverride(TenantMixin, Base):
    """A user on call for ``[start, end)`` above every layer; the later override wins an overlap."""

    __tablename__ = "schedule_overrides"
    index_org_id = False

    schedule_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by_type: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by_id: Mapped[str | None] = mapped_column(String(40))
    created_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Set when the override covers an absence (Splunk On-Call's override "assignments").
    absence_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("absences.id", ondelete="CASCADE"), index=True
    )

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        # Overlap queries: ``schedule_id = ? AND end > since AND start < until``.
        Index("ix_schedule_overrides_schedule_end", "schedule_id", "end"),
        Index("ix_schedule_overrides_org_end", "org_id", "livemode", "end"),
    )


class SwapRequest(TenantMixin, Base):
    """ "Cover me from ``start`` to ``end``": asked by ``beneficiary_id``, taken by
    ``benefactor_id``, which creates ``override_id``. ``status`` is stored as open | taken |
    cancelled; an open request whose window has started reads as past due and can no longer be taken."""

    __tablename__ = "swap_requests"
    index_org_id = False

    schedule_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False
    )
    beneficiary_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    benefactor_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("users.id", ondelete="SET NULL"))
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    description: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    override_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("schedule_overrides.id", ondelete="SET NULL")
    )
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_swap_requests_schedule_start", "schedule_id", "start"),
        Index("ix_swap_requests_org_start", "org_id", "livemode", "start"),
    )


class ScheduleEvent(TenantMixin, Base):
    """The schedule's timeline: swap requests asked, taken, cancelled and expired, shifts taken,
    overrides made through them. ``data`` holds the ids involved."""

    __tablename__ = "schedule_events"
    index_org_id = False

    schedule_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(String(2000), nullable=False)
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class Absence(TenantMixin, Base):
    """A person away from ``start`` to ``end`` (Splunk On-Call's "override"): it changes nothing
    until someone is assigned to cover it on a schedule, as schedule overrides pointing back here."""

    __tablename__ = "absences"

    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    created_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
