"""The handler that notes, at a swap request's window start, that nobody took it: the expiry goes
on the schedule's timeline and the job's "done" commits with it, so a crash never writes it twice."""

from __future__ import annotations

import asyncio

from tocsin.engine.base import Handler, JobContext, LeaseLost, Settled
from tocsin.services import jobs
from tocsin.services.jobs import ClaimedJob
from tocsin.services.swaps import requests as swap_requests
from tocsin.services.swaps import takes as swap_takes


async def expire(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Run ``swap_takes.expire_request`` and finish the job in one transaction."""

    def work() -> str:
        with ctx.database.write() as session:
            now = ctx.now()
            result = swap_takes.expire_request(
                session=session, tenant=job.tenant, payload=job.payload, now=now
            )
            if not jobs.finish(session=session, job=job, owner=ctx.owner, now=now, result=result):
                raise LeaseLost(job.id)
            return Settled(result)

    return await asyncio.to_thread(work)


HANDLERS: dict[str, Handler] = {swap_requests.SWAP_EXPIRY: expire}
