"""How each channel of an org is faring: the last success and failure, and hourly counts.

Written by the engine with every provider attempt (page, notice, room post, webhook delivery),
read by the channel-health view, ``tocsin doctor`` and the ``tocsin_channel_failing`` gauge. A
channel is a kind of delivery (``email``, ``sms``, ``voice``, ``slack``, ``teams``, ``ntfy``,
``webhook``), not one address: "SMTP is down" is what a person needs to see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import UTCDateTime


class ChannelHealth(TenantMixin, Base):
    """One row per (org, mode, channel). ``failing_since``: the first failure after the last
    success (None while the channel works), so "failing for N minutes" is one comparison."""

    __tablename__ = "channel_health"
    __table_args__ = (UniqueConstraint("org_id", "livemode", "channel"),)
    index_org_id = False  # the unique constraint leads with org_id

    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ChannelHour(TenantMixin, Base):
    """Attempts of one channel in one clock hour (``hour``: its start, UTC): the last 24 h counts
    are a sum over at most 25 rows per channel."""

    __tablename__ = "channel_hours"
    __table_args__ = (UniqueConstraint("org_id", "livemode", "channel", "hour"),)
    index_org_id = False

    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    succeeded: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
