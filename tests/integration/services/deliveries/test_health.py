"""The channel health view and the failing-channel count over recorded attempts, on both databases:
failing, recovered, unused and unconfigured channels, the 24 h window's edges, tenants kept apart,
and the purge of old hourly counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories.orgs import OrgFactory
from tocsin.db.models import ChannelHour
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.deliveries.attempts import purge_hours, record_attempt
from tocsin.services.deliveries.health import ChannelReport, channel_health, failing_orgs

NOW = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
AFTER = timedelta(minutes=5)


def _record(database: Database, tenant: Tenant, channel: str, at: datetime, error: str | None = None) -> None:
    with database.write() as session:
        record_attempt(session=session, tenant=tenant, channel=channel, ok=error is None, error=error, now=at)


def _view(
    database: Database, tenant: Tenant, configured: tuple[str, ...] = (), now: datetime = NOW
) -> dict[str, ChannelReport]:
    with database.read() as session:
        reports = channel_health(
            session=session, tenant=tenant, configured=configured, now=now, failing_after=AFTER
        )
    return {report.channel: report for report in reports}


def test_failing_recovered_unused_and_not_configured(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    tenant = org.tenant
    _record(database, tenant, "email", NOW - timedelta(minutes=40), "connection refused")
    _record(database, tenant, "email", NOW - timedelta(minutes=10), "connection refused")
    _record(database, tenant, "sms", NOW - timedelta(minutes=30), "HTTP 503")
    _record(database, tenant, "sms", NOW - timedelta(minutes=20))  # recovered
    _record(database, tenant, "slack", NOW - timedelta(minutes=1), "HTTP 500")  # too new to be failing

    view = _view(database, tenant, configured=("email", "sms", "voice", "push", "slack"))
    assert list(view) == ["email", "sms", "voice", "push", "slack", "teams", "webhook"]

    email = view["email"]
    assert (email.status, email.failing, email.configured) == ("failing", True, True)
    assert email.failing_since == NOW - timedelta(minutes=40)
    assert email.last_failure_at == NOW - timedelta(minutes=10) and email.last_success_at is None
    assert email.last_error == "connection refused"
    assert (email.succeeded_24h, email.failed_24h) == (0, 2)

    sms = view["sms"]
    assert (sms.status, sms.failing, sms.failing_since) == ("ok", False, None)
    assert sms.last_success_at == NOW - timedelta(minutes=20) and sms.last_error == "HTTP 503"
    assert (sms.succeeded_24h, sms.failed_24h) == (1, 1)

    slack = view["slack"]
    assert (slack.status, slack.failing) == ("ok", False)
    assert slack.failing_since == NOW - timedelta(minutes=1)  # shown, not yet "failing"
    assert view["slack"].status == "ok"
    later = _view(database, tenant, configured=("slack",), now=NOW + timedelta(minutes=4))
    assert later["slack"].status == "failing"  # exactly five minutes without a success

    assert view["voice"].status == "unused" and view["voice"].last_success_at is None
    assert view["teams"].status == "not_configured" and not view["teams"].configured
    assert (view["teams"].succeeded_24h, view["teams"].failed_24h) == (0, 0)


def test_a_failing_channel_says_so_even_when_no_longer_configured(
    database: Database, orgs: OrgFactory
) -> None:
    org = orgs.new()
    _record(database, org.tenant, "email", NOW - timedelta(hours=1), "no SMTP host")
    _record(database, org.tenant, "voice", NOW - timedelta(hours=1))
    view = _view(database, org.tenant, configured=())
    assert (view["email"].status, view["email"].configured) == ("failing", False)
    assert view["voice"].status == "not_configured"


def test_other_channel_names_follow_the_known_ones(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    _record(database, org.tenant, "pigeon", NOW - timedelta(minutes=1))
    _record(database, org.tenant, "ntfy", NOW - timedelta(minutes=1))  # the push channel's other name
    view = _view(database, org.tenant, configured=("push",))
    assert list(view)[-1] == "pigeon" and "ntfy" not in view
    assert view["pigeon"].status == "not_configured" and view["pigeon"].succeeded_24h == 1
    assert view["push"].status == "ok" and view["push"].succeeded_24h == 1


def test_the_24_hour_counts_take_this_hour_and_the_24_before(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    this_hour = NOW.replace(minute=0)
    _record(database, org.tenant, "email", this_hour - timedelta(hours=24))  # first hour counted
    _record(database, org.tenant, "email", this_hour - timedelta(hours=24) + timedelta(minutes=59))
    _record(database, org.tenant, "email", this_hour - timedelta(hours=24, seconds=1), "too old")
    _record(database, org.tenant, "email", this_hour - timedelta(days=3), "much too old")
    _record(database, org.tenant, "email", NOW, "this hour")
    view = _view(database, org.tenant, configured=("email",))
    assert (view["email"].succeeded_24h, view["email"].failed_24h) == (2, 1)
    # An hour later, the oldest counted hour leaves the window.
    later = _view(database, org.tenant, configured=("email",), now=NOW + timedelta(hours=1))
    assert (later["email"].succeeded_24h, later["email"].failed_24h) == (0, 1)


def test_another_org_and_the_test_mode_see_only_their_own(database: Database, orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    test = Tenant(org.org_id, livemode=False)
    _record(database, org.tenant, "email", NOW - timedelta(hours=1), "connection refused")
    _record(database, test, "email", NOW - timedelta(minutes=2))
    _record(database, other.tenant, "sms", NOW - timedelta(minutes=2))

    live = _view(database, org.tenant, configured=("email", "sms"))
    assert live["email"].status == "failing" and live["email"].failed_24h == 1
    assert live["sms"].status == "unused" and live["sms"].succeeded_24h == 0

    tested = _view(database, test, configured=("email", "sms"))
    assert tested["email"].status == "ok" and tested["email"].last_failure_at is None
    assert (tested["email"].succeeded_24h, tested["email"].failed_24h) == (1, 0)

    theirs = _view(database, other.tenant, configured=("email", "sms"))
    assert theirs["email"].status == "unused" and theirs["sms"].status == "ok"


def test_the_failing_count_takes_live_channels_failing_for_the_threshold(
    database: Database, orgs: OrgFactory
) -> None:
    def counts() -> dict[str, int]:
        with database.read() as session:
            return failing_orgs(session=session, now=NOW, failing_after=AFTER)

    before = counts()
    long_failing, just_failed, recovered, other = orgs.new(), orgs.new(), orgs.new(), orgs.new()
    _record(database, long_failing.tenant, "email", NOW - AFTER, "connection refused")
    _record(database, just_failed.tenant, "email", NOW - AFTER + timedelta(seconds=1), "connection refused")
    _record(database, recovered.tenant, "email", NOW - timedelta(hours=1), "timed out")
    _record(database, recovered.tenant, "email", NOW - timedelta(minutes=30))
    _record(database, Tenant(other.org_id, livemode=False), "email", NOW - timedelta(hours=1), "test mode")
    _record(database, other.tenant, "sms", NOW - timedelta(hours=2), "HTTP 401")
    after = counts()
    assert after["email"] - before.get("email", 0) == 1  # only the one failing for five minutes
    assert after["sms"] - before.get("sms", 0) == 1


def test_old_hourly_counts_are_purged(database: Database, orgs: OrgFactory) -> None:
    org = orgs.new()
    old, kept = datetime(1990, 1, 1, 5, tzinfo=UTC), datetime(1990, 1, 9, 5, tzinfo=UTC)
    _record(database, org.tenant, "email", old)
    _record(database, org.tenant, "email", kept)
    with database.write() as session:
        assert purge_hours(session=session, before=kept) >= 1
    with database.read() as session:
        hours = session.scalars(select(ChannelHour.hour).where(ChannelHour.org_id == org.org_id)).all()
    assert hours == [kept]
