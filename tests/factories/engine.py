"""A ``JobContext`` for tests that drive a handler by hand, built the way ``engine.app`` builds the
engine's: from ``Settings``, with the channels and paging settings they imply."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.engine.app import channels_from
from tocsin.engine.base import JobContext
from tocsin.engine.metrics import EngineMetrics
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter


def job_context(
    database: Database,
    http: httpx.AsyncClient,
    now: Callable[[], datetime],
    *,
    settings: Settings | None = None,
    writes: GroupCommitter | None = None,
    metrics: EngineMetrics | None = None,
) -> JobContext:
    settings = settings or Settings(database_url=database.url)
    return JobContext(
        database=database,
        http=http,
        now=now,
        settings=settings,
        channels=channels_from(settings, http),
        paging=PagingSettings.from_settings(settings),
        writes=writes,
        metrics=metrics or EngineMetrics(),
        retry_base=timedelta(seconds=settings.engine_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.engine_retry_cap_seconds),
    )
