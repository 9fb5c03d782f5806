"""The handler that sends a contact method's verification code or test page, and its words.

Like a page: the code is made (its hash stored) in one short transaction, the message goes to the
channel with no transaction open, and the outcome is written with the job's "done" in another. It
is tried once: the person is waiting for the answer, and a transient failure is theirs to see
(and send again), not a retry a minute later. Test-mode methods go to the recording sink.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from tocsin.engine.base import Handler, JobContext, LeaseLost, Settled
from tocsin.notify.base import Message, Permanent, Transient
from tocsin.services import jobs
from tocsin.services.jobs import ClaimedJob
from tocsin.services.people import contact_checks
from tocsin.services.people.contact_checks import CheckPlan

log = logging.getLogger("tocsin.engine")

TEST_SUBJECT = "[TEST] Tocsin test notification — no action needed"


def message_for(plan: CheckPlan, idempotency_key: str) -> Message:
    """The words: one short line a phone shows whole, labelled so nobody mistakes it for a page."""
    if plan.code is not None:
        text = f"Your Tocsin verification code is {plan.code}"
        digits = ", ".join(plan.code)
        return Message(
            idempotency_key=idempotency_key,
            kind="contact.verification",
            subject=text,
            text=f"{text}\n\nIt expires in 10 minutes. If you did not ask for it, ignore this message.",
            spoken=f"Your Tocsin verification code is {digits}.",
        )
    greeting = f"Hello {plan.user_name}. " if plan.user_name else ""
    return Message(
        idempotency_key=idempotency_key,
        kind="contact.test",
        subject=TEST_SUBJECT,
        text=f"{TEST_SUBJECT}\n\n{greeting}This {plan.type} contact method reaches you: "
        "pages for incidents will come the same way.",
        spoken=f"This is a Tocsin test notification. No action is needed. {greeting}"
        "Pages for incidents will reach you on this phone.",
    )


async def send_check(job: ClaimedJob, ctx: JobContext) -> str | None:
    """Send one check and write its outcome (delivered, or failed with the provider's error)."""
    check_id = str(job.payload["check_id"])

    def start(session: Session) -> CheckPlan | str:
        return contact_checks.start_check(
            session=session, tenant=job.tenant, check_id=check_id, now=ctx.now()
        )

    plan = await ctx.write(start)
    if isinstance(plan, str):
        return plan
    provider_id: str | None = None
    error: str | None = None
    try:
        channel = ctx.channels.channel_for(plan.type, livemode=plan.livemode)
        receipt = await channel.send_message(plan.address, message_for(plan, job.key))
        provider_id = receipt.provider_id
    except (Transient, Permanent) as failure:
        error = failure.reason

    # Never the code: the kind, the channel and the outcome are what an operator needs.
    if error is None:
        log.info("contact check %s: %s by %s delivered (%s)", check_id, plan.kind, plan.type, provider_id)
    else:
        log.warning("contact check %s: %s by %s failed: %s", check_id, plan.kind, plan.type, error)

    def record(session: Session) -> str:
        now = ctx.now()
        contact_checks.record_check(
            session=session,
            tenant=job.tenant,
            check_id=check_id,
            delivered=error is None,
            error=error,
            provider_id=provider_id,
            now=now,
        )
        result = f"{plan.kind} delivered" if error is None else f"{plan.kind} failed: {error}"
        if not jobs.finish(session=session, job=job, owner=ctx.owner, now=now, result=result):
            raise LeaseLost(job.id)
        return Settled(result)

    return await ctx.write(record)


HANDLERS: dict[str, Handler] = {contact_checks.CONTACT_CHECK: send_check}
