"""Proving a contact method works: ``send-verification`` and ``verify`` (a 6-digit code), ``test``
(a labelled test page), and ``checks/{id}`` to read a check's outcome.

Only the engine calls channels, so a send is a durable ``contact_check`` job (written with its
row in one transaction); the route then waits, a bounded time (``contact_check_wait_seconds``), for
the engine to write the outcome, and answers 200 with it, or 202 with the check to poll when the
engine has not answered in time. Authorization is that of the contact-method routes: a user's own
key, or ``users:write`` for anyone's in the org.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tocsin.api.deps import Db, Now
from tocsin.api.routes.contacts import SelfRead, SelfWrite
from tocsin.api.schemas.common import Envelope, envelope
from tocsin.api.schemas.contacts import ContactCheckRead, ContactMethodRead, VerifyBody
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.access.keys import KeyRecord
from tocsin.services.people import contact_checks

router = APIRouter(prefix="/api/users/{user_id}/contact-methods/{method_id}", tags=["users"])

_FIRST_LOOK = 0.02  # seconds: the engine often answers within a few of these
_LONGEST_LOOK = 0.25


def _read_check(db: Database, tenant: Tenant, check_id: str) -> ContactCheckRead | None:
    with db.read() as session:
        check = contact_checks.outcome_of(session=session, tenant=tenant, check_id=check_id)
        return None if check is None else ContactCheckRead.model_validate(check)


async def _await_outcome(
    db: Database, tenant: Tenant, check: ContactCheckRead, seconds: float
) -> ContactCheckRead:
    """The check once the engine wrote its outcome, or as it stands after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pause = _FIRST_LOOK
    current = check
    while current.outcome == contact_checks.PENDING and loop.time() < deadline:
        await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
        pause = min(pause * 2, _LONGEST_LOOK)
        found = await asyncio.to_thread(_read_check, db, tenant, check.id)
        if found is None:
            break
        current = found
    return current


def _answer(request: Request, check: ContactCheckRead) -> JSONResponse:
    body = envelope(check.model_dump(mode="json"))
    if check.outcome != contact_checks.PENDING:
        return JSONResponse(body)
    path = request.url.path.rsplit("/", 1)[0] + f"/checks/{check.id}"
    return JSONResponse(body, status_code=202, headers={"Location": path})


async def _send(
    request: Request, user_id: str, method_id: str, kind: str, key: KeyRecord, db: Database, now: datetime
) -> JSONResponse:
    def start() -> ContactCheckRead:
        with db.write() as session:
            check = contact_checks.request_check(
                session=session, tenant=key.tenant, user_id=user_id, method_id=method_id, kind=kind, now=now
            )
            return ContactCheckRead.model_validate(check)

    check = await asyncio.to_thread(start)
    settings: Settings = request.app.state.settings
    return _answer(request, await _await_outcome(db, key.tenant, check, settings.contact_check_wait_seconds))


_OUTCOME = (
    " Answers 200 with the outcome (`delivered`, or `failed` with the provider's `error`) once the "
    "engine answered; 202 with `outcome: pending` and a `Location` to poll when it did not answer "
    "within the server's wait (30 s by default); 429 RATE_LIMITED with `retry_after` when sent too "
    "often."
)


@router.post(
    "/send-verification",
    response_model=Envelope[ContactCheckRead],
    summary="Send a verification code to a contact method",
    description='Sends "Your Tocsin verification code is 123456" through the method\'s own channel; '
    "the code works for 10 minutes, once, and at most 5 wrong tries. At most one a minute and five an "
    "hour; 409 CONFLICT when the method is already verified." + _OUTCOME,
    responses={202: {"description": "Still being sent: poll the Location"}},
)
async def send_verification(
    request: Request, user_id: str, method_id: str, key: SelfWrite, db: Db, now: Now
) -> JSONResponse:
    """A code through the method's own channel (the API docs come from ``description``)."""
    return await _send(request, user_id, method_id, contact_checks.VERIFICATION, key, db, now)


@router.post(
    "/verify",
    response_model=Envelope[ContactMethodRead],
    summary="Verify a contact method with the code sent to it",
)
def verify(
    user_id: str, method_id: str, body: VerifyBody, key: SelfWrite, db: Db, now: Now
) -> dict[str, Any]:
    """The right code marks the method verified (and answers it). A wrong, expired, locked or
    missing code is 400 VALIDATION_ERROR with `details.reason` (`wrong_code` with
    `attempts_left`, `expired`, `locked`, `no_code`, `not_delivered`, `address_changed`) and a
    message that says what to do; an already verified method is 409 CONFLICT."""
    with db.write() as session:
        outcome = contact_checks.verify_code(
            session=session, tenant=key.tenant, user_id=user_id, method_id=method_id, code=body.code, now=now
        )
        answer = envelope(ContactMethodRead.model_validate(outcome.method))
    if outcome.refusal is not None:
        raise outcome.refusal  # after the commit, so a wrong attempt stays counted
    return answer


@router.post(
    "/test",
    response_model=Envelope[ContactCheckRead],
    summary="Send a test notification to a contact method",
    description='Sends "[TEST] Tocsin test notification — no action needed" through the method\'s own '
    "channel (verified or not); at most one every 30 s and ten an hour." + _OUTCOME,
    responses={202: {"description": "Still being sent: poll the Location"}},
)
async def send_test(
    request: Request, user_id: str, method_id: str, key: SelfWrite, db: Db, now: Now
) -> JSONResponse:
    """A labelled test page through the method's own channel (docs: ``description``)."""
    return await _send(request, user_id, method_id, contact_checks.TEST, key, db, now)


@router.get(
    "/checks/{check_id}",
    response_model=Envelope[ContactCheckRead],
    summary="A verification code's or test notification's outcome",
)
def get_check(user_id: str, method_id: str, check_id: str, key: SelfRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        check = contact_checks.get_check(
            session=session, tenant=key.tenant, user_id=user_id, method_id=method_id, check_id=check_id
        )
        return envelope(ContactCheckRead.model_validate(check))
