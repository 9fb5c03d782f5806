"""``POST /api/events`` served ahead of FastAPI and the generic middleware stack.

Why: under an alert storm this one route is most of the traffic, and the generic path spent more
time in layers than in the event (FastAPI's and Starlette's own middleware, then ours:
Observability, BodySizeLimit, ApiGate, each wrapping ``send`` and re-parsing headers). The lane
does the same jobs once, in one function, on the raw ASGI scope: request id, body limit (413), the
native dialect's auth (the three header forms, 401, 403 for read-only keys), the per-key events
limit with its X-RateLimit headers (429, 503 when the store is down: never fail open), usage
tally, then ``routes.events.accept`` and the metrics. Answers are the same bytes, envelope and
headers the generic path gives; every other request goes to FastAPI untouched (``App``).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tocsin.api.access_log import AccessLog
from tocsin.api.auth import KeyResolver
from tocsin.api.dialects import NATIVE, Credentials
from tocsin.api.envelope import error_response
from tocsin.api.errors import ApiError, service_error_headers
from tocsin.api.ingest.events import accept, accepted_body
from tocsin.api.metrics import Metrics
from tocsin.api.middleware import Refused, admit
from tocsin.api.oversize import native_too_large
from tocsin.api.ratelimit import RateLimiter
from tocsin.api.slashes import merge_slashes
from tocsin.api.usage import KeyUsageTracker
from tocsin.domain.api_keys import secret_from_headers
from tocsin.services.errors import ServiceError

log = logging.getLogger("tocsin.http")

PATH = "/api/events"
ROUTE = "/api/events"  # the metrics label, as the generic path names the route
_WANTED = frozenset({b"authorization", b"x-api-key", b"x-request-id", b"content-length"})
_JSON = (b"content-type", b"application/json")


class _Disconnected(Exception):
    """The client went away before its body arrived: nothing to answer."""


class _Answer(Exception):
    """An early answer (413, 401, 403, 429, 503): status, body and headers, ready to send."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class EventsLane:
    """The ASGI app of ``POST /api/events`` alone; ``App`` sends it those requests."""

    def __init__(
        self,
        *,
        state: Any,
        resolver: KeyResolver,
        limiter: RateLimiter,
        usage: KeyUsageTracker,
        metrics: Metrics,
        max_bytes: int,
        access_log: AccessLog | None = None,
    ) -> None:
        self.state = state  # the app's State: routes, alert limits, clock, committer, metrics
        self.resolver = resolver
        self.limiter = limiter
        self.usage = usage
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.access_log = access_log or AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                headers.setdefault(name.decode(), value.decode("latin-1"))
        request_id = headers.get("x-request-id") or _request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        try:
            status, body, extra = await self._answer(scope, receive, headers)
            raw_headers = [
                _JSON,
                (b"content-length", str(len(body)).encode()),
                *extra,
                (b"x-request-id", request_id.encode("latin-1")),
            ]
            await send({"type": "http.response.start", "status": status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": body})
        except _Disconnected:
            return
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe_request("POST", ROUTE, status, elapsed)
            key = state.get("key")
            self.access_log.request(
                method="POST",
                route=ROUTE,
                status=status,
                seconds=elapsed,
                request_id=request_id,
                key_id=key.id if key is not None else None,
            )

    async def _answer(
        self, scope: Scope, receive: Receive, headers: dict[str, str]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """The status, body and extra headers; never raises for anything the client did."""
        limit_headers: dict[str, str] = {}
        try:
            raw = await self._body(receive, headers.get("content-length"))
            key, limit_headers = await self._gate(scope, headers)
            result = await accept(self.state, key, raw)
            return 202, accepted_body(result), _encode(limit_headers)
        except _Answer as answer:
            response = answer.response
        except ApiError as exc:
            response = error_response(exc.code, exc.message, exc.details, exc.headers, exc.extra)
        except ServiceError as exc:
            response = error_response(exc.code, exc.message, exc.details, service_error_headers(exc))
        except IntegrityError as exc:
            log.info("unique constraint race answered as 409: %s", exc)
            response = error_response(
                "CONFLICT", "The request conflicts with an existing record; retry or change it."
            )
        except _Disconnected:
            raise
        except Exception:
            log.exception("unhandled error on POST %s", PATH)
            response = error_response("INTERNAL_ERROR", "Internal server error; it has been logged.")
        extra = [
            (name, value)
            for name, value in response.raw_headers
            if name not in (b"content-type", b"content-length")
        ]
        present = {name for name, _ in extra}
        extra += [pair for pair in _encode(limit_headers) if pair[0] not in present]
        return response.status_code, bytes(response.body), extra

    async def _body(self, receive: Receive, declared: str | None) -> bytes:
        """The whole body, refusing (413) one over the limit, declared or streamed."""
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > self.max_bytes:
                raise self._too_large()
            return body
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> _Answer:
        return _Answer(native_too_large(self.max_bytes))

    async def _gate(self, scope: Scope, headers: dict[str, str]) -> tuple[Any, dict[str, str]]:
        """``api.middleware.admit`` for this one route in the native dialect: the key, and the
        X-RateLimit headers every later answer carries."""
        try:
            key, limit_headers = await admit(
                resolver=self.resolver,
                limiter=self.limiter,
                usage=self.usage,
                dialect=NATIVE,
                credentials=Credentials(secret_from_headers(headers)),
                method="POST",
                path=PATH,
                client=scope.get("client"),
            )
        except Refused as refused:
            raise _Answer(refused.render(NATIVE)) from None
        scope["state"]["key"] = key  # as the gate leaves it: the access line names its id
        return key, limit_headers


def _encode(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class App(FastAPI):
    """FastAPI with the events lane in front of all its own per-request work (the telemetry
    check, the error and exception middleware, ours). Repeated slashes in the path are merged
    first (``api.slashes``). Everything but ``POST /api/events`` is served exactly as by
    ``FastAPI``."""

    lane: EventsLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = merge_slashes(scope)  # before any routing, the lane's included (nginx's way)
        lane = self.lane
        if (
            lane is not None
            and scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "POST"
        ):
            await lane(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def install(app: App, *, max_bytes: int, access_log: AccessLog | None = None) -> None:
    """Give ``app`` its lane, built on the services the app keeps on ``app.state``."""
    state = app.state
    app.lane = EventsLane(
        state=state,
        resolver=state.resolver,
        limiter=state.limiter,
        usage=state.usage,
        metrics=state.metrics,
        max_bytes=max_bytes,
        access_log=access_log,
    )


_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def _request_id() -> str:
    """32 hex digits like ``uuid4().hex``, unique in this process without a ``urandom`` call per
    request: a random per-process half and a counter."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"
