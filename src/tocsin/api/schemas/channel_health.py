"""The channel-health view's shape: one entry per delivery channel, and when it was checked."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tocsin.api.schemas.common import ReadModel, Timestamp
from tocsin.services.deliveries.health import ChannelReport


class Last24h(BaseModel):
    succeeded: int
    failed: int


class ChannelHealthRead(ReadModel):
    channel: str
    configured: bool
    status: Literal["ok", "failing", "unused", "not_configured"]
    last_success_at: Timestamp | None
    last_failure_at: Timestamp | None
    last_error: str | None
    failing_since: Timestamp | None
    last_24h: Last24h

    @classmethod
    def of(cls, report: ChannelReport) -> ChannelHealthRead:
        return cls(
            channel=report.channel,
            configured=report.configured,
            status=report.status,
            last_success_at=report.last_success_at,
            last_failure_at=report.last_failure_at,
            last_error=report.last_error,
            failing_since=report.failing_since,
            last_24h=Last24h(succeeded=report.succeeded_24h, failed=report.failed_24h),
        )


class ChannelHealthView(BaseModel):
    """``failing_after_minutes``: how long a channel fails, with no success, before it is ``failing``
    (TOCSIN_CHANNEL_FAILING_MINUTES); a more recent failure shows in ``failing_since``."""

    channels: list[ChannelHealthRead]
    failing_after_minutes: float
    checked_at: Timestamp
