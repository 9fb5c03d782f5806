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
A ``custom_details`` that is not an object is kept as ``{"details": value}``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from tocsin.api.compat.common import find_route, integration_actor, submit
from tocsin.api.errors import ApiError
from tocsin.api.middleware import LabelledRoute
from tocsin.api.oversize import TooLarge, too_large_message
from tocsin.services import change_events
from tocsin.services.batching import call_each
from tocsin.services.catalog import IngestRoute
from tocsin.services.ingest import Action, Event

ACCEPTED_TYPES = frozenset({"events_api_v2", "events_api_v1", "pagerduty"})
MAX_EVENT_BYTES = 512 * 1024
ACTIONS: Final[dict[str, Action]] = {"trigger": "trigger", "acknowledge": "acknowledge", "resolve": "resolve"}
# In the order PagerDuty's own error text lists them.
SEVERITIES = ("critical", "warning", "error", "info")
_SEVERITY_CHOICES = "'critical', 'warning', 'error' or 'info'"
_ACTION_CHOICES = "'trigger', 'acknowledge' or 'resolve'"


class _Problems:
    """Every problem with an event, in PagerDuty's words; PagerDuty lists them all at once."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def text(
        self, obj: Mapping[str, Any], name: str, label: str, *, required: bool = False, max_length: int = 0
    ) -> str | None:
        value = obj.get(name)
        if value is None or (required and isinstance(value, str) and not value.strip()):
            if required:
                self.errors.append(f"{label} is missing or blank")
            return None
        if not isinstance(value, str):
            self.errors.append(f"{label} must be a string")
            return None
        if max_length and len(value) > max_length:
            self.errors.append(f"{label} is too long (maximum is {max_length} characters)")
            return None
        return value

    def items(self, obj: Mapping[str, Any], name: str, needs: str) -> list[dict[str, Any]]:
        """A list of objects (``links``, ``images``) each with the string field ``needs``."""
        value = obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.errors.append(f"'{name}' must be an array")
            return []
        kept: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                self.errors.append(f"'{name}[{index}]' must be an object")
                continue
            if self.text(item, needs, f"'{name}[{index}].{needs}'", required=True) is not None:
                kept.append(item)
        return kept


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


def _details(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    return {"details": value}


def _links(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Onto the incident in the native shape: ``{"href", "text"}``."""
    return [{"href": link["href"], "text": link.get("text")} for link in links]


def _without(body: Mapping[str, Any], secret: str) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != secret}


def _payload(problems: _Problems, body: Mapping[str, Any]) -> dict[str, Any] | None:
    payload = body.get("payload")
    if isinstance(payload, dict):
        return payload
    problems.errors.append(
        "'payload' is missing or blank" if payload is None else "'payload' must be an object"
    )
    return None


def _timestamp(problems: _Problems, payload: Mapping[str, Any]) -> datetime | None:
    """ISO 8601 as PagerDuty takes it (``2015-07-17T08:42:58.315+0000``, ``...Z``); UTC if naive."""
    text = problems.text(payload, "timestamp", "'payload.timestamp'")
    if text is None:
        return None
    candidate = text.strip()
    if candidate.endswith(("Z", "z")) and ("+" in candidate[10:-1] or "-" in candidate[10:-1]):
        candidate = candidate[:-1]  # "+00:00Z": an offset and a Z, as some clients write it
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        problems.errors.append("'payload.timestamp' is invalid (must be an ISO 8601 date and time)")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _action(
    problems: _Problems, body: Mapping[str, Any], name: str, label: str, invalid: str
) -> Action | None:
    text = problems.text(body, name, label, required=True)
    if text is None:
        return None
    if text not in ACTIONS:
        problems.errors.append(invalid)
        return None
    return ACTIONS[text]


def _key(
    problems: _Problems, body: Mapping[str, Any], name: str, label: str, action: Action | None
) -> str | None:
    """The dedup (v1: incident) key: optional to trigger (one is made up), needed to act on one."""
    before = len(problems.errors)
    key = problems.text(body, name, label, max_length=255)
    if action in ("acknowledge", "resolve") and not (key or "").strip() and len(problems.errors) == before:
        problems.errors.append(f"{label} is missing or blank")
    return key or None


