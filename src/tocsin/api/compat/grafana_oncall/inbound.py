"""Grafana OnCall's inbound integration URLs, ``POST /integrations/v1/{type}/{token}/`` (with or
without the trailing slash), so a sender configured for Grafana OnCall changes only the host.

``token`` is the integration's routing key, and the integration's type must be the URL's:
``alertmanager`` and ``grafana_alerting`` take Alertmanager's webhook notification (one alert group
is one incident, each firing alert in it one Alert); ``webhook`` and ``formatted_webhook`` take any
JSON object, read through the integration's templates (``domain.templates``).

Answers are Grafana OnCall's (engine/apps/integrations/views.py, mixins/, middlewares.py):

- 200 ``"Ok."`` (a JSON string) once the alerts are committed;
- 403 ``Integration key was not found. Permission denied.`` (text) for an unknown token, and for a
  URL type this door does not serve;
- 400 ``This url is for integration with <URL type>. Key is for <key's type>`` (text) when the
  token belongs to an integration of another type;
- 400 ``{"detail": "JSON parse error - ..."}`` for a body that is not JSON (DRF's ParseError), and
  DRF-style ``{"<field>": ["<message>"]}`` for a body of the wrong shape;
- 429 with Grafana OnCall's rate-limit text and ``Retry-After`` when an alert limit is hit (nothing
  of the request is written; Alertmanager sends the group again at its next flush).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from tocsin.api.compat.common import ApiError, Event, IngestRoute, find_route, integration_actor, submit
from tocsin.api.middleware import LabelledRoute
from tocsin.api.oversize import TooLarge, too_large_message
from tocsin.domain import alertmanager
from tocsin.domain import templates as integration_templates
from tocsin.domain.alertmanager import PayloadError
from tocsin.services.ingest import heartbeats

ALERTMANAGER_TYPES: Final = frozenset({"alertmanager", "grafana_alerting"})
WEBHOOK_TYPES: Final = frozenset({"webhook", "formatted_webhook"})
SERVED: Final = ALERTMANAGER_TYPES | WEBHOOK_TYPES
PATH: Final = "/integrations/v1/{integration_type}/{token}"

# Grafana OnCall's display names (its config_integrations titles), and ours for the other types.
TYPE_TITLES: Final[Mapping[str, str]] = {
    "alertmanager": "Alertmanager",
    "grafana_alerting": "Grafana Alerting",
    "webhook": "Webhook",
    "formatted_webhook": "Formatted webhook",
    "events_api_v2": "Events API v2",
    "pagerduty": "PagerDuty",
    "opsgenie": "Opsgenie",
    "victorops": "Splunk On-Call",
}
UNKNOWN_INTEGRATION: Final = "Integration key was not found. Permission denied."
RATE_LIMITED_INTEGRATION: Final = (
    "Rate-limiting has been applied to your account "
    "because too many alerts were sent from your {integration} integration. "
    "Rate-limiting is activated so you will continue to receive alerts from other integrations. "
    "Read more about rate limits in our docs. "
)
RATE_LIMITED_ORG: Final = (
    "Rate-limiting has been applied to your account "
    "because too many alerts were sent from multiple integrations. "
    "Read more about rate limits in our docs. "
)
_OK: Final = b'"Ok."'


class BadBody(Exception):
    """A 400 whose JSON body is ``body`` (DRF's shapes)."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        super().__init__(str(body))
        self.body = body


def _text(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """Django's ``HttpResponse(text)``: text/html in UTF-8."""
    return Response(text, status_code=status, media_type="text/html", headers=dict(headers or {}))


def _title(integration_type: str) -> str:
    return TYPE_TITLES.get(integration_type, integration_type.replace("_", " ").title())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def _storable(value: Any) -> Any:
    """PostgreSQL stores neither U+0000 nor lone surrogates (valid JSON escapes, not valid UTF-8);
    neither means anything in an alert: the first is dropped, the others become "?"."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        _reject_constant(text)
    return number


def _int_as_orjson(text: str) -> int | float:
    """Integers past 64 bits become floats, as orjson (which stores the rows) reads them."""
    number = int(text)
    return number if -(2**63) <= number < 2**64 else float(number)


def decode(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` (as DRF reads it). orjson reads it; what
    orjson refuses goes to the standard library, which accepts lone surrogates (made storable
    below) and words the error as DRF's JSONParser does (NaN and Infinity are refused)."""
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(
                body, parse_constant=_reject_constant, parse_float=_finite, parse_int=_int_as_orjson
            )
        except (ValueError, RecursionError) as exc:
            raise BadBody({"detail": f"JSON parse error - {exc}"}) from None
    if not isinstance(value, dict):
        kind = "NoneType" if value is None else type(value).__name__
        raise BadBody({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]})
    if _UNSTORABLE.search(body):
        value = _storable(value)
    checked: dict[str, Any] = value
    return checked


def alertmanager_events(route: IngestRoute, payload: Mapping[str, Any]) -> list[Event]:
    """A firing group: one trigger per firing alert, all under the group's dedup key, each carrying
    the group's title and severity (the first opens the incident, the others add to it). A resolved
    group: one resolve.

    A firing body with no firing alert in it (``{}``, ``{"title": "Disk full"}``) is one trigger of
    the whole body, titled by ``alertmanager.title_of_body``: Grafana OnCall's Alertmanager
    integration makes an alert of any JSON object it is sent, so a sender moved from it must not be
    answered "Ok." and dropped (a body that is not an object is refused with DRF's 400)."""
    notification = alertmanager.parse_notification(payload)
    key = alertmanager.dedup_key(notification)
    if notification.status == "resolved":
        return [Event(action="resolve", dedup_key=key, raw=dict(payload))]
    if not notification.firing:
        raw = dict(payload)
        return [
            Event(
                action="trigger",
                dedup_key=key,
                summary=alertmanager.title_of_body(payload, notification),
                severity=alertmanager.severity(notification),
                source=alertmanager.source(notification, route.integration_type),
                custom_details=raw,
                links=alertmanager.links(notification),
                raw=raw,
                description=alertmanager.description(notification),
            )
        ]
    summary = alertmanager.title(notification)
    severity = alertmanager.severity(notification)
    source = alertmanager.source(notification, route.integration_type)
    details = alertmanager.details(notification)
    links = alertmanager.links(notification)
    description = alertmanager.description(notification)
    return [
        Event(
            action="trigger",
            dedup_key=key,
            summary=summary,
            severity=severity,
            source=source,
            custom_details=details,
            links=links,
            raw=alert.raw,
            description=description,
            retitles=True,
        )
        for alert in notification.firing
    ]


def _link(payload: Mapping[str, Any], name: str, text: str) -> list[dict[str, Any]]:
    value = payload.get(name)
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return [{"href": value, "text": text}]
    return []


def webhook_events(route: IngestRoute, payload: Mapping[str, Any]) -> list[Event]:
    """One event for the body: resolve when the resolve condition holds, else trigger."""
    rendered = integration_templates.evaluate(route.integration_type, route.config, payload)
    raw = dict(payload)
    if rendered.resolved:
        return [Event(action="resolve", dedup_key=rendered.dedup_key, raw=raw)]
    message = payload.get("message")
    if route.integration_type == "formatted_webhook":
        links = _link(payload, "link_to_upstream_details", "Source") + _link(payload, "image_url", "Image")
    else:
        links = _link(payload, "url", "Source")
    return [
        Event(
            action="trigger",
            dedup_key=rendered.dedup_key,
            summary=rendered.title,
            severity=rendered.severity,
            source=route.integration_type,
            custom_details=raw,
            links=links,
            raw=raw,
            description=message if isinstance(message, str) and message.strip() else None,
        )
    ]


def _limited(route: IngestRoute, error: ApiError) -> Response:
    if error.code == "RATE_LIMITED":
        scope = error.details.get("scope")
        text = (
            RATE_LIMITED_INTEGRATION.format(integration=route.integration_name)
            if scope == "integration"
            else RATE_LIMITED_ORG
        )
        return _text(429, text, error.headers)
    if error.code == "SERVICE_UNAVAILABLE":
        return _text(503, "Service temporarily unavailable; retry shortly.", error.headers)
    raise error


async def _route_of(request: Request) -> IngestRoute | Response:
    """The integration the URL's token names, or Grafana OnCall's own refusal: 403 for a key it
    does not know, 400 for a key of another integration type than the URL says."""
    integration_type: str = request.path_params["integration_type"]
    token: str = request.path_params["token"]
    route = await find_route(request, token) if integration_type in SERVED else None
    if route is None:
        return _text(403, UNKNOWN_INTEGRATION)
    if route.integration_type != integration_type:
        return _text(
            400,
            f"This url is for integration with {_title(integration_type)}. "
            f"Key is for {_title(route.integration_type)}",
        )
    return route


async def receive(request: Request) -> Response:
    """``POST /integrations/v1/{type}/{token}/``: answered once the alerts are committed."""
    route = await _route_of(request)
    if isinstance(route, Response):
        return route
    integration_type = route.integration_type
    try:
        payload = decode(await request.body())
        if integration_type in ALERTMANAGER_TYPES:
            events = alertmanager_events(route, payload)
        else:
            events = webhook_events(route, payload)
    except BadBody as exc:
        return Response(orjson.dumps(exc.body), status_code=400, media_type="application/json")
    except PayloadError as exc:
        body = {exc.field: [exc.message]}
        return Response(orjson.dumps(body), status_code=400, media_type="application/json")
    if events:
        try:
            await submit(request, route, events, integration_actor(route))
        except ApiError as exc:
            return _limited(route, exc)
    return Response(_OK, status_code=200, media_type="application/json")


async def heartbeat(request: Request) -> Response:
    """``GET|POST /integrations/v1/{type}/{token}/heartbeat/``: a beat of the integration's heartbeat,
    answered as Grafana OnCall does (GET ``":)"``, POST an empty 200). An integration with no
    heartbeat answers the same and records nothing, like upstream's heartbeat with no timeout."""
    route = await _route_of(request)
    if isinstance(route, Response):
        return route
    await request.body()  # the body (Alertmanager's, for a Watchdog receiver) carries nothing needed
    state = request.app.state

    def work() -> None:
        with state.db.write() as session:
            heartbeats.beat_integration(
                session=session,
                integration_id=route.integration_id,
                now=state.clock.now(),
                paging=state.paging,
            )

    await asyncio.to_thread(work)
    if request.method == "GET":
        return Response(b'":)"', status_code=200, media_type="application/json")
    return Response(b"", status_code=200)


def too_large(scope: Scope, max_bytes: int) -> Response:
    """A body over the server-wide limit, as plain text like the integration's other refusals."""
    return _text(413, too_large_message(max_bytes))


# ``TOCSIN_MAX_BODY_BYTES`` answered in Grafana OnCall's shape on its URLs (``api.oversize``).
OVERSIZE: tuple[tuple[str, TooLarge], ...] = (("/integrations/v1/", too_large),)


def routes() -> list[BaseRoute]:
    """Both spellings, so neither is answered with a redirect (a POST must not be redirected)."""
    return [
        LabelledRoute(PATH + "/", receive, methods=["POST"]),
        LabelledRoute(PATH, receive, methods=["POST"]),
        LabelledRoute(PATH + "/heartbeat/", heartbeat, methods=["GET", "POST"]),
        LabelledRoute(PATH + "/heartbeat", heartbeat, methods=["GET", "POST"]),
    ]
