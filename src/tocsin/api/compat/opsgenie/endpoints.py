"""The ``/v2/alerts`` routes: each authenticates, reads its fields, makes one ingest or service call
and answers in Opsgenie's shape (``answers.endpoint``); notes are added in their own durable write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from tocsin.api.compat.common import Event, IngestRoute, submit
from tocsin.api.compat.opsgenie.answers import endpoint
from tocsin.api.compat.opsgenie.fields import (
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_NOTE,
    Fields,
    authenticate,
    identifier_of,
    read_body,
)
from tocsin.api.compat.opsgenie.translate import actor_for, alert_event, find_open, open_dedup_key
from tocsin.api.middleware import LabelledRoute
from tocsin.domain.actor import Actor
from tocsin.services.errors import NotFound
from tocsin.services.incidents import actions as incident_actions
from tocsin.services.incidents import records as incidents
from tocsin.services.incidents import timeline
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import call_each

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tocsin.db.models import Incident


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


@endpoint
async def create_alert(request: Request) -> None:
    """``POST /v2/alerts``."""
    route = await authenticate(request)
    event, note, user = alert_event(Fields(await read_body(request)), request)
    actor = actor_for(route, user)
    [result] = await submit(request, route, [event], actor)
    if note and note.strip() and result.outcome == "created" and result.incident_id:
        await note_on_incident(request, route, result.incident_id, note, actor)


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
        dedup_key = await open_dedup_key(request, route, identifier, kind)
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
        paging: PagingSettings = request.app.state.paging

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
                    paging=paging,
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
