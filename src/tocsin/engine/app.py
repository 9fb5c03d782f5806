"""Building the engine from settings, and running it for the lifetime of ``tocsin serve`` or
``tocsin worker``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx

from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.db.sqlite.write_priority import MAX_YIELD
from tocsin.engine import contact_checks as contact_check_handlers
from tocsin.engine import heartbeats as heartbeat_handlers
from tocsin.engine import paging as paging_handlers
from tocsin.engine import swap_expiry
from tocsin.engine import webhooks as webhook_handlers
from tocsin.engine.base import Handler, JobContext
from tocsin.engine.journal import journal_for
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.runner import Engine, default_owner
from tocsin.notify.email import EmailConfig
from tocsin.notify.ntfy import NtfyConfig
from tocsin.notify.registry import Channels
from tocsin.notify.twilio import TwilioConfig
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter

log = logging.getLogger("tocsin.engine")

# The most job writes one shared transaction holds (``_shared_writes``): it bounds how long the
# engine keeps SQLite's lock from an ingest batch that comes meanwhile.
_MAX_JOBS_A_TRANSACTION = 32


def channels_from(settings: Settings, http: httpx.AsyncClient) -> Channels:
    """Every channel the settings configure; an unconfigured one fails its pages with a reason."""
    timeout = settings.notify_timeout_seconds
    email = (
        EmailConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_address=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls if not settings.smtp_tls else False,
            use_tls=settings.smtp_tls,
            timeout=timeout,
        )
        if settings.smtp_host
        else None
    )
    credentials = settings.twilio_credentials()
    twilio = (
        TwilioConfig(
            account_sid=credentials[0],
            auth_token=credentials[1],
            from_number=credentials[2],
            base_url=settings.twilio_base_url,
            timeout=timeout,
        )
        if credentials is not None
        else None
    )
    ntfy = NtfyConfig(server_url=settings.ntfy_url, access_token=settings.ntfy_token, timeout=timeout)
    return Channels(http, email=email, twilio=twilio, ntfy=ntfy)


def all_handlers() -> dict[str, Handler]:
    return {
        **paging_handlers.handlers(),
        **webhook_handlers.HANDLERS,
        **swap_expiry.HANDLERS,
        **heartbeat_handlers.HANDLERS,
        **contact_check_handlers.HANDLERS,
    }


def _shared_writes(database: Database) -> GroupCommitter | None:
    """On SQLite, the jobs' writes share transactions (``JobContext.write``): SQLite runs one
    write transaction at a time, and the engine's were queueing for it one by one (about 100
    pages a second on a 2-CPU machine). On PostgreSQL they run side by side, as before."""
    if database.is_postgres:
        return None
    priority = database.priority

    def yield_per_job(jobs_in_batch: int) -> None:
        # A storm's ingest goes first for as long per job as it did when each job had its own
        # transaction (its BEGIN waits one MAX_YIELD more).
        if priority is not None and jobs_in_batch > 1:
            priority.yield_to_ingest(MAX_YIELD * (jobs_in_batch - 1))

    writes = GroupCommitter(
        database, name="engine-writes", max_batch=_MAX_JOBS_A_TRANSACTION, before_batch=yield_per_job
    )
    writes.start()
    return writes


def build_engine(
    settings: Settings,
    database: Database,
    *,
    http: httpx.AsyncClient,
    clock: Clock | None = None,
    channels: Channels | None = None,
    owner: str | None = None,
    started_at: datetime | None = None,
    metrics: EngineMetrics | None = None,
) -> Engine:
    """The engine the settings describe. ``metrics``: where its series go, the registry the
    server's ``/metrics`` includes (in-process engine) or a fresh one, which in ``tocsin serve``'s
    child writes to the files the server reads (``server.engine_metrics``)."""
    clock = clock or SystemClock()
    ctx = JobContext(
        database=database,
        http=http,
        now=clock.now,
        settings=settings,
        channels=channels or channels_from(settings, http),
        paging=PagingSettings.from_settings(settings),
        journal=journal_for(database.url),
        owner=owner or default_owner(),
        writes=_shared_writes(database),
        started_at=started_at,
        metrics=metrics or EngineMetrics(),
        retry_base=timedelta(seconds=settings.engine_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.engine_retry_cap_seconds),
    )
    return Engine(
        ctx,
        all_handlers(),
        concurrency=settings.engine_concurrency,
        lease=timedelta(seconds=settings.engine_lease_seconds),
        poll_seconds=settings.engine_poll_seconds,
        retention=timedelta(days=settings.engine_job_retention_days),
    )


@asynccontextmanager
async def running(
    settings: Settings,
    database: Database,
    *,
    clock: Clock | None = None,
    channels: Channels | None = None,
    metrics: EngineMetrics | None = None,
) -> AsyncIterator[Engine]:
    """The engine running in the background of the current event loop until the block ends."""
    async with httpx.AsyncClient(follow_redirects=False) as http:
        clock = clock or SystemClock()
        engine = build_engine(
            settings,
            database,
            http=http,
            clock=clock,
            channels=channels,
            started_at=clock.now(),
            metrics=metrics,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop), name="tocsin-engine")
        try:
            yield engine
        finally:
            stop.set()
            await task
            engine.close()
