"""Record one provider attempt on a channel: the channel's last success or failure, and its hour's
count. Called by the engine in the transaction that records the attempt's outcome, so the health
view never disagrees with the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func
from sqlalchemy.orm import Session

from tocsin.db.models import ChannelHealth, ChannelHour
from tocsin.domain.actor import Tenant
from tocsin.domain.channel_health import canonical, hour_of
from tocsin.ids import new_id
from tocsin.services.sql import dialect_insert

ERROR_LIMIT = 500  # the column's width; a provider's error page is cut, not refused
# Hourly counts kept: the view reads one day; a week and a day lets a person compare with last week.
HOURS_KEPT = timedelta(days=8)


def record_attempt(
    *, session: Session, tenant: Tenant, channel: str, ok: bool, error: str | None, now: datetime
) -> None:
    """One attempt on ``channel`` (``email``, ``sms``, ``voice``, ``push``, ``slack``, ``teams``,
    ``webhook``: the contact-method type; ``ntfy`` is taken for ``push``) succeeded (``ok``) or
    failed with ``error``. Two upserts, whatever the dialect."""
    channel = canonical(channel)
    tenancy: dict[str, Any] = {"org_id": tenant.org_id, "livemode": tenant.livemode, "created_at": now}
    reason = (error or "failed")[:ERROR_LIMIT]
    health = dialect_insert(session, ChannelHealth).values(
        id=new_id("channel_health"),
        channel=channel,
        last_success_at=now if ok else None,
        last_failure_at=None if ok else now,
        last_error=None if ok else reason,
        failing_since=None if ok else now,
        updated_at=now,
        **tenancy,
    )
    table = ChannelHealth.__table__.c
    if ok:
        changes: dict[str, Any] = {"last_success_at": now, "failing_since": None, "updated_at": now}
    else:
        changes = {
            "last_failure_at": now,
            "last_error": reason,
            # Failing since the first failure after the last success: kept while it stays down.
            "failing_since": func.coalesce(table.failing_since, now),
            "updated_at": now,
        }
    session.execute(
        health.on_conflict_do_update(index_elements=["org_id", "livemode", "channel"], set_=changes)
    )
    hour = hour_of(now)
    count = dialect_insert(session, ChannelHour).values(
        id=new_id("channel_hour"),
        channel=channel,
        hour=hour,
        succeeded=1 if ok else 0,
        failed=0 if ok else 1,
        **tenancy,
    )
    hours = ChannelHour.__table__.c
    session.execute(
        count.on_conflict_do_update(
            index_elements=["org_id", "livemode", "channel", "hour"],
            set_={
                "succeeded": hours.succeeded + count.excluded.succeeded,
                "failed": hours.failed + count.excluded.failed,
            },
        )
    )


def purge_hours(*, session: Session, before: datetime) -> int:
    """Delete hourly counts older than ``before``: the view reads one day of them; the engine's
    hourly housekeeping keeps a few more for whoever looks at the table by hand."""
    result = session.execute(delete(ChannelHour).where(ChannelHour.hour < before))
    return cast(CursorResult[Any], result).rowcount
