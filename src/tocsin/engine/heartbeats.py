"""The handler of a heartbeat's deadline: fire the miss, or write the next deadline, and finish the
job in the same transaction, so a crash neither fires twice nor forgets the deadline."""

from __future__ import annotations

import asyncio

from tocsin.engine.base import Handler, JobContext, LeaseLost, Settled
from tocsin.services import jobs
from tocsin.services.ingest import heartbeats
from tocsin.services.jobs import ClaimedJob


async def check(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Run ``heartbeats.check_deadline`` and finish the job in one transaction."""

    def work() -> str:
        with ctx.database.write() as session:
            now = ctx.now()
            result = heartbeats.check_deadline(
                session=session,
                tenant=job.tenant,
                payload=job.payload,
                now=now,
                engine_started_at=ctx.started_at,
            )
            if not jobs.finish(session=session, job=job, owner=ctx.owner, now=now, result=result):
                raise LeaseLost(job.id)
            return Settled(result)

    return await asyncio.to_thread(work)


HANDLERS: dict[str, Handler] = {heartbeats.HEARTBEAT_DEADLINE: check}
