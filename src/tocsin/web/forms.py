"""What every screen's form POST shares: run the service in one transaction off the event loop,
and turn a refusal into the status the API gives the same refusal (the message stays the
service's, so a person reads what a script would)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.errors import ServiceError

T = TypeVar("T")

# The API's status for each error code (api/envelope), for the pages' answers.
STATUS: Final = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "RATE_LIMITED": 429,
    "SERVICE_UNAVAILABLE": 503,
}


def status_of(error: ServiceError) -> int:
    return STATUS.get(error.code, 500)


async def writing(request: Request, work: Callable[[Any], T]) -> T:
    """``work(session)`` in one write transaction, in a worker thread."""
    db = request.app.state.db

    def run() -> T:
        with db.write() as session:
            return work(session)

    return await run_in_threadpool(run)


async def reading(request: Request, work: Callable[[Any], T]) -> T:
    """``work(session)`` in one read transaction, in a worker thread."""
    db = request.app.state.db

    def run() -> T:
        with db.read() as session:
            return work(session)

    return await run_in_threadpool(run)


def require(person: SignedIn, action: Action) -> None:
    """403 unless the person's role allows ``action`` (an observer changes nothing)."""
    if not person.can(action):
        raise HTTPException(403, "Your role in this organization may only read.")
