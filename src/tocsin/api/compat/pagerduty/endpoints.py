"""PagerDuty's Events API, so PagerDuty's own clients (and every tool with a PagerDuty output)
send to Tocsin by changing only the host.

- ``POST /v2/enqueue``: Events API v2 alert events (trigger, acknowledge, resolve).
- ``POST /v2/change/enqueue``: Events API v2 change events, stored on the service
  (``GET /api/services/{id}/change-events``); they never open an incident.
- ``POST /generic/2010-04-15/create_event.json``: Events API v1.

The routing key (v1: ``service_key``) in the body is the credential, as at PagerDuty: these paths
are outside ``/api`` and take no API key. Keys of integrations of type ``events_api_v2`` (the
default), ``events_api_v1`` and ``pagerduty`` are accepted; any other key is unknown here.

Severity to urgency, as the native ``POST /api/events``:

============  =======
severity      urgency
============  =======
critical      HIGH
error         HIGH
warning       MEDIUM
info          LOW
============  =======

v1 events carry no severity: they open HIGH-urgency incidents with no severity.

Answers are PagerDuty's (developer-docs ``events-API-v2``/``events-API-v1``, the ``api-schema``
OpenAPI files, and error texts PagerDuty returned as quoted in public bug reports):

- v2 accepted: ``202 {"status":"success","message":"Event processed","dedup_key":"..."}``;
  change event: ``202 {"status":"success","message":"Change event processed"}``;
  v1 accepted: ``200 {"status":"success","message":"Event processed","incident_key":"..."}``.
- Invalid: ``400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}``
  with every problem found, e.g. ``'payload.severity' is missing or blank``; an unknown key
  gives ``Invalid routing key`` (v1: ``Invalid service key``).
- Not JSON, or not a JSON object: ``400 {"status":"Unrecognized object","message":"Event object
  format is unrecognized","errors":["JSON parse error"]}`` (v1 spells the status in lower case).
- Over 512 KB (PagerDuty's limit per event): ``413`` with the invalid-event body. Bodies over the
  server-wide ``max_body_bytes`` (1 MB by default) are stopped earlier, by ``BodySizeLimit``,
  with the same body (``OVERSIZE``).
- Throttled by the per-integration or per-org alert limit (triggers and change events count):
  ``429`` (v1: ``403``, as PagerDuty v1) with ``Retry-After`` and
  ``{"status":"throttled","message":"Request Limit Exceeded","errors":[...]}``; PagerDuty
  documents only the code and "Request Limit Exceeded", the status word is ours. Acknowledge and
  resolve are never throttled.

An acknowledge or resolve for a dedup key with no open incident is accepted and changes nothing.
``images``, ``links``, ``client`` and ``client_url`` (v1: ``contexts``, ``details``) stay in the
alert's raw payload; links (v1: link contexts) go onto the incident. The routing key is not kept.
A ``custom_details`` that is not an object is kept as ``{"details": value}``.

Bodies are read into events by ``pagerduty_fields``; this module holds the endpoints and answers."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from tocsin.api.compat.common import find_route, integration_actor, submit
from tocsin.api.compat.pagerduty.fields import (
    Problems,
    details_of,
    native_links,
    payload_of,
    timestamp_of,
    v1_event,
    v2_event,
)
from tocsin.api.errors import ApiError
from tocsin.api.middleware import LabelledRoute
from tocsin.api.oversize import TooLarge, too_large_message
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.ingest import change_events
from tocsin.services.writes.group_commit import call_each

ACCEPTED_TYPES = frozenset({"events_api_v2", "events_api_v1", "pagerduty"})
MAX_EVENT_BYTES = 512 * 1024


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _invalid(errors: list[str], status: int = 400) -> Response:
    return _json(status, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})


def _unrecognized(status_word: str) -> Response:
    body = {
        "status": status_word,
        "message": "Event object format is unrecognized",
        "errors": ["JSON parse error"],
    }
    return _json(400, body)


def _refused(exc: ApiError, throttled_status: int) -> Response:
    """The alert limits (or their store being down) in PagerDuty's error shape."""
    if exc.code == "RATE_LIMITED":
        body = {"status": "throttled", "message": "Request Limit Exceeded", "errors": [exc.message]}
        return _json(throttled_status, body, exc.headers)
    if exc.code == "SERVICE_UNAVAILABLE":
        body = {"status": "unavailable", "message": exc.message, "errors": [exc.message]}
        return _json(503, body, exc.headers)
    raise exc


