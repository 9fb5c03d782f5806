"""Handlers of the paging jobs: escalation steps, single pages, snooze expiry and ack timeouts.

A step or timer changes only the database, so it runs and finishes its job in one transaction (a
crash leaves it wholly undone or wholly done). A page calls a provider, so it is read, sent outside
any transaction, then recorded and finished together; the idempotency key travels with it to the
providers that deduplicate.

A page is loud about its fate (issue 19): one that would come too late is skipped with a timeline
entry, each failed attempt says on the timeline whether and when it is retried (the handler
settles its own retry, so the entry and the job agree), and every attempt of a page, notice or
room post is recorded on its channel's health, counted on ``ctx.metrics`` and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from tocsin.domain.delivery import Verdict, after_failure, loggable_address, retry_deadline
from tocsin.engine.base import Handler, JobContext, LeaseLost, Settled
from tocsin.notify.base import Page, Permanent, Receipt, Transient
from tocsin.services import jobs, paging
from tocsin.services.deliveries.attempts import record_attempt
from tocsin.services.escalation import delivery as page_delivery
from tocsin.services.escalation import steps as escalation
from tocsin.services.jobs import ClaimedJob
from tocsin.services.responders import links

log = logging.getLogger("tocsin.engine.paging")

StepFunction = Callable[..., str]
# The payload field a page keeps across its retries: when its first attempt failed (ISO time),
# from which ``domain.delivery.retry_deadline`` caps its retries at the last level.
FIRST_FAILED_AT = "first_failed_at"


async def _effect_and_finish(function: StepFunction, job: ClaimedJob, ctx: JobContext) -> str:
    """Run a database-only ``function`` and finish its job in the same transaction; its result."""

    def work(session: Session) -> str:
        result = function(
            session=session,
            tenant=job.tenant,
            incident_id=job.incident_id,
            payload=job.payload,
            now=ctx.now(),
            paging=ctx.paging,
        )
        if not jobs.finish(session=session, job=job, owner=ctx.owner, now=ctx.now(), result=result):
            raise LeaseLost(job.id)
        return result

    return await ctx.write(work)


def _in_one_transaction(function: StepFunction) -> Handler:
    """A database-only handler: the effect and the job's "done" commit together, or neither does."""

    async def handle(job: ClaimedJob, ctx: JobContext) -> str | None:
        return Settled(await _effect_and_finish(function, job, ctx))

    return handle


async def run_step(job: ClaimedJob, ctx: JobContext) -> str | None:
    """One escalation step, then its log line (after the commit: a step rolled back is not told)."""
    result = await _effect_and_finish(escalation.run_step, job, ctx)
    targets = getattr(result, "targets", None)
    log.info(
        "escalation step",
        extra={
            "incident_id": job.incident_id,
            "run": job.payload.get("run"),
            "escalation_level": int(job.payload.get("level") or 0) + 1,
            "escalation_pass": int(job.payload.get("cycle") or 0) + 1,
            "targets": targets,
            "result": str(result),
        },
    )
    return Settled(result)


expire_snooze = _in_one_transaction(escalation.expire_snooze)
ack_timed_out = _in_one_transaction(escalation.ack_timed_out)


def _base_url(ctx: JobContext) -> str:
    """The public URL links in pages and posts point at (``TOCSIN_BASE_URL``)."""
    return ctx.settings.base_url.rstrip("/")


def _incident_url(base_url: str, number: int) -> str:
    """ "View incident": the Incident screen (``/incidents/{number}``). A signed-in browser opens it
    at once; a signed-out one signs in first and comes back, so the link itself carries no secret
    and stays good for as long as the incident exists."""
    return f"{base_url}/incidents/{number}"


def _view_url(
    key: str,
    job: ClaimedJob,
    base_url: str,
    now: datetime,
    user_id: str | None,
    user_name: str | None,
    action: links.Action = "view",
) -> str:
    """A signed link to the incident's one-click page: acknowledge or resolve without signing in
    (the page confirms first; the GET never acts)."""
    token = links.make_token(
        key,
        incident_id=str(job.incident_id),
        action=action,
        tenant=job.tenant,
        user_id=user_id,
        user_name=user_name,
        issued_at=now,
    )
    return f"{base_url}/links/{token}"


def _incident_page(
    incident: page_delivery.Announcement, job: ClaimedJob, view_url: str, **extra: Any
) -> Page:
    """The incident's part of a page or room post; ``extra`` adds the recipient, links or event."""
    return Page(
        idempotency_key=job.key,
        incident_id=incident.incident_id,
        incident_number=incident.number,
        title=incident.title,
        status=incident.status,
        urgency=incident.urgency,
        service_name=incident.service_name,
        incident_url=view_url,
        description=incident.description,
        source=incident.source,
        details=dict(incident.details),
        links=incident.links,
        alert_count=incident.alert_count,
        **extra,
    )


