"""The ``/metrics`` gauges counted from the database at each scrape: incidents by status, the
engine's backlog (jobs pending by kind, the age of the oldest due one), heartbeat states, failing
channels, and readiness findings (kept a minute: they walk every schedule's next week).

Counted by the server rather than kept by the engine: any replica's scrape gives the same truth
whichever engine (in-process, child, standalone worker, several on PostgreSQL) did the work, and
the engine's backlog is most worth seeing exactly when no engine is running. Each is one cheap
query (``ix_jobs_due`` serves both job gauges); a failing one drops only its family
(``metrics.ReadAtScrape``)."""

from __future__ import annotations

from datetime import timedelta

from tocsin.api.metrics import Metrics
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.domain.channel_health import CHANNELS
from tocsin.services import jobs
from tocsin.services.deliveries import health as channel_health
from tocsin.services.incidents import records as incident_records
from tocsin.services.ingest import heartbeats
from tocsin.services.readiness import check as readiness


def _mode(livemode: bool) -> str:
    return str(livemode).lower()


def install(metrics: Metrics, database: Database, clock: Clock, settings: Settings) -> None:
    """Register every database gauge on ``metrics``, each read in its own short read transaction."""

    def incidents() -> dict[tuple[str, ...], float]:
        with database.read() as session:
            counts = incident_records.count_by_status(session=session)
        return {(status, _mode(livemode)): n for (status, livemode), n in counts.items()}

    def pending() -> dict[tuple[str, ...], float]:
        with database.read() as session:
            return {(kind,): n for kind, n in jobs.pending_by_kind(session=session).items()}

    def oldest_due_age() -> dict[tuple[str, ...], float]:
        now = clock.now()
        with database.read() as session:
            oldest = jobs.oldest_due(session=session, now=now)
        return {(): max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0}

    def heartbeat_states() -> dict[tuple[str, ...], float]:
        with database.read() as session:
            counts = heartbeats.count_by_state(session=session)
        return {(state, _mode(livemode)): n for (state, livemode), n in counts.items()}

    metrics.read_at_scrape("tocsin_incidents", "Incidents by status", ["status", "livemode"], incidents)
    metrics.read_at_scrape(
        "tocsin_engine_jobs_pending",
        "Jobs waiting to run (due or scheduled later), by kind",
        ["kind"],
        pending,
    )
    metrics.read_at_scrape(
        "tocsin_engine_oldest_due_job_age_seconds",
        "Now minus the run_at of the longest-waiting due pending job; 0 when none is due",
        [],
        oldest_due_age,
    )
    metrics.read_at_scrape(
        "tocsin_heartbeats",
        "Heartbeats by state: waiting (no beat yet), up, missed",
        ["state", "livemode"],
        heartbeat_states,
    )

    failing_after = timedelta(minutes=settings.channel_failing_minutes)

    def failing_channels() -> dict[tuple[str, ...], float]:
        with database.read() as session:
            now = clock.now()
            counts = channel_health.failing_orgs(session=session, now=now, failing_after=failing_after)
        # Every known channel, at 0 when healthy, so "> 0" is the whole alert rule.
        return {(channel,): counts.get(channel, 0) for channel in sorted(set(CHANNELS) | set(counts))}

    metrics.read_at_scrape(
        "tocsin_channel_failing",
        f"Orgs whose channel has failed for at least {settings.channel_failing_minutes:g} minutes with no "
        "success since (TOCSIN_CHANNEL_FAILING_MINUTES), live mode",
        ["channel"],
        failing_channels,
    )

    def findings() -> dict[tuple[str, str], int]:
        with database.read() as session:
            now = clock.now()
            found = readiness.count_findings(session=session, now=now, configured=settings.channel_types())
        return dict(found)

    metrics.watch_readiness(findings, settings.readiness_metric_seconds)
