"""Opsgenie's answers: ``202`` with its "Request will be processed" body once the event is committed,
and its error body (``message``, ``took``, ``requestId``) for every refusal, said the way its SDKs
parse them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from tocsin.api.compat.common import ApiError
from tocsin.api.errors import service_error_headers
from tocsin.api.oversize import TooLarge, too_large_message
from tocsin.services.errors import STATUS_FOR_CODE, Invalid, ServiceError

NOT_PROCESSABLE = "Request body is not processable. Please check the errors."
ACCEPTED = {"result": "Request will be processed"}


class Refusal(Exception):
    """An Opsgenie error answer: the status and the body fields besides ``took`` and ``requestId``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_processable(errors: dict[str, str]) -> Refusal:
    return Refusal(422, {"message": NOT_PROCESSABLE, "errors": errors})


def _request_id(request: Request) -> str:
    """The id the request carries in ``X-Request-Id``, in Opsgenie's UUID form when it is one."""
    rid = str(getattr(request.state, "request_id", "") or uuid.uuid4().hex)
    try:
        return str(uuid.UUID(rid))
    except ValueError:
        return rid


def _render(
    request: Request, started: float, status: int, body: dict[str, Any], headers: dict[str, str]
) -> Response:
    took = round(max(time.perf_counter() - started, 0.001), 3)
    answer = {**body, "took": took, "requestId": _request_id(request)}
    return Response(
        orjson.dumps(answer),
        status_code=status,
        media_type="application/json",
        headers={
            "X-Response-Time": str(took),
            "X-RateLimit-State": "THROTTLED" if status == 429 else "OK",
            **headers,
        },
    )


def too_large(scope: Scope, max_bytes: int) -> Response:
    """A body over the server-wide limit, in Opsgenie's shape (``took``, ``requestId``)."""
    return _render(Request(scope), time.perf_counter(), 413, {"message": too_large_message(max_bytes)}, {})


# ``TOCSIN_MAX_BODY_BYTES`` answered in Opsgenie's shape on its URLs (``api.oversize``).
OVERSIZE: tuple[tuple[str, TooLarge], ...] = (("/v2/alerts/", too_large),)


def _refusal_for(exc: ApiError | ServiceError) -> Refusal:
    """The shared helpers' and services' errors, said the way Opsgenie says them."""
    if isinstance(exc, ApiError) and exc.code == "RATE_LIMITED":
        return Refusal(429, {"message": f"You are making too many requests! {exc.message}"}, exc.headers)
    if isinstance(exc, Invalid):
        return not_processable({str(exc.details.get("field", "body")): exc.message})
    headers = exc.headers if isinstance(exc, ApiError) else service_error_headers(exc)
    return Refusal(STATUS_FOR_CODE.get(exc.code, 500), {"message": exc.message}, headers)


def endpoint(work: Callable[[Request], Awaitable[None]]) -> Callable[[Request], Awaitable[Response]]:
    """Wrap an action: 202 with Opsgenie's body when it returns, Opsgenie's error body otherwise."""

    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        try:
            await work(request)
        except Refusal as refusal:
            return _render(request, started, refusal.status, refusal.body, refusal.headers)
        except (ApiError, ServiceError) as exc:
            said = _refusal_for(exc)
            return _render(request, started, said.status, said.body, said.headers)
        return _render(request, started, 202, ACCEPTED, {})

    return handle