def _page(plan: page_delivery.PagePlan, job: ClaimedJob, base_url: str, now: datetime) -> Page:
    def link(action: links.Action) -> str:
        return _view_url(plan.link_key, job, base_url, now, plan.user_id, plan.user_name, action)

    return _incident_page(
        plan.incident,
        job,
        _incident_url(base_url, plan.incident.number),
        recipient_name=plan.user_name,
        escalation_level=None if job.payload.get("level") is None else int(job.payload["level"]) + 1,
        ack_url=link("acknowledge"),
        resolve_url=link("resolve"),
    )


def _page_fields(job: ClaimedJob, number: int | None = None) -> dict[str, Any]:
    """What a page's log line says of it: the incident, who, which channel, and an address only
    as ``domain.delivery.loggable_address`` allows (a phone number masked, a URL never)."""
    channel, address = str(job.payload["type"]), str(job.payload["address"])
    return {
        "incident_id": job.incident_id,
        "incident_number": number,
        "channel": channel,
        "user_id": job.payload.get("user_id"),
        "address": loggable_address(channel, address),
        "escalation_level": int(job.payload.get("level") or 0) + 1,
        "attempt": job.attempts,
        "max_attempts": job.max_attempts,
        "job_id": job.id,
    }


async def _record_sent(ctx: JobContext, job: ClaimedJob, outcome: str) -> None:
    """The accepted page on the incident (and its channel's health), and its job done, in one
    transaction."""

    def work(session: Session) -> None:
        page_delivery.record_page(
            session=session, tenant=job.tenant, incident_id=str(job.incident_id), payload=job.payload,
            now=ctx.now(), outcome=outcome,
        )  # fmt: skip
        if not jobs.finish(session=session, job=job, owner=ctx.owner, now=ctx.now(), result=outcome):
            raise LeaseLost(job.id)

    await ctx.write(work)
    if job.livemode:
        ctx.metrics.page(str(job.payload["type"]), "sent")


async def _skip(ctx: JobContext, job: ClaimedJob, stale: page_delivery.Stale) -> Settled:
    """Drop a page that would come too late: its entry on the timeline, its job done, together."""
    reason = stale.reason

    def work(session: Session) -> None:
        page_delivery.record_skip(
            session=session, tenant=job.tenant, incident_id=str(job.incident_id), payload=job.payload,
            now=ctx.now(), reason=reason,
        )  # fmt: skip
        if not jobs.finish(
            session=session, job=job, owner=ctx.owner, now=ctx.now(), result=f"skipped: {reason}"
        ):
            raise LeaseLost(job.id)

    await ctx.write(work)
    if job.livemode:
        ctx.metrics.page(str(job.payload["type"]), "skipped")
    log.info("page skipped", extra={**_page_fields(job, stale.number), "reason": reason})
    return Settled(f"skipped: {reason}")


def _first_failed_at(job: ClaimedJob) -> datetime | None:
    value = job.payload.get(FIRST_FAILED_AT)
    return datetime.fromisoformat(str(value)) if value else None


async def _failed(
    ctx: JobContext, job: ClaimedJob, number: int, error: str, *, retry_after: float | None, permanent: bool
) -> Settled:
    """A failed attempt: decide whether it is retried (``domain.delivery.after_failure``: attempts,
    and the deadline of the next escalation step), then write the decision on the timeline and the
    channel's health and settle the job by it, all in one transaction, so the entry's "retrying in
    20 s" is the wait the job was given, and a crash leaves neither without the other."""

    def work(session: Session) -> tuple[Verdict, timedelta]:
        now = ctx.now()
        first_failed_at = _first_failed_at(job) or now
        next_step = page_delivery.next_step_at(
            session=session, tenant=job.tenant, incident_id=str(job.incident_id), payload=job.payload
        )
        deadline = retry_deadline(next_step_at=next_step, first_failed_at=first_failed_at)
        wait = timedelta(seconds=retry_after) if retry_after else ctx.retry_wait(job.attempts)
        verdict = after_failure(
            attempt=job.attempts, max_attempts=job.max_attempts, now=now, wait=wait, deadline=deadline,
            permanent=permanent,
        )  # fmt: skip
        page_delivery.record_failure(
            session=session, tenant=job.tenant, incident_id=str(job.incident_id), payload=job.payload,
            now=now, error=error, attempt=job.attempts, max_attempts=job.max_attempts, verdict=verdict,
            wait=wait, moves_on=next_step is not None and deadline == next_step,
        )  # fmt: skip
        if verdict.retry_at is not None:
            payload = {**job.payload, FIRST_FAILED_AT: first_failed_at.isoformat()}
            settled = jobs.retry(
                session=session, job=job, owner=ctx.owner, now=now, run_at=verdict.retry_at, error=error,
                payload=payload,
            )  # fmt: skip
        else:
            settled = jobs.fail(
                session=session, job=job, owner=ctx.owner, now=now, error=f"{verdict.stop}: {error}"
            )
        if not settled:
            raise LeaseLost(job.id)
        return verdict, wait

    verdict, wait = await ctx.write(work)
    channel = str(job.payload["type"])
    fields = {**_page_fields(job, number), "error": error}
    if verdict.retry_at is not None:
        if job.livemode:
            ctx.metrics.page(channel, "retried")
        log.warning("page failed; retrying", extra={**fields, "retry_in_seconds": wait.total_seconds()})
        return Settled(f"retrying: {error}")
    if job.livemode:
        ctx.metrics.page(channel, "failed")
    log.error("page failed for good", extra={**fields, "stopped": verdict.stop})
    return Settled(f"failed ({verdict.stop}): {error}")


