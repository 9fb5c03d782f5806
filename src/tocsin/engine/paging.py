"""Handlers of the paging jobs: escalation steps, single pages, snooze expiry and ack timeouts.

A step or timer changes only the database, so it runs and finishes its job in one transaction (a
crash leaves it wholly undone or wholly done). A page calls a provider, so it is read, sent outside
any transaction, then recorded and finished together; the idempotency key travels with it to the
providers that deduplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.engine.base import GiveUp, Handler, JobContext, LeaseLost, RetryLater, Settled
from tocsin.notify.base import Page, Permanent, Receipt, Transient
from tocsin.services import jobs, paging
from tocsin.services.escalation import delivery as page_delivery
from tocsin.services.escalation import steps as escalation
from tocsin.services.jobs import ClaimedJob
from tocsin.services.responders import links

StepFunction = Callable[..., str]


def _in_one_transaction(function: StepFunction) -> Handler:
    """A database-only handler: the effect and the job's "done" commit together, or neither does."""

    async def handle(job: ClaimedJob, ctx: JobContext) -> str | None:
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
            return Settled(result)

        return await ctx.write(work)

    return handle


run_step = _in_one_transaction(escalation.run_step)
expire_snooze = _in_one_transaction(escalation.expire_snooze)
ack_timed_out = _in_one_transaction(escalation.ack_timed_out)


def _base_url(ctx: JobContext) -> str:
    """The public URL links in pages and posts point at (``TOCSIN_BASE_URL``)."""
    return ctx.settings.base_url.rstrip("/")


def _view_url(
    key: str,
    job: ClaimedJob,
    base_url: str,
    now: datetime,
    user_id: str | None,
    user_name: str | None,
    action: links.Action = "view",
) -> str:
    """A signed link to the incident's one-click page; "view" by default, which a browser opens
    without an API key (``/api/incidents/...`` would ask for one) until the web UI has a page."""
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
        link("view"),
        recipient_name=plan.user_name,
        escalation_level=None if job.payload.get("level") is None else int(job.payload["level"]) + 1,
        ack_url=link("acknowledge"),
        resolve_url=link("resolve"),
    )


async def _record(ctx: JobContext, job: ClaimedJob, outcome: str, error: str | None, status: str) -> None:
    """The page's outcome on the incident and its job settled, in one transaction."""

    def work(session: Session) -> None:
        now = ctx.now()
        page_delivery.record_page(
            session=session, tenant=job.tenant, incident_id=str(job.incident_id), payload=job.payload,
            now=now, outcome=outcome, error=error,
        )  # fmt: skip
        settle = jobs.finish if status == "done" else jobs.fail
        kwargs: dict[str, Any] = {"result": outcome} if status == "done" else {"error": error or outcome}
        if not settle(session=session, job=job, owner=ctx.owner, now=now, **kwargs):
            raise LeaseLost(job.id)

    await ctx.write(work)


def _plan(ctx: JobContext, job: ClaimedJob) -> page_delivery.PagePlan | str:
    key = ctx.link_key
    with ctx.database.read() as session:
        return page_delivery.plan_page(
            session=session,
            tenant=job.tenant,
            incident_id=str(job.incident_id),
            payload=job.payload,
            link_key=key,
        )


async def send_page(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Send one page through its channel (the recording sink in test mode) and write the outcome."""
    plan = await asyncio.to_thread(_plan, ctx, job)
    if isinstance(plan, str):
        return plan
    journal = ctx.journal
    if journal is not None and job.attempts > 1 and journal.contains(job.id):
        # Accepted by the provider just before a crash: catch the record up, do not page again.
        await _record(ctx, job, "sent", None, "done")
        return Settled("sent before a restart (from the sent journal)")
    channels = ctx.channels
    base_url = _base_url(ctx)
    page = _page(plan, job, base_url, ctx.now())
    try:
        channel = channels.channel_for(plan.type, livemode=plan.incident.livemode)
        receipt = await channel.send(plan.address, page)
        if journal is not None:
            journal.record(job.id)  # no await since the provider answered: nothing can run between
    except Transient as error:
        if job.attempts >= job.max_attempts:
            await _record(
                ctx, job, "failed", f"gave up after {job.attempts} attempts: {error.reason}", "failed"
            )
            raise GiveUp(error.reason) from None
        delay = timedelta(seconds=error.retry_after) if error.retry_after else None
        raise RetryLater(error.reason, delay) from None
    except Permanent as error:
        await _record(ctx, job, "failed", error.reason, "failed")
        raise GiveUp(error.reason) from None
    outcome = "sent" if plan.incident.livemode else "sink"
    await _record(ctx, job, outcome, None, "done")
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


async def _post(ctx: JobContext, job: ClaimedJob, livemode: bool, page: Page) -> Receipt:
    """Send ``page`` to the job's own channel and address (a room, or one person's notice). Nothing
    is written: the job's result is the record. A transient failure is retried by the engine, a
    permanent one fails the job."""
    try:
        channel = ctx.channels.channel_for(str(job.payload["type"]), livemode=livemode)
        return await channel.send(str(job.payload["address"]), page)
    except Transient as error:
        delay = timedelta(seconds=error.retry_after) if error.retry_after else None
        raise RetryLater(error.reason, delay) from None
    except Permanent as error:
        raise GiveUp(error.reason) from None


async def announce(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Post an incident event to one of its service's rooms (Slack, Teams, a webhook)."""
    plan, key = await asyncio.to_thread(_announcement, ctx, job)
    if plan is None:
        return "incident deleted"
    event = str(job.payload["event"])
    view = _view_url(key, job, _base_url(ctx), ctx.now(), None, None)
    page = _incident_page(_as_announced(plan, event), job, view, event=event)
    receipt = await _post(ctx, job, plan.livemode, page)
    return f"posted {event} to {job.payload['type']}: {receipt.detail or ''}".rstrip(": ")


async def send_notice(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Tell one person, on a channel that paged them, that someone else acknowledged or resolved the
    incident. Like a room post it changes nothing in the database, so the job's result is its record;
    the key (and so the email's Message-ID) is stable across retries."""
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
        _view_url(key, job, base_url, now, user_id, user_name),
        event=event,
        recipient_name=user_name,
        changed_by=str(job.payload["actor_name"]),
        resolve_url=_view_url(key, job, base_url, now, user_id, user_name, "resolve") if resolve else None,
    )
    receipt = await _post(ctx, job, plan.livemode, page)
    outcome = "sent" if plan.livemode else "sink"
    return f"{outcome} {event} notice by {job.payload['type']}: {receipt.provider_id or ''}".rstrip(": ")


def handlers() -> dict[str, Handler]:
    return {
        paging.ANNOUNCE: announce,
        paging.NOTICE: send_notice,
        paging.ESCALATE: run_step,
        paging.NOTIFY: send_page,
        paging.SNOOZE_EXPIRY: expire_snooze,
        paging.ACK_TIMEOUT: ack_timed_out,
    }
