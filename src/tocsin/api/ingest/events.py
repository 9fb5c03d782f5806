"""``POST /api/events``: the hot path. A plain Starlette endpoint decoding with msgspec (no pydantic
model per event), answered 202 only after the group commit that makes the event durable."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from tocsin.api.errors import ApiError
from tocsin.domain.incident import SEVERITIES
from tocsin.domain.scopes import grants
from tocsin.services.access.keys import KeyRecord
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.ingest.bulk import IngestItem
from tocsin.services.ingest.events import Event, IngestResult

ACTIONS = ("trigger", "acknowledge", "resolve")


class EventPayload(msgspec.Struct, omit_defaults=True):
    summary: str
    severity: str
    source: str
    timestamp: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = msgspec.field(default=None, name="class")
    custom_details: dict[str, Any] | None = None


class EventLink(msgspec.Struct, omit_defaults=True):
    href: str
    text: str | None = None


class EventImage(msgspec.Struct, omit_defaults=True):
    src: str
    href: str | None = None
    alt: str | None = None


class EventIn(msgspec.Struct, omit_defaults=True):
    routing_key: str
    event_action: str
    dedup_key: str | None = None
    payload: EventPayload | None = None
    links: list[EventLink] | None = None
    images: list[EventImage] | None = None
    client: str | None = None
    client_url: str | None = None


_DECODER = msgspec.json.Decoder(EventIn)
_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")


def invalid(field: str, reason: str, message: str) -> ApiError:
    return ApiError("VALIDATION_ERROR", message, {"field": field, "reason": reason})


def decode_error(exc: msgspec.MsgspecError) -> ApiError:
    """msgspec's "Expected `str`, got `int` - at `$.payload.summary`" → field ``payload.summary``."""
    if not isinstance(exc, msgspec.ValidationError):  # ValidationError is itself a DecodeError
        return invalid("body", "invalid_json", "Request body is not valid JSON")
    text = str(exc)
    at = _AT.search(text)
    path = at.group("path") if at else ""
    path = re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")
    missing = _MISSING.search(text)
    if missing:
        field = f"{path}.{missing.group('name')}" if path else missing.group("name")
        return invalid(field, "required", f"{field} is required")
    message = _AT.sub("", text)
    return invalid(path or "body", "invalid", f"{path or 'body'}: {message}")


def normalise(raw: bytes) -> tuple[EventIn, Event]:
    """Validate a spec-003 event and turn it into the service's ``Event``."""
    try:
        incoming = _DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise decode_error(exc) from None
    action = incoming.event_action.lower()
    if action not in ACTIONS:
        raise invalid("event_action", "invalid", f"event_action must be one of {', '.join(ACTIONS)}")
    if not incoming.routing_key.strip():
        raise invalid("routing_key", "required", "routing_key is required")
    dedup_key = incoming.dedup_key
    if dedup_key is not None and not 0 < len(dedup_key) <= 255:
        raise invalid("dedup_key", "length", "dedup_key must be 1 to 255 characters")
    if action != "trigger" and not dedup_key:
        raise invalid("dedup_key", "required", f"dedup_key is required to {action}")
    payload = incoming.payload
    if action == "trigger":
        if payload is None:
            raise invalid("payload", "required", "payload is required to trigger")
        if not payload.summary.strip():
            raise invalid("payload.summary", "required", "payload.summary is required")
        if len(payload.summary) > 1024:
            raise invalid("payload.summary", "too_long", "payload.summary is at most 1024 characters")
        if payload.severity.lower() not in SEVERITIES:
            raise invalid(
                "payload.severity", "invalid", f"payload.severity must be one of {', '.join(SEVERITIES)}"
            )
        if not payload.source.strip():
            raise invalid("payload.source", "required", "payload.source is required")
    raw_event: dict[str, Any] = msgspec.to_builtins(incoming)
    event = Event(
        action=action,  # type: ignore[arg-type]
        dedup_key=dedup_key,
        summary=payload.summary if payload else None,
        severity=payload.severity.lower() if payload else None,
        source=payload.source if payload else None,
        custom_details=payload.custom_details if payload else None,
        links=[{"href": link.href, "text": link.text} for link in incoming.links or []],
        raw=raw_event,
    )
    return incoming, event


async def accept(state: Any, key: KeyRecord, raw: bytes) -> IngestResult:
    """Everything after the gate, shared by the fast lane (``api.ingest.fastlane``) and the Starlette route:
    scope, validation, routing key, alert limits, then the group commit. ``state`` is the app's
    ``State``; its ``ingest`` is the group-commit handler (``bulk.batch_handler``). Raises
    ``ApiError`` for the client's mistakes."""
    if not grants(key.scopes, "events:write"):
        raise ApiError(
            "FORBIDDEN", "API key lacks the 'events:write' scope", {"required_scope": "events:write"}
        )
    incoming, event = normalise(raw)
    route: IngestRoute | None = await state.routes.resolve(incoming.routing_key)
    if route is None or route.org_id != key.org_id or route.livemode != key.livemode:
        raise invalid("routing_key", "not_found", f"Unknown routing_key {incoming.routing_key!r}")
    if event.action == "trigger":
        await state.alert_limits.check(route)
    item = IngestItem(route=route, event=event, actor=key.actor, now=state.clock.now())
    result: IngestResult = await state.committer.run(state.ingest, item)
    state.metrics.count_event(event.action, result.outcome)
    return result


def accepted_body(result: IngestResult) -> bytes:
    return orjson.dumps({"status": "success", "message": "Event processed", "dedup_key": result.dedup_key})


async def post_event(request: Request) -> Response:
    """Spec 003 / PagerDuty v2: ``202 {"status":"success","message":"Event processed","dedup_key"}``.
    Served by ``api.ingest.fastlane`` in the app; this route stays for the OpenAPI spec, the 405 on other
    methods, and apps built without the lane."""
    result = await accept(request.app.state, request.state.key, await request.body())
    return Response(accepted_body(result), status_code=202, media_type="application/json")
