"""The channel health view: for one tenant, how each delivery channel is faring (last success, last
failure and its error, failing or not, the last 24 h counts); and, across orgs, which channels are
failing, for the ``tocsin_channel_failing`` gauge that lets Alertmanager page about the pager.

Which channels are configured is the caller's to say, as plain names: the server's own (SMTP,
Twilio, ntfy) come from its settings and the org's (rooms, contact methods, webhook subscriptions)
from other concepts this package sits below."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.db.models import ChannelHealth, ChannelHour
from tocsin.domain.actor import Tenant
from tocsin.domain.channel_health import CHANNELS, Status, is_failing, status_of, window_start
from tocsin.services.sql import tenant_filter


@dataclass(frozen=True, slots=True)
class ChannelReport:
    """One channel of one tenant as people read it; the times are None when it never happened."""

    channel: str
    configured: bool
    status: Status
    failing: bool
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    succeeded_24h: int
    failed_24h: int


def channel_health(
    *,
    session: Session,
    tenant: Tenant,
    configured: Iterable[str],
    now: datetime,
    failing_after: timedelta,
) -> list[ChannelReport]:
    """Every known channel (configured or not, so a missing SMTP host shows), then any other
    channel with a record, by name; ``configured``: the channel names set up for this tenant."""
    ready = frozenset(configured)
    records = {
        row.channel: row
        for row in session.scalars(select(ChannelHealth).where(*tenant_filter(ChannelHealth, tenant)))
    }
    counts = {
        channel: (int(succeeded or 0), int(failed or 0))
        for channel, succeeded, failed in session.execute(
            select(ChannelHour.channel, func.sum(ChannelHour.succeeded), func.sum(ChannelHour.failed))
            .where(*tenant_filter(ChannelHour, tenant), ChannelHour.hour >= window_start(now))
            .group_by(ChannelHour.channel)
        )
    }
    others = sorted((set(records) | set(counts)) - set(CHANNELS))
    reports = []
    for channel in (*CHANNELS, *others):
        record = records.get(channel)
        succeeded, failed = counts.get(channel, (0, 0))
        failing = record is not None and is_failing(record.failing_since, now, failing_after)
        reports.append(
            ChannelReport(
                channel=channel,
                configured=channel in ready,
                status=status_of(configured=channel in ready, attempted=record is not None, failing=failing),
                failing=failing,
                last_success_at=record.last_success_at if record else None,
                last_failure_at=record.last_failure_at if record else None,
                last_error=record.last_error if record else None,
                failing_since=record.failing_since if record else None,
                succeeded_24h=succeeded,
                failed_24h=failed,
            )
        )
    return reports


def failing_orgs(*, session: Session, now: datetime, failing_after: timedelta) -> dict[str, int]:
    """For /metrics, across all orgs, live mode only (test mode never reaches a provider): per channel
    that has any record, how many orgs have had it failing for ``failing_after``. Reads only the
    rows with a failure outstanding, and judges them with ``is_failing``, the view's own rule."""
    live = ChannelHealth.livemode.is_(True)
    channels = session.scalars(select(ChannelHealth.channel).where(live).distinct())
    failing: Counter[str] = Counter({channel: 0 for channel in channels})
    outstanding = session.execute(
        select(ChannelHealth.channel, ChannelHealth.failing_since).where(
            live, ChannelHealth.failing_since.is_not(None)
        )
    )
    for channel, since in outstanding:
        if is_failing(since, now, failing_after):
            failing[channel] += 1
    return dict(failing)