def _plan(ctx: JobContext, job: ClaimedJob) -> page_delivery.PagePlan | page_delivery.Stale | str:
    key = ctx.link_key
    with ctx.database.read() as session:
        return page_delivery.plan_page(
            session=session,
            tenant=job.tenant,
            incident_id=str(job.incident_id),
            payload=job.payload,
            link_key=key,
            due_at=job.run_at,
        )


async def send_page(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Send one page through its channel (the recording sink in test mode) and write the outcome.

    Checked right before sending, a page that would come too late (the incident acknowledged,
    resolved or snoozed, or its escalation past the page's level) is dropped with a timeline entry,
    a first attempt or a retry alike. A page the sent journal lists was accepted before a crash:
    that is recorded as sent even if the page has gone stale since, because it was not skipped."""
    plan = await asyncio.to_thread(_plan, ctx, job)
    if isinstance(plan, str):
        return plan
    journal = ctx.journal
    if journal is not None and job.attempts > 1 and journal.contains(job.id):
        # Accepted by the provider just before a crash: catch the record up, do not page again.
        await _record_sent(ctx, job, "sent" if job.livemode else "sink")
        log.info("page sent before a restart", extra=_page_fields(job, plan.number))
        return Settled("sent before a restart (from the sent journal)")
    if isinstance(plan, page_delivery.Stale):
        return await _skip(ctx, job, plan)
    channels = ctx.channels
    base_url = _base_url(ctx)
    page = _page(plan, job, base_url, ctx.now())
    try:
        channel = channels.channel_for(plan.type, livemode=plan.incident.livemode)
        receipt = await channel.send(plan.address, page)
        if journal is not None:
            journal.record(job.id)  # no await since the provider answered: nothing can run between
    except Transient as error:
        return await _failed(
            ctx, job, plan.number, error.reason, retry_after=error.retry_after, permanent=False
        )
    except Permanent as error:
        return await _failed(ctx, job, plan.number, error.reason, retry_after=None, permanent=True)
    accepted_at = ctx.now()
    outcome = "sent" if plan.incident.livemode else "sink"
    await _record_sent(ctx, job, outcome)
    if plan.incident.livemode and plan.incident.opened_at is not None:
        ctx.metrics.page_accepted(plan.type, (accepted_at - plan.incident.opened_at).total_seconds())
    log.info("page sent", extra={**_page_fields(job, plan.incident.number), "outcome": outcome})
    return Settled(f"{outcome}: {receipt.provider_id or ''}".rstrip(": "))


_EVENT_STATUS = {
    "incident.triggered": "OPEN",
    "incident.acknowledged": "ACKNOWLEDGED",
    "incident.resolved": "RESOLVED",
}


def _announcement(ctx: JobContext, job: ClaimedJob) -> tuple[page_delivery.Announcement | None, str]:
    """The incident as it stands, and the key that signs its view link (read here, off the loop)."""
    key = ctx.link_key
    with ctx.database.read() as session:
        plan = page_delivery.plan_announcement(
            session=session, tenant=job.tenant, incident_id=str(job.incident_id)
        )
    return plan, key


def _as_announced(plan: page_delivery.Announcement, event: str) -> page_delivery.Announcement:
    """The incident in the state the event announces, not whatever it has moved on to since."""
    return replace(plan, status=_EVENT_STATUS.get(event, plan.status))


PostKind = Literal["notice", "room post"]


async def _post(
    ctx: JobContext, job: ClaimedJob, livemode: bool, page: Page, kind: PostKind
) -> Receipt | Settled:
    """Send ``page`` to the job's own channel and address (a room, or one person's notice). Only
    the attempt is written (``_settle_post``): the job's result is the record. A transient failure
    is retried with the engine's backoff while attempts last, a permanent one fails the job."""
    try:
        channel = ctx.channels.channel_for(str(job.payload["type"]), livemode=livemode)
        return await channel.send(str(job.payload["address"]), page)
    except Transient as error:
        wait = timedelta(seconds=error.retry_after) if error.retry_after else ctx.retry_wait(job.attempts)
        return await _settle_post(ctx, job, livemode, kind, error.reason, wait)
    except Permanent as error:
        return await _settle_post(ctx, job, livemode, kind, error.reason, None)


async def _settle_post(
    ctx: JobContext,
    job: ClaimedJob,
    livemode: bool,
    kind: PostKind,
    error: str | None,
    wait: timedelta | None,
    result: str = "",
) -> Settled:
    """A notice's or room post's attempt on its channel's health (live only: the test sink is no
    provider) and its job settled by it (done, retried after ``wait``, or failed) in one
    transaction. A notice counts on the page metrics; a room post is not a page."""
    channel = str(job.payload["type"])
    ok = error is None

    def work(session: Session) -> bool:
        now = ctx.now()
        if livemode:
            record_attempt(session=session, tenant=job.tenant, channel=channel, ok=ok, error=error, now=now)
        retried = False
        if ok:
            settled = jobs.finish(session=session, job=job, owner=ctx.owner, now=now, result=result)
        elif wait is not None and job.attempts < job.max_attempts:
            retried = True
            settled = jobs.retry(
                session=session, job=job, owner=ctx.owner, now=now, run_at=now + wait, error=str(error)
            )
        else:
            settled = jobs.fail(session=session, job=job, owner=ctx.owner, now=now, error=str(error))
        if not settled:
            raise LeaseLost(job.id)
        return retried

    retried = await ctx.write(work)
    outcome = "sent" if ok else "retried" if retried else "failed"
    if kind == "notice" and livemode:
        ctx.metrics.page(channel, outcome)
    if not ok:
        log.warning(
            f"{kind} failed" + ("; retrying" if retried else " for good"),
            extra={
                "incident_id": job.incident_id,
                "channel": channel,
                "user_id": job.payload.get("user_id"),
                "incident_event": job.payload.get("event"),
                "attempt": job.attempts,
                "error": error,
            },
        )
        return Settled(f"{'retrying' if retried else 'failed'}: {error}")
    return Settled(result)


async def announce(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Post an incident event to one of its service's rooms (Slack, Teams, a webhook)."""
    plan, key = await asyncio.to_thread(_announcement, ctx, job)
    if plan is None:
        return "incident deleted"
    event = str(job.payload["event"])
    page = _incident_page(
        _as_announced(plan, event), job, _incident_url(_base_url(ctx), plan.number), event=event
    )
    receipt = await _post(ctx, job, plan.livemode, page, "room post")
    if isinstance(receipt, Settled):
        return receipt
    result = f"posted {event} to {job.payload['type']}: {receipt.detail or ''}".rstrip(": ")
    return await _settle_post(ctx, job, plan.livemode, "room post", None, None, result)


async def send_notice(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Tell one person, on a channel that paged them, that someone else acknowledged or resolved the
    incident. Like a room post it changes nothing on the incident, so the job's result is its record;
    the key (and so the email's Message-ID) is stable across retries.

    A notice is not a page, so it is never dropped as stale: it reports an event that did happen,
    and says so in the state the event left the incident in. An "acknowledged" notice that comes
    after the incident was resolved (a retry, or a queue behind) is still sent, and the
    "resolved" notice, queued by the resolve, follows it: each tells the truth, in order."""
    plan, key = await asyncio.to_thread(_announcement, ctx, job)
    if plan is None:
        return "incident deleted"
    event = str(job.payload["event"])
    base_url, user_id, user_name = _base_url(ctx), str(job.payload["user_id"]), str(job.payload["user_name"])
    now = ctx.now()
    # Acknowledged is not done: the notice lets its reader resolve in one click.
    resolve = event == "incident.acknowledged"
    page = _incident_page(
        _as_announced(plan, event),
        job,
        _incident_url(base_url, plan.number),
        event=event,
        recipient_name=user_name,
        changed_by=str(job.payload["actor_name"]),
        resolve_url=_view_url(key, job, base_url, now, user_id, user_name, "resolve") if resolve else None,
    )
    receipt = await _post(ctx, job, plan.livemode, page, "notice")
    if isinstance(receipt, Settled):
        return receipt
    outcome = "sent" if plan.livemode else "sink"
    result = f"{outcome} {event} notice by {job.payload['type']}: {receipt.provider_id or ''}".rstrip(": ")
    return await _settle_post(ctx, job, plan.livemode, "notice", None, None, result)


def handlers() -> dict[str, Handler]:
    return {
        paging.ANNOUNCE: announce,
        paging.NOTICE: send_notice,
        paging.ESCALATE: run_step,
        paging.NOTIFY: send_page,
        paging.SNOOZE_EXPIRY: expire_snooze,
        paging.ACK_TIMEOUT: ack_timed_out,
    }