def _v2_event(body: Mapping[str, Any], problems: _Problems) -> Event | None:
    invalid = f"'event_action' is invalid (must be one of the following: {_ACTION_CHOICES})"
    action = _action(problems, body, "event_action", "'event_action'", invalid)
    dedup_key = _key(problems, body, "dedup_key", "'dedup_key'", action)
    if action != "trigger":
        if problems.errors or action is None:
            return None
        return Event(action=action, dedup_key=dedup_key, raw=_without(body, "routing_key"))
    payload = _payload(problems, body)
    summary = source = severity = None
    if payload is not None:
        summary = problems.text(payload, "summary", "'payload.summary'", required=True, max_length=1024)
        source = problems.text(payload, "source", "'payload.source'", required=True)
        severity = problems.text(payload, "severity", "'payload.severity'", required=True)
        if severity is not None and severity not in SEVERITIES:
            problems.errors.append(
                f"'payload.severity' is invalid (must be one of the following: {_SEVERITY_CHOICES})"
            )
        for name in ("timestamp", "component", "group", "class"):
            problems.text(payload, name, f"'payload.{name}'")
    links = problems.items(body, "links", "href")
    problems.items(body, "images", "src")
    problems.text(body, "client", "'client'")
    problems.text(body, "client_url", "'client_url'")
    if problems.errors or payload is None:
        return None
    return Event(
        action="trigger",
        dedup_key=dedup_key,
        summary=summary,
        severity=severity,
        source=(source or "")[:255],
        custom_details=_details(payload.get("custom_details")),
        links=_links(links),
        raw=_without(body, "routing_key"),
    )


async def enqueue(request: Request) -> Response:
    """``POST /v2/enqueue``: one alert event, answered once it is committed."""
    body = await _decode(request, "Unrecognized object")
    if isinstance(body, Response):
        return body
    problems = _Problems()
    routing_key = problems.text(body, "routing_key", "'routing_key'", required=True)
    event = _v2_event(body, problems)
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
    problems = _Problems()
    routing_key = problems.text(body, "routing_key", "'routing_key'", required=True)
    payload = _payload(problems, body)
    summary = source = timestamp = None
    if payload is not None:
        summary = problems.text(payload, "summary", "'payload.summary'", required=True, max_length=1024)
        source = problems.text(payload, "source", "'payload.source'")
        timestamp = _timestamp(problems, payload)
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
        custom_details=_details(payload.get("custom_details")),
        links=_links(links),
        now=state.clock.now(),
    )
    await state.committer.run(call_each, record)
    return _json(202, {"status": "success", "message": "Change event processed"})


def _v1_event(body: Mapping[str, Any], problems: _Problems) -> Event | None:
    invalid = "event_type is invalid (must be one of: trigger acknowledge resolve)"
    action = _action(problems, body, "event_type", "Event type", invalid)
    incident_key = _key(problems, body, "incident_key", "Incident key", action)
    description = problems.text(
        body, "description", "Description", required=action == "trigger", max_length=1024
    )
    client = problems.text(body, "client", "Client")
    problems.text(body, "client_url", "Client URL")
    contexts = body.get("contexts")
    links: list[dict[str, Any]] = []
    if contexts is not None and not isinstance(contexts, list):
        problems.errors.append("Contexts must be an array")
    for index, context in enumerate(contexts if isinstance(contexts, list) else []):
        kind = context.get("type") if isinstance(context, dict) else None
        if kind not in ("link", "image"):
            problems.errors.append(f"contexts[{index}].type is invalid (must be one of: link image)")
            continue
        needs = "href" if kind == "link" else "src"
        if problems.text(context, needs, f"contexts[{index}].{needs}", required=True) and kind == "link":
            links.append(context)
    if problems.errors or action is None:
        return None
    if action != "trigger":
        return Event(action=action, dedup_key=incident_key, raw=_without(body, "service_key"))
    return Event(
        action="trigger",
        dedup_key=incident_key,
        summary=description,
        source=client[:255] if client else None,
        custom_details=_details(body.get("details")),
        links=_links(links),
        raw=_without(body, "service_key"),
    )


async def create_event_v1(request: Request) -> Response:
    """``POST /generic/2010-04-15/create_event.json``: Events API v1, answered 200."""
    body = await _decode(request, "unrecognized object")
    if isinstance(body, Response):
        return body
    problems = _Problems()
    service_key = problems.text(body, "service_key", "Service key", required=True)
    event = _v1_event(body, problems)
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
