"""Splunk On-Call (VictorOps) REST endpoint at
``/integrations/generic/20131114/alert/{api_key}/{routing_key}``: Alertmanager's
``victorops_configs``, Kapacitor and scripts move to Tocsin by changing the host of the URL.

``api_key`` is the routing key of a Tocsin integration of type ``victorops`` (give that integration
the old REST endpoint key as its routing key and the URL keeps its path). The URL's ``routing_key``
segment is VictorOps' own routing key: it is recorded on the alert (``routing_key`` in its payload
and the incident's ``custom_details``); the integration decides the service. It may be left out,
as VictorOps allows.

Answers are VictorOps' own: ``200 {"result":"success","entity_id":"<entity_id>"}`` (the entity id
sent, or the one assigned when none was, as VictorOps documents); failures
``{"result":"failure","message":"..."}``: 404 for an unknown key (VictorOps answers 404 there),
400 for a body it cannot take, 429 with ``Retry-After`` when the alert limits are hit.

``message_type`` (case-insensitive) to what happens:

| message_type | action | severity | urgency |
|---|---|---|---|
| CRITICAL | trigger | critical | HIGH |
| WARNING | trigger | warning | MEDIUM |
| INFO | trigger | info | LOW |
| ACKNOWLEDGEMENT | acknowledge | | |
| RECOVERY | resolve | | |

INFO only writes a timeline entry in VictorOps; Tocsin has no incident-less timeline, so INFO opens
a LOW-urgency incident: it is seen, and pages only people whose rules page for LOW.

Fields: ``entity_id`` is the dedup key (no entity id: a random one, so nothing dedups, as in
VictorOps; longer than 255 characters: stored as ``sha256:<hex>``); ``entity_display_name`` the
title (else the entity id, else the state message); ``state_message`` the description;
``monitoring_tool`` the source; ``state_start_time`` and ``timestamp`` must be epoch seconds;
everything else (Alertmanager's custom fields too) is ``custom_details``, and the whole body the
alert's payload. ``ack_msg`` on ACKNOWLEDGEMENT becomes a note, ``ack_author`` is recorded with the
integration as who acknowledged. ACKNOWLEDGEMENT or RECOVERY for an unknown entity is accepted and
ignored.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from tocsin.api.compat.common import ApiError, Event, IngestRoute, find_route, integration_actor, submit
from tocsin.api.errors import service_error_headers
from tocsin.api.middleware import LabelledRoute
from tocsin.api.oversize import TooLarge, too_large_message
from tocsin.domain.actor import Actor
from tocsin.services.catalog.services import ROUTING_KEY
from tocsin.services.errors import STATUS_FOR_CODE, NotFound, ServiceError
from tocsin.services.incidents import records as incidents
from tocsin.services.incidents import timeline
from tocsin.services.writes.group_commit import call_each

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ACTIONS = {
    "CRITICAL": ("trigger", "critical"),
    "WARNING": ("trigger", "warning"),
    "INFO": ("trigger", "info"),
    "ACKNOWLEDGEMENT": ("acknowledge", None),
    "RECOVERY": ("resolve", None),
}
KNOWN_FIELDS = frozenset(
    {"message_type", "entity_id", "entity_display_name", "state_message", "monitoring_tool"}
)
EPOCH_FIELDS = ("state_start_time", "timestamp")
MAX_BODY_BYTES = 512 * 1024


class Failure(Exception):
    """VictorOps' failure answer: ``{"result":"failure","message":...}`` with its status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def dedup_key_for(entity_id: str) -> str:
    if len(entity_id) <= incidents.MAX_DEDUP_KEY:
        return entity_id
    return "sha256:" + hashlib.sha256(entity_id.encode()).hexdigest()


