"""The handler that notes, at a swap request's window start, that nobody took it: the expiry goes
on the schedule's timeline and the job's "done" commits with it, so a crash never writes it twice."""

from __future__ import annotations

from tocsin.engine.base import Handler, JobContext, finish_with
from tocsin.services.jobs import ClaimedJob
from tocsin.services.swaps import requests as swap_requests
from tocsin.services.swaps import takes as swap_takes


async def expire(job: ClaimedJob, ctx: JobContext) -> str | None:
    """``swap_takes.expire_request``, finished in its own transaction."""
    return await finish_with(
        job,
        ctx,
        lambda session, now: swap_takes.expire_request(
            session=session, tenant=job.tenant, payload=job.payload, now=now
        ),
    )


HANDLERS: dict[str, Handler] = {swap_requests.SWAP_EXPIRY: expire}
