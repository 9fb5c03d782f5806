"""Recording attempts keeps one health row per channel and one count row per hour, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories.orgs import OrgFactory
from tocsin.db.models import ChannelHealth, ChannelHour
from tocsin.db.session import Database
from tocsin.services.deliveries.attempts import record_attempt


def test_failures_keep_their_start_and_a_success_clears_it(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    start = datetime(2026, 12, 7, 3, 58, tzinfo=UTC)
    steps = [
        (start, False, "connection refused"),
        (start + timedelta(minutes=1), False, "timed out"),
        (start + timedelta(minutes=3), True, None),
        (start + timedelta(minutes=4), False, "x" * 900),
    ]
    seen = []
    for at, ok, error in steps:
        with database.write() as session:
            record_attempt(session=session, tenant=org.tenant, channel="email", ok=ok, error=error, now=at)
        with database.read() as session:
            row = session.scalars(select(ChannelHealth).where(ChannelHealth.org_id == org.org_id)).one()
            seen.append((row.failing_since, row.last_error, row.last_success_at))
    assert seen[0] == (start, "connection refused", None)
    assert seen[1] == (start, "timed out", None)  # still failing since the first failure
    assert seen[2] == (None, "timed out", start + timedelta(minutes=3))  # the last error stays readable
    assert seen[3][0] == start + timedelta(minutes=4) and len(seen[3][1] or "") == 500

    with database.read() as session:
        hours = session.scalars(
            select(ChannelHour).where(ChannelHour.org_id == org.org_id).order_by(ChannelHour.hour)
        ).all()
    assert [(h.hour, h.succeeded, h.failed) for h in hours] == [
        (start.replace(minute=0), 0, 2),
        (start.replace(hour=4, minute=0), 1, 1),
    ]


def test_another_org_and_the_test_mode_have_their_own_rows(database: Database, orgs: OrgFactory) -> None:
    one, other = orgs.new(), orgs.new()
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with database.write() as session:
        record_attempt(session=session, tenant=one.tenant, channel="sms", ok=False, error="503", now=at)
        record_attempt(session=session, tenant=other.tenant, channel="sms", ok=True, error=None, now=at)
    with database.read() as session:
        rows = session.scalars(
            select(ChannelHealth).where(ChannelHealth.org_id.in_([one.org_id, other.org_id]))
        ).all()
    by_org = {row.org_id: row for row in rows}
    assert by_org[one.org_id].failing_since == at and by_org[other.org_id].failing_since is None
