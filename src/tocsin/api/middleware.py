"""Pure ASGI middleware (never ``BaseHTTPMiddleware``, which costs ~80% of throughput; DESIGN.md §2)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.api import auth
from tocsin.api.access_log import UNMATCHED, AccessLog, key_id_of
from tocsin.api.auth import KeyResolver
from tocsin.api.dialects import NATIVE, Credentials, Dialect, Dialects
from tocsin.api.errors import ApiError
from tocsin.api.metrics import Metrics
from tocsin.api.oversize import TooLarge, native_too_large
from tocsin.api.ratelimit import Decision, LimiterUnavailable, RateLimiter
from tocsin.api.usage import KeyUsageTracker
from tocsin.domain.api_keys import key_mode
from tocsin.domain.roles import is_read_only as role_is_read_only
from tocsin.domain.scopes import is_read_only
from tocsin.services.access.keys import KeyRecord

log = logging.getLogger("tocsin.http")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LabelledRoute(Route):
    """A plain Starlette route that leaves itself in the scope, as FastAPI's routes do, so metrics
    label it by its template (``/api/events``) rather than as unmatched."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:
            child_scope = {**child_scope, "route": self}
        return match, child_scope


class Observability:
    """Request id in and out, latency and count by route template, and the access line."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: AccessLog | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log or AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(scope["method"], template, status, elapsed)
            self.access_log.request(
                method=scope["method"],
                route=template,
                status=status,
                seconds=elapsed,
                request_id=request_id,
                key_id=key_id_of(scope),
            )


class BodySizeLimit:
    """413 for bodies over the limit, declared or streamed: PAYLOAD_TOO_LARGE in the native
    envelope, or in the shape of the URL space the body was sent to (``answer``, an
    ``oversize.OversizeAnswers``)."""

    def __init__(self, app: ASGIApp, max_bytes: int, answer: TooLarge | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No length declared (chunked): read it all, within the limit, then replay it.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.answer is not None:
            response = self.answer(scope, self.max_bytes)
        else:
            response = native_too_large(self.max_bytes)
        await response(scope, receive, send)


def rate_category(method: str, path: str) -> str:
    if method == "POST" and path.rstrip("/") == "/api/events":
        return "events"
    return "read" if method in READ_METHODS else "write"


class Refused(ApiError):
    """What the gate answers instead of the route: an ``ApiError`` it renders itself, in the words
    of the path's dialect (``render``), since no route and no exception handler runs after it."""

    def render(self, dialect: Dialect) -> Response:
        return dialect.render(self.code, self.message, self.details, self.headers, self.extra)


def limiter_unavailable() -> Refused:
    """The 503 when the limiter's store cannot be reached: a request is never let through unchecked."""
    return Refused(
        "SERVICE_UNAVAILABLE", "Rate limiter unavailable; retry shortly", headers={"Retry-After": "5"}
    )


def too_many(decision: Decision, what: str = "requests", details: Mapping[str, Any] | None = None) -> Refused:
    """The 429 for a refused ``decision``, with Retry-After and the X-RateLimit headers."""
    retry = decision.retry_after(time.time())
    return Refused(
        "RATE_LIMITED",
        f"Too many {what}. Retry after {retry} seconds.",
        {**(details or {}), "limit": decision.limit},
        headers={**decision.headers(), "Retry-After": str(retry)},
        extra={"retry_after": retry},
    )


async def admit(
    *,
    resolver: KeyResolver,
    limiter: RateLimiter,
    usage: KeyUsageTracker,
    dialect: Dialect,
    credentials: Credentials,
    method: str,
    path: str,
    client: tuple[str, int] | None,
) -> tuple[KeyRecord, dict[str, str]]:
    """Who is calling (401/403), may they write (403 for read-only keys), may they call again (429,
    or 503 if the limiter's store is down): the key and the X-RateLimit headers every answer
    carries, or ``Refused``. One decision for the gate and the events lane (``api.ingest.fastlane``)."""
    secret = credentials.secret
    record = await resolver.resolve(secret) if secret else None
    if secret:
        if record is None:
            reason = auth.NOT_A_KEY if key_mode(secret) is None else auth.UNKNOWN_OR_REVOKED
        elif not dialect.admits(record, credentials):
            record, reason = None, auth.NOT_FOR_THIS_URL
        if record is None:
            resolver.rejected.refused(secret, client[0] if client else "unknown", reason)
    try:
        if record is None:
            # Unauthenticated callers are throttled by address, so guessing keys is slow too.
            decision = await limiter.hit("read", f"anon:{client[0] if client else 'unknown'}")
        else:
            decision = await limiter.hit(rate_category(method, path), record.id, record.org_rate_limits)
    except LimiterUnavailable:
        log.error("rate limiter store unreachable; refusing request")
        raise limiter_unavailable() from None
    headers = decision.headers()
    if not decision.allowed:
        raise too_many(decision)
    if record is None:
        missing = not secret
        message = "Missing API key: send Authorization: Bearer sk_..." if missing else "Invalid API key"
        raise Refused("UNAUTHORIZED", message, {"missing": missing}, headers=headers)
    if method not in READ_METHODS and is_read_only(record.scopes):
        raise Refused(
            "FORBIDDEN",
            "This API key is read-only: only GET requests are allowed",
            {"read_only": True},
            headers=headers,
        )
    if method not in READ_METHODS and record.user_id is not None and role_is_read_only(record.user_role):
        raise Refused(
            "FORBIDDEN",
            f"This API key acts as a user whose role ({record.user_role}) is read-only: "
            "only GET requests are allowed",
            {"read_only": True, "role": record.user_role},
            headers=headers,
        )
    usage.track(record.id)
    return record, headers


class ApiGate:
    """For every API dialect's URL space (``api.dialects``): ``admit`` before any route runs, the
    refusal in the dialect's words, and the X-RateLimit headers on every answer."""

    def __init__(
        self,
        app: ASGIApp,
        resolver: KeyResolver,
        limiter: RateLimiter,
        usage: KeyUsageTracker,
        dialects: Dialects | None = None,
        open_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.limiter = limiter
        self.usage = usage
        self.dialects = dialects or Dialects([NATIVE])
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        dialect = self.dialects.for_path(path) if scope["type"] == "http" else None
        if dialect is None or path in self.open_paths:
            await self.app(scope, receive, send)
            return
        try:
            record, headers = await admit(
                resolver=self.resolver,
                limiter=self.limiter,
                usage=self.usage,
                dialect=dialect,
                credentials=dialect.credentials(Headers(scope=scope)),
                method=scope["method"],
                path=path,
                client=scope.get("client"),
            )
        except Refused as refused:
            await refused.render(dialect)(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state["key"] = record

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    if name not in response_headers:
                        response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
