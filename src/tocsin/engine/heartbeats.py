"""The handler of a heartbeat's deadline: fire the miss, or write the next deadline, and finish the
job in the same transaction, so a crash neither fires twice nor forgets the deadline."""

from __future__ import annotations

from tocsin.engine.base import Handler, JobContext, finish_with
from tocsin.services.ingest import heartbeats
from tocsin.services.jobs import ClaimedJob


async def check(job: ClaimedJob, ctx: JobContext) -> str | None:
    """``heartbeats.check_deadline``, finished in its own transaction."""
    return await finish_with(
        job,
        ctx,
        lambda session, now: heartbeats.check_deadline(
            session=session, tenant=job.tenant, payload=job.payload, now=now, engine_started_at=ctx.started_at
        ),
    )


HANDLERS: dict[str, Handler] = {heartbeats.HEARTBEAT_DEADLINE: check}
