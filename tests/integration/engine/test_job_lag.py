"""The engine observes how late each job is claimed (``tocsin_engine_job_lag_seconds``, now minus
its ``run_at``), by kind, on the engine's own registry: the figure an operator alerts on when the
engines fall behind. Driven by the real loop (``Engine.drain``) on a clock the test sets, in an era
of 1971 that no other test's jobs reach."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.factories.engine import job_context
from tests.factories.orgs import OrgFactory
from tocsin.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.base import JobContext
from tocsin.engine.metrics import EngineMetrics
from tocsin.engine.runner import Engine
from tocsin.services import jobs
from tocsin.services.jobs import ClaimedJob

_eras = itertools.count()


def test_lag_is_observed_at_claim_by_kind(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    due = datetime(1971, 1, 1, tzinfo=UTC) + timedelta(days=next(_eras))
    clock = FakeClock(due + timedelta(seconds=42))
    kind = f"lag-{uuid.uuid4().hex[:8]}"
    with database.write() as session:
        for offset in (0, 10):
            jobs.enqueue(
                session=session,
                tenant=org.tenant,
                kind=kind,
                key=f"{kind}:{offset}",
                run_at=due + timedelta(seconds=offset),
                now=due,
            )
    ran: list[str] = []

    async def probe(job: ClaimedJob, _: JobContext) -> str:
        ran.append(job.key)
        return "probed"

    metrics = EngineMetrics()

    async def drain() -> int:
        async with httpx.AsyncClient() as http:
            engine = Engine(job_context(database, http, clock.now, metrics=metrics), {kind: probe})
            try:
                return await engine.drain()
            finally:
                engine.close()

    asyncio.run(drain())
    assert sorted(ran) == [f"{kind}:0", f"{kind}:10"]
    value = metrics.registry.get_sample_value
    assert value("tocsin_engine_job_lag_seconds_count", {"kind": kind}) == 2
    assert value("tocsin_engine_job_lag_seconds_sum", {"kind": kind}) == 42 + 32
    assert value("tocsin_engine_job_lag_seconds_bucket", {"kind": kind, "le": "30.0"}) == 0
    assert value("tocsin_engine_job_lag_seconds_bucket", {"kind": kind, "le": "60.0"}) == 2
