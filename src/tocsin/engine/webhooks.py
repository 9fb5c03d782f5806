"""The webhook delivery job: read the delivery, POST it with no transaction open, record the attempt.

A delivery already succeeded is never sent again (a job retried after a crash between the POST and
the job's own bookkeeping), and ``X-Tocsin-Delivery`` lets a receiver drop the rare duplicate a crash
between the POST and ``record_attempt`` can still cause. Test-mode deliveries go through the whole
pipeline but end at a sink: test-mode data never leaves the server.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from tocsin.domain.webhook_events import TEST_EVENT
from tocsin.engine.base import GiveUp, Handler, JobContext, RetryLater
from tocsin.notify.outbound import Attempt, post_signed
from tocsin.services.deliveries.attempts import record_attempt as record_channel_attempt
from tocsin.services.jobs import ClaimedJob
from tocsin.services.webhooks import deliveries as webhook_deliveries

log = logging.getLogger("tocsin.engine")

# A receiver asking for more than this in Retry-After is retried after this.
MAX_RETRY_AFTER: Final = timedelta(hours=1)


def _timeout(ctx: JobContext) -> float:
    return ctx.settings.webhook_timeout_seconds


def _delay(attempt: Attempt) -> timedelta | None:
    if attempt.retry_after is None:
        return None
    if attempt.retry_after >= MAX_RETRY_AFTER.total_seconds():
        return MAX_RETRY_AFTER
    return timedelta(seconds=attempt.retry_after)


async def deliver_webhook(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Send one delivery (``payload["delivery_id"]``) and log the attempt on it; raises ``RetryLater``
    for a 5xx, 429, timeout or connection error and ``GiveUp`` for any other failure or the last try."""
    delivery_id = job.payload.get("delivery_id")
    if not isinstance(delivery_id, str):
        raise GiveUp("webhook job without a delivery_id")
    tenant = job.tenant
    with ctx.database.read() as session:
        target = webhook_deliveries.delivery_target(session=session, tenant=tenant, delivery_id=delivery_id)
    if target is None:
        return "not sent: the webhook (and its delivery) was deleted"
    if target.status != "pending":
        return f"not sent again: the delivery already {target.status}"
    if not target.enabled and target.event != TEST_EVENT:  # a test may check a receiver before enabling
        with ctx.database.write() as session:
            webhook_deliveries.record_attempt(
                session=session,
                tenant=tenant,
                delivery_id=delivery_id,
                at=ctx.now(),
                status_code=None,
                latency_ms=None,
                error="not sent: the webhook is disabled",
                succeeded=False,
                final=True,
            )
        return "not sent: the webhook is disabled"
    if not tenant.livemode:
        with ctx.database.write() as session:
            webhook_deliveries.record_attempt(
                session=session,
                tenant=tenant,
                delivery_id=delivery_id,
                at=ctx.now(),
                status_code=None,
                latency_ms=None,
                error=None,
                succeeded=True,
                final=True,
                sink=True,
            )
        return "test mode: recorded to the sink, not sent"

    attempt = await post_signed(
        ctx.http,
        target.url,
        target.secret,
        target.body,
        event=target.event,
        delivery_id=target.delivery_id,
        timeout=_timeout(ctx),
    )
    last_try = job.attempts >= job.max_attempts
    final = attempt.succeeded or not attempt.retryable or last_try
    at = ctx.now()
    with ctx.database.write() as session:
        webhook_deliveries.record_attempt(
            session=session,
            tenant=tenant,
            delivery_id=delivery_id,
            at=at,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
            succeeded=attempt.succeeded,
            final=final,
        )
        # The channel-health view counts what the receiver answered, in the same transaction.
        failure = None if attempt.succeeded else attempt.error or f"HTTP {attempt.status_code}"
        record_channel_attempt(
            session=session, tenant=tenant, channel="webhook", ok=attempt.succeeded, error=failure, now=at
        )
    if attempt.succeeded:
        ctx.metrics.webhook_delivery("succeeded")
        return f"delivered: HTTP {attempt.status_code}"
    reason = attempt.error or f"HTTP {attempt.status_code}"
    retrying = not final
    ctx.metrics.webhook_delivery("retried" if retrying else "failed")
    _log_failure(job, target, reason, status_code=attempt.status_code, retrying=retrying)
    if not attempt.retryable:
        raise GiveUp(reason)
    if last_try:
        raise GiveUp(f"{reason} (attempt {job.attempts} of {job.max_attempts}; giving up)")
    raise RetryLater(reason, delay=_delay(attempt))


def _log_failure(
    job: ClaimedJob,
    target: webhook_deliveries.DeliveryTarget,
    reason: str,
    *,
    status_code: int | None,
    retrying: bool,
) -> None:
    """One line per failed attempt, so an operator sees a receiver going bad before anyone reads
    its delivery log. Ids, never the URL: a webhook URL often carries its receiver's secret."""
    log.warning(
        "webhook delivery %s failed: %s (attempt %d of %d; %s)",
        target.delivery_id,
        reason,
        job.attempts,
        job.max_attempts,
        "retrying" if retrying else "giving up",
        extra={
            "org_id": job.org_id,
            "webhook_id": target.webhook_id,
            "delivery_id": target.delivery_id,
            "webhook_event": target.event,
            "status_code": status_code,
            "attempt": job.attempts,
            "max_attempts": job.max_attempts,
            "retrying": retrying,
        },
    )


HANDLERS: Final[dict[str, Handler]] = {webhook_deliveries.JOB_KIND: deliver_webhook}
