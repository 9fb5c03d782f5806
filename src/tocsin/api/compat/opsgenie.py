"""Opsgenie's Alert API (v2) at ``/v2/alerts``: a team leaving Opsgenie points its API integration
(Alertmanager's ``opsgenie_configs``, the Opsgenie SDKs, scripts) at Tocsin by changing the host.

The ``Authorization: GenieKey <key>`` key is the routing key of a Tocsin integration of type
``opsgenie``; give that integration the old GenieKey as its routing key and no sender needs a new
secret. Every answer is Opsgenie's own (its REST API "Response" page and OpenAPI spec, the bodies its
SDKs parse): ``202 {"result":"Request will be processed","took":<seconds>,"requestId":"<uuid>"}``
once the event is committed; errors ``{"message","took","requestId"}``, 422 adding an ``errors`` map
of field to reason, 403 adding ``code`` 40301.

Priority to urgency; the incident keeps the priority, and Opsgenie's default is P3:

| Opsgenie priority | severity | urgency |
|---|---|---|
| P1, P2 | critical | HIGH |
| P3 (default) | warning | MEDIUM |
| P4, P5 | info | LOW |

Endpoints: ``POST /v2/alerts`` (create), ``POST /v2/alerts/{identifier}/acknowledge``, ``/close``
and ``/notes``, and ``PUT /v2/alerts/{identifier}/message`` and ``/description`` (sent by
Alertmanager's ``update_alerts``: they retitle or redescribe the open incident).

``identifierType`` on all but create: ``id`` (the default) is the Tocsin incident id
(``inc_…``), the only id Tocsin hands out for the incident an alias opened (Opsgenie's alert ids are
never issued here: the create answer carries only a request id, as in Opsgenie); ``tiny`` is the
incident's per-org number; ``alias`` is the alias sent on create (the dedup key). Only an open
incident of the integration's service is acted on; anything else is accepted (202) and ignored,
as Opsgenie's asynchronous API answers 202 before it looks.

Details:
- No ``alias``: the alert gets a unique one and is not deduplicated, as in Opsgenie.
- An alias longer than 255 characters (Opsgenie allows 512) is stored as ``sha256:<hex>`` of it;
  acting by that alias finds it the same way.
- ``details`` is the incident's ``custom_details``; tags, entity, actions, responders and the rest
  stay on the alert's payload. ``source`` defaults to the caller's address, as in Opsgenie.
- ``note`` on create is added when the alert opens a new incident; on acknowledge and close it is
  added to the incident acted on. Notes longer than Tocsin's 10,000 characters are cut there;
  Opsgenie's own limit (25,000) is refused with 422. A ``user`` is recorded as "<user> via
  <integration>".
- A message over 130 characters or an alias over 512 is refused with 422 (Opsgenie's limits);
  a description is cut at Opsgenie's 15,000 characters.
- Bad JSON is 400; a body over 512 KB is 413 in Opsgenie's shape (bodies over the server-wide
  ``TOCSIN_MAX_BODY_BYTES`` are refused before they get here, in the native envelope); the alert
  limits answer 429 "You are making too many requests!" with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from tocsin.api.compat.common import ApiError, Event, IngestRoute, find_route, integration_actor, submit
from tocsin.api.errors import STATUS_FOR_CODE
from tocsin.api.middleware import LabelledRoute
from tocsin.domain.actor import Actor
from tocsin.domain.incident import PRIORITIES, Status
from tocsin.services import incident_actions, incidents, timeline
from tocsin.services.batching import call_each
from tocsin.services.catalog import ROUTING_KEY
from tocsin.services.errors import Invalid, NotFound, ServiceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tocsin.db.models import Incident

MAX_MESSAGE = 130
MAX_ALIAS = 512
MAX_DESCRIPTION = 15_000
MAX_NOTE = 25_000
MAX_BODY_BYTES = 512 * 1024
IDENTIFIER_TYPES = ("id", "alias", "tiny")
RECIPIENT_TYPES = frozenset({"team", "user", "escalation", "schedule", "all", "none", "group"})
SEVERITY_FOR_PRIORITY = {"P1": "critical", "P2": "critical", "P3": "warning", "P4": "info", "P5": "info"}
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


def dedup_key_for(alias: str) -> str:
    """Aliases up to 255 characters are the dedup key itself; longer ones (Opsgenie allows 512) hash."""
    if len(alias) <= incidents.MAX_DEDUP_KEY:
        return alias
    return "sha256:" + hashlib.sha256(alias.encode()).hexdigest()


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


def _refusal_for(exc: ApiError | ServiceError) -> Refusal:
    """The shared helpers' and services' errors, said the way Opsgenie says them."""
    if isinstance(exc, ApiError) and exc.code == "RATE_LIMITED":
        return Refusal(429, {"message": f"You are making too many requests! {exc.message}"}, exc.headers)
    if isinstance(exc, Invalid):
        return not_processable({str(exc.details.get("field", "body")): exc.message})
    headers = exc.headers if isinstance(exc, ApiError) else {}
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


async def authenticate(request: Request) -> IngestRoute:
    """``Authorization: GenieKey <key>``: 401 for no or an unknown key (Opsgenie's "Could not
    authenticate"), 422 for one that cannot be a key, 403 (code 40301) for another integration type."""
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "geniekey" or not key:
        raise Refusal(401, {"message": "Could not authenticate"})
    if not ROUTING_KEY.fullmatch(key):
        raise Refusal(422, {"message": "Key format is not valid!"})
    route = await find_route(request, key)
    if route is None:
        raise Refusal(401, {"message": "Could not authenticate"})
    if route.integration_type != "opsgenie":
        raise Refusal(
            403,
            {
                "code": 40301,
                "message": "To perform this action, use the key of an integration of type opsgenie "
                f"(this key's integration is of type {route.integration_type}).",
            },
        )
    return route


async def read_body(request: Request) -> bytes:
    """The body, refused (413) over 512 KB: not an Opsgenie-documented limit, but well above what its
    documented field limits add up to, and below the server-wide cap so the answer is Opsgenie's."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, {"message": f"Request body is larger than the {MAX_BODY_BYTES // 1024} KB limit"})
    return raw


class Fields:
    """One JSON object read field by field; what is wrong is collected as Opsgenie's ``errors`` map."""

    def __init__(self, raw: bytes) -> None:
        self.errors: dict[str, str] = {}
        if not raw.strip():
            self.data: dict[str, Any] = {}
            return
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Refusal(400, {"message": f"Invalid JSON body: {exc}"}) from None
        if not isinstance(value, dict):
            raise Refusal(400, {"message": "Invalid JSON body: expected a JSON object"})
        self.data = value

    def text(self, name: str, limit: int | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.errors[name] = f"{name} must be a string"
            return None
        if limit is not None and len(value) > limit:
            self.errors[name] = f"{name} can not be longer than {limit} characters"
        return value

    def texts(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.errors[name] = f"{name} must be a list of strings"
            return []
        return value

    def details(self) -> dict[str, str] | None:
        """Opsgenie's details are string to string; numbers and booleans are taken as their text."""
        value = self.data.get("details")
        if value is None:
            return None
        if not isinstance(value, dict):
            self.errors["details"] = "details must be an object of string values"
            return None
        details: dict[str, str] = {}
        for key, item in value.items():
            if isinstance(item, str):
                details[key] = item
            elif isinstance(item, bool):
                details[key] = "true" if item else "false"
            elif isinstance(item, int | float):
                details[key] = str(item)
            else:
                self.errors[f"details#{key}"] = "details values must be strings"
        return details

    def recipients(self, name: str) -> None:
        """Checked only: responders are not routed here (the service's policy pages); kept on the alert."""
        value = self.data.get(name)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.errors[name] = f"{name} must be a list of objects"
            return
        for item in value:
            kind = item.get("type")
            if not isinstance(kind, str) or kind.lower() not in RECIPIENT_TYPES:
                self.errors[f"{name}#type"] = f"Invalid recipient type '{kind}'"

    def check(self) -> None:
        if self.errors:
            raise not_processable(self.errors)


def actor_for(route: IngestRoute, user: str | None) -> Actor:
    """The integration acts; Opsgenie's ``user`` (display name of the request owner) is recorded with it."""
    actor = integration_actor(route)
    if not user or not user.strip():
        return actor
    return Actor(type=actor.type, id=actor.id, name=f"{user.strip()} via {actor.name}"[:200])


def identifier_of(request: Request) -> tuple[str, str]:
    identifier: str = request.path_params["identifier"]
    kind = request.query_params.get("identifierType", "id") or "id"
    if kind not in IDENTIFIER_TYPES:
        raise not_processable({"identifierType": "identifierType must be one of id, alias, tiny"})
    return identifier, kind


def find_open(session: Session, route: IngestRoute, identifier: str, kind: str) -> Incident | None:
    """The open incident of the integration's service that ``identifier`` names, if any."""
    if kind == "alias":
        return incidents.find_open_by_dedup(
            session=session,
            tenant=route.tenant,
            service_id=route.service_id,
            dedup_key=dedup_key_for(identifier),
        )
    number = identifier.removeprefix("#")
    looks_like_number = number.isascii() and number.isdigit()
    if not identifier.isascii() or looks_like_number != (kind == "tiny"):
        return None
    if looks_like_number and len(number) > 9:
        return None  # past a 32-bit integer: names nothing, and must not reach the query
    try:
        incident = incidents.get_incident(session=session, tenant=route.tenant, ref=identifier)
    except NotFound:
        return None
    if incident.service_id != route.service_id or incident.status == Status.RESOLVED.value:
        return None
    return incident


def _clip_note(note: str) -> str:
    text = note.strip()
    if len(text) <= timeline.MAX_NOTE_CHARS:
        return text
    return text[: timeline.MAX_NOTE_CHARS - 1] + "…"


async def add_note_where(
    request: Request, actor: Actor, note: str, find: Callable[[Session], Incident | None]
) -> bool:
    """Add ``note`` to the incident ``find`` picks, in one durable write; False if there is none."""
    state = request.app.state
    now = state.clock.now()
    content = _clip_note(note)

    def write(*, session: Session) -> bool:
        incident = find(session)
        if incident is None:
            return False
        timeline.add_note(session=session, incident=incident, content=content, actor=actor, now=now)
        return True

    added: bool = await state.committer.run(call_each, write)
    return added


async def note_on_incident(
    request: Request, route: IngestRoute, incident_id: str, note: str, actor: Actor
) -> None:
    def by_id(session: Session) -> Incident | None:
        try:
            return incidents.get_incident(session=session, tenant=route.tenant, ref=incident_id)
        except NotFound:
            return None

    await add_note_where(request, actor, note, by_id)


def alert_event(fields: Fields, request: Request) -> tuple[Event, str | None, str | None]:
    """A create request as an ``Event``, with its note and user; 422 with the errors map if invalid."""
    message = fields.text("message", MAX_MESSAGE)
    if "message" not in fields.errors and not (message or "").strip():
        fields.errors["message"] = "Message can not be empty."
    alias = fields.text("alias", MAX_ALIAS)
    description = fields.text("description")
    source = fields.text("source")
    user = fields.text("user")
    note = fields.text("note", MAX_NOTE)
    fields.text("entity")
    priority = (fields.text("priority") or "P3").strip().upper() or "P3"
    if "priority" not in fields.errors and priority not in PRIORITIES:
        fields.errors["priority"] = "Priority should be one of P1, P2, P3, P4, P5"
    fields.texts("tags")
    fields.texts("actions")
    details = fields.details()
    fields.recipients("responders")
    fields.recipients("visibleTo")
    fields.check()
    assert message is not None
    client = request.client.host if request.client else None
    event = Event(
        action="trigger",
        dedup_key=dedup_key_for(alias) if alias else None,
        summary=message.strip(),
        severity=SEVERITY_FOR_PRIORITY[priority],
        source=((source or "").strip() or client or "opsgenie")[:255],
        custom_details=details or None,
        raw=fields.data,
        priority=priority,
        description=description[:MAX_DESCRIPTION] if description else None,
    )
    return event, note, user


@endpoint
async def create_alert(request: Request) -> None:
    """``POST /v2/alerts``."""
    route = await authenticate(request)
    event, note, user = alert_event(Fields(await read_body(request)), request)
    actor = actor_for(route, user)
    [result] = await submit(request, route, [event], actor)
    if note and note.strip() and result.outcome == "created" and result.incident_id:
        await note_on_incident(request, route, result.incident_id, note, actor)


async def _open_dedup_key(request: Request, route: IngestRoute, identifier: str, kind: str) -> str | None:
    if not identifier:
        return None
    if kind == "alias":
        return dedup_key_for(identifier)  # ingest itself finds the open incident, or accepts and ignores

    def lookup() -> str | None:
        with request.app.state.db.read() as session:
            incident = find_open(session, route, identifier, kind)
            return None if incident is None else incident.dedup_key

    key: str | None = await anyio.to_thread.run_sync(lookup)
    return key


def _act(action: str) -> Callable[[Request], Awaitable[Response]]:
    async def work(request: Request) -> None:
        route = await authenticate(request)
        identifier, kind = identifier_of(request)
        fields = Fields(await read_body(request))
        user = fields.text("user")
        source = fields.text("source")
        note = fields.text("note", MAX_NOTE)
        fields.check()
        actor = actor_for(route, user)
        dedup_key = await _open_dedup_key(request, route, identifier, kind)
        if dedup_key is None:
            return
        event = Event(
            action=action,  # type: ignore[arg-type]
            dedup_key=dedup_key,
            source=(source or "").strip()[:255] or None,
            raw=fields.data,
        )
        [result] = await submit(request, route, [event], actor)
        if note and note.strip() and result.incident_id:
            await note_on_incident(request, route, result.incident_id, note, actor)

    work.__doc__ = f"``POST /v2/alerts/{{identifier}}/{action}``."
    return endpoint(work)


acknowledge_alert = _act("acknowledge")
close_alert = _act("resolve")


@endpoint
async def add_alert_note(request: Request) -> None:
    """``POST /v2/alerts/{identifier}/notes``: ``{note, user, source}``."""
    route = await authenticate(request)
    identifier, kind = identifier_of(request)
    fields = Fields(await read_body(request))
    note = fields.text("note", MAX_NOTE)
    if "note" not in fields.errors and not (note or "").strip():
        fields.errors["note"] = "Note can not be empty."
    user = fields.text("user")
    fields.text("source")
    fields.check()
    assert note is not None

    def open_one(session: Session) -> Incident | None:
        return find_open(session, route, identifier, kind)

    await add_note_where(request, actor_for(route, user), note, open_one)


def _update(field: str) -> Callable[[Request], Awaitable[Response]]:
    """``PUT .../message`` and ``.../description`` (Alertmanager's ``update_alerts``): the open
    incident's title or description becomes the one sent."""
    column = "title" if field == "message" else "description"

    async def work(request: Request) -> None:
        route = await authenticate(request)
        identifier, kind = identifier_of(request)
        fields = Fields(await read_body(request))
        value = fields.text(field, MAX_MESSAGE if field == "message" else None)
        if field not in fields.errors and not (value or "").strip():
            fields.errors[field] = f"{field.capitalize()} can not be empty."
        user = fields.text("user")
        fields.text("source")
        fields.check()
        assert value is not None
        text = value.strip() if field == "message" else value[:MAX_DESCRIPTION]
        actor = actor_for(route, user)
        now = request.app.state.clock.now()

        def write(*, session: Session) -> None:
            incident = find_open(session, route, identifier, kind)
            if incident is not None:
                incident_actions.update_incident(
                    session=session,
                    tenant=route.tenant,
                    ref=incident.id,
                    changes={column: text},
                    actor=actor,
                    now=now,
                )

        await request.app.state.committer.run(call_each, write)

    work.__doc__ = f"``PUT /v2/alerts/{{identifier}}/{field}``."
    return endpoint(work)


update_message = _update("message")
update_description = _update("description")


def routes() -> list[BaseRoute]:
    """Create, acknowledge, close, add note and the two updates Alertmanager sends: plain Starlette
    routes like ``POST /api/events``."""
    return [
        LabelledRoute("/v2/alerts", create_alert, methods=["POST"]),
        LabelledRoute("/v2/alerts/{identifier:path}/acknowledge", acknowledge_alert, methods=["POST"]),
        LabelledRoute("/v2/alerts/{identifier:path}/close", close_alert, methods=["POST"]),
        LabelledRoute("/v2/alerts/{identifier:path}/notes", add_alert_note, methods=["POST"]),
        LabelledRoute("/v2/alerts/{identifier:path}/message", update_message, methods=["PUT"]),
        LabelledRoute("/v2/alerts/{identifier:path}/description", update_description, methods=["PUT"]),
    ]