async def _decode(request: Request, unrecognized: str) -> dict[str, Any] | Response:
    """The event as a JSON object, or the answer PagerDuty gives when it is not one."""
    raw = await request.body()
    if len(raw) > MAX_EVENT_BYTES:
        return _invalid([f"Event is larger than the {MAX_EVENT_BYTES // 1024} KB limit"], status=413)
    try:
        decoded = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return _unrecognized(unrecognized)
    return decoded if isinstance(decoded, dict) else _unrecognized(unrecognized)


async def _route(request: Request, key: str) -> IngestRoute | None:
    route = await find_route(request, key)
    return route if route is not None and route.integration_type in ACCEPTED_TYPES else None


async def enqueue(request: Request) -> Response:
    """``POST /v2/enqueue``: one alert event, answered once it is committed."""
    body = await _decode(request, "Unrecognized object")
    if isinstance(body, Response):
        return body
    problems = Problems()
    routing_key = problems.text(body, "routing_key", "'routing_key'", required=True)
    event = v2_event(body, problems)
    if problems.errors or event is None or routing_key is None:
        return _invalid(problems.errors)
    route = await _route(request, routing_key)
    if route is None:
        return _invalid(["Invalid routing key"])
    try:
        [result] = await submit(request, route, [event], integration_actor(route))
    except ApiError as exc:
        return _refused(exc, throttled_status=429)
    return _json(202, {"status": "success", "message": "Event processed", "dedup_key": result.dedup_key})


async def enqueue_change(request: Request) -> Response:
    """``POST /v2/change/enqueue``: a change event, stored on the routing key's service."""
    body = await _decode(request, "Unrecognized object")
    if isinstance(body, Response):
        return body
    problems = Problems()
    routing_key = problems.text(body, "routing_key", "'routing_key'", required=True)
    payload = payload_of(problems, body)
    summary = source = timestamp = None
    if payload is not None:
        summary = problems.text(payload, "summary", "'payload.summary'", required=True, max_length=1024)
        source = problems.text(payload, "source", "'payload.source'")
        timestamp = timestamp_of(problems, payload)
    links = problems.items(body, "links", "href")
    problems.items(body, "images", "src")
    if problems.errors or routing_key is None or payload is None or summary is None:
        return _invalid(problems.errors)
    route = await _route(request, routing_key)
    if route is None:
        return _invalid(["Invalid routing key"])
    state = request.app.state
    try:
        await state.alert_limits.check(route)
    except ApiError as exc:
        return _refused(exc, throttled_status=429)
    record = functools.partial(
        change_events.record_change_event,
        route=route,
        summary=summary,
        source=source,
        timestamp=timestamp,
        custom_details=details_of(payload.get("custom_details")),
        links=native_links(links),
        now=state.clock.now(),
    )
    await state.committer.run(call_each, record)
    return _json(202, {"status": "success", "message": "Change event processed"})


async def create_event_v1(request: Request) -> Response:
    """``POST /generic/2010-04-15/create_event.json``: Events API v1, answered 200."""
    body = await _decode(request, "unrecognized object")
    if isinstance(body, Response):
        return body
    problems = Problems()
    service_key = problems.text(body, "service_key", "Service key", required=True)
    event = v1_event(body, problems)
    if problems.errors or event is None or service_key is None:
        return _invalid(problems.errors)
    route = await _route(request, service_key)
    if route is None:
        return _invalid(["Invalid service key"])
    try:
        [result] = await submit(request, route, [event], integration_actor(route))
    except ApiError as exc:
        return _refused(exc, throttled_status=403)
    return _json(200, {"status": "success", "message": "Event processed", "incident_key": result.dedup_key})


def too_large(scope: Scope, max_bytes: int) -> Response:
    """A body over the server-wide limit, refused as PagerDuty refuses an event over its own."""
    return _invalid([too_large_message(max_bytes)], status=413)


# ``TOCSIN_MAX_BODY_BYTES`` answered in PagerDuty's shape on its three URLs (``api.oversize``).
OVERSIZE: tuple[tuple[str, TooLarge], ...] = (
    ("/v2/enqueue/", too_large),
    ("/v2/change/enqueue/", too_large),
    ("/generic/2010-04-15/create_event.json/", too_large),
)


def routes() -> list[BaseRoute]:
    """The three PagerDuty paths, as plain Starlette routes like ``POST /api/events``."""
    return [
        LabelledRoute("/v2/enqueue", enqueue, methods=["POST"]),
        LabelledRoute("/v2/change/enqueue", enqueue_change, methods=["POST"]),
        LabelledRoute("/generic/2010-04-15/create_event.json", create_event_v1, methods=["POST"]),
    ]