async def authenticate(request: Request, api_key: str) -> IngestRoute:
    route = await find_route(request, api_key) if ROUTING_KEY.fullmatch(api_key) else None
    if route is None:
        raise Failure(404, "Unknown API key: use the routing key of a Tocsin integration of type victorops")
    if route.integration_type != "victorops":
        raise Failure(
            404,
            f"This key's integration is of type {route.integration_type}; "
            "use the routing key of an integration of type victorops",
        )
    return route


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Failure(400, f"Invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise Failure(400, "Invalid JSON body: expected a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    """A string field; a number is taken as its text (VictorOps reads these as strings)."""
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Failure(400, f"{name} must be a string")


def _check_epoch(body: dict[str, Any], name: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise Failure(400, f"{name} must be a number of seconds since the epoch") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise Failure(400, f"{name} must be a number of seconds since the epoch")


def _actor(route: IngestRoute, author: str | None) -> Actor:
    actor = integration_actor(route)
    if not author or not author.strip():
        return actor
    return Actor(type=actor.type, id=actor.id, name=f"{author.strip()} via {actor.name}"[:200])


async def _add_note(request: Request, route: IngestRoute, incident_id: str, note: str, actor: Actor) -> None:
    state = request.app.state
    now = state.clock.now()
    content = note.strip()
    if len(content) > timeline.MAX_NOTE_CHARS:
        content = content[: timeline.MAX_NOTE_CHARS - 1] + "…"

    def write(*, session: Session) -> None:
        try:
            incident = incidents.get_incident(session=session, tenant=route.tenant, ref=incident_id)
        except NotFound:
            return
        timeline.add_note(session=session, incident=incident, content=content, actor=actor, now=now)

    await state.committer.run(call_each, write)


async def _alert(request: Request) -> Response:
    route = await authenticate(request, request.path_params["api_key"])
    raw_body = await request.body()
    if len(raw_body) > MAX_BODY_BYTES:  # not a documented VictorOps limit; below the server-wide cap
        raise Failure(413, f"Request body is larger than the {MAX_BODY_BYTES // 1024} KB limit")
    body = _decode(raw_body)
    message_type = body.get("message_type")
    if not isinstance(message_type, str) or not message_type.strip():
        raise Failure(400, "message_type is required: one of " + ", ".join(ACTIONS))
    message_type = message_type.strip().upper()
    kind = ACTIONS.get(message_type)
    if kind is None:
        raise Failure(400, f"message_type {body['message_type']!r} is not one of " + ", ".join(ACTIONS))
    action, severity = kind
    entity_id = _text(body, "entity_id")
    display_name = _text(body, "entity_display_name")
    state_message = _text(body, "state_message")
    monitoring_tool = _text(body, "monitoring_tool")
    ack_msg = _text(body, "ack_msg")
    ack_author = _text(body, "ack_author")
    for name in EPOCH_FIELDS:
        _check_epoch(body, name)
    routing_key = request.path_params.get("routing_key")
    raw = {**body, "routing_key": routing_key} if routing_key else body
    if action != "trigger" and entity_id is None:
        return _json(200, {"result": "success", "entity_id": uuid.uuid4().hex})  # nothing it could name
    extra = {key: value for key, value in raw.items() if key not in KNOWN_FIELDS}
    event = Event(
        action=action,  # type: ignore[arg-type]
        dedup_key=dedup_key_for(entity_id) if entity_id else None,
        summary=display_name or entity_id or state_message or f"{message_type} alert",
        severity=severity,
        source=monitoring_tool[:255] if monitoring_tool else None,
        custom_details=extra or None,
        raw=raw,
        description=state_message,
    )
    actor = _actor(route, ack_author if action == "acknowledge" else None)
    [result] = await submit(request, route, [event], actor)
    if action == "acknowledge" and ack_msg and ack_msg.strip() and result.incident_id:
        await _add_note(request, route, result.incident_id, ack_msg, actor)
    return _json(200, {"result": "success", "entity_id": entity_id or result.dedup_key})


async def post_alert(request: Request) -> Response:
    """``POST /integrations/generic/20131114/alert/{api_key}[/{routing_key}]``."""
    try:
        return await _alert(request)
    except Failure as failure:
        return _json(failure.status, {"result": "failure", "message": failure.message}, failure.headers)
    except (ApiError, ServiceError) as exc:
        headers = exc.headers if isinstance(exc, ApiError) else service_error_headers(exc)
        status = STATUS_FOR_CODE.get(exc.code, 500)
        return _json(status, {"result": "failure", "message": exc.message}, headers)


PATH = "/integrations/generic/20131114/alert/{api_key}"


def too_large(scope: Scope, max_bytes: int) -> Response:
    """A body over the server-wide limit, in VictorOps' failure shape."""
    return _json(413, {"result": "failure", "message": too_large_message(max_bytes)})


# ``TOCSIN_MAX_BODY_BYTES`` answered in VictorOps' shape on its URLs (``api.oversize``).
OVERSIZE: tuple[tuple[str, TooLarge], ...] = (("/integrations/generic/20131114/", too_large),)


def routes() -> list[BaseRoute]:
    """With and without VictorOps' routing key; the trailing-slash spelling (Alertmanager's URL
    with an empty routing key) is served too, never redirected (a POST must not be redirected)."""
    return [
        LabelledRoute(PATH, post_alert, methods=["POST"]),
        LabelledRoute(PATH + "/", post_alert, methods=["POST"]),
        LabelledRoute(PATH + "/{routing_key}", post_alert, methods=["POST"]),
    ]
