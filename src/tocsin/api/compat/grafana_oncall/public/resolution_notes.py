"""Grafana OnCall ``/api/v1/resolution_notes``: our incident notes.

``alert_group_id`` is the incident id; ``source`` is always ``Web`` (notes come in over the API);
``author`` is the user whose key wrote the note, ``null`` for a service key. Creating, editing and
deleting a note is on the incident's timeline. Listed newest incident first, 50 a page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, invalid, timestamp
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.deps import Db, IncidentsRead, IncidentsWrite, Now
from tocsin.db.models import Note
from tocsin.services.errors import NotFound
from tocsin.services.incidents import records as incidents
from tocsin.services.incidents import timeline
from tocsin.services.incidents.timeline import MAX_NOTE_CHARS
from tocsin.services.pagination import Page

router = SlashRouter()


def _render(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "alert_group_id": note.incident_id,
        "author": note.author_id if note.author_type == "user" else None,
        "source": "Web",
        "created_at": timestamp(note.created_at),
        "text": note.content,
    }


def _text(body: dict[str, Any]) -> str:
    """``text`` checked as DRF's ``CharField`` would, with our length limit."""
    if "text" not in body:
        raise invalid("text", "This field is required.")
    value = body["text"]
    if value is None:
        raise invalid("text", "This field may not be null.")
    if not isinstance(value, str):
        raise invalid("text", "Not a valid string.")
    if not value.strip():
        raise invalid("text", "This field may not be blank.")
    if len(value.strip()) > MAX_NOTE_CHARS:
        raise invalid("text", f"Ensure this field has no more than {MAX_NOTE_CHARS} characters.")
    return value


@router.get("/resolution_notes", summary="List resolution notes (Grafana OnCall)")
def list_notes(
    request: Request, key: IncidentsRead, db: Db, alert_group_id: str | None = None
) -> dict[str, Any]:
    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[Note]:
            return timeline.list_tenant_notes(
                session=session,
                tenant=key.tenant,
                incident_id=alert_group_id or None,
                limit=limit,
                offset=offset,
            )

        return page_of(request, fetch, _render)


@router.get("/resolution_notes/{note_id}", summary="Get a resolution note")
def get_note(note_id: str, key: IncidentsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return _render(timeline.get_note(session=session, tenant=key.tenant, note_id=note_id))


@router.post("/resolution_notes", status_code=201, summary="Add a resolution note")
def create_note(body: Body, key: IncidentsWrite, db: Db, now: Now) -> dict[str, Any]:
    if "alert_group_id" not in body:
        raise invalid("alert_group_id", "This field is required.")
    group_id = body["alert_group_id"]
    if group_id is None:
        raise invalid("alert_group_id", "This field may not be null.")
    if not isinstance(group_id, str):
        kind = type(group_id).__name__
        raise invalid("alert_group_id", f"Incorrect type. Expected pk value, received {kind}.")
    text = _text(body)
    with db.write() as session:
        try:
            incident = incidents.get_incident(session=session, tenant=key.tenant, ref=group_id)
        except NotFound:
            raise invalid("alert_group_id", f'Invalid pk "{group_id}" - object does not exist.') from None
        note = timeline.add_note(session=session, incident=incident, content=text, actor=key.actor, now=now)
        return _render(note)


def _update(
    note_id: str, body: dict[str, Any], key: Any, db: Any, now: Any, *, partial: bool
) -> dict[str, Any]:
    with db.write() as session:
        note = timeline.get_note(session=session, tenant=key.tenant, note_id=note_id)
        if "text" in body or not partial:
            note = timeline.update_note(
                session=session,
                tenant=key.tenant,
                note_id=note.id,
                content=_text(body),
                actor=key.actor,
                now=now,
            )
        return _render(note)


@router.put("/resolution_notes/{note_id}", summary="Replace a resolution note's text")
def replace_note(note_id: str, body: Body, key: IncidentsWrite, db: Db, now: Now) -> dict[str, Any]:
    return _update(note_id, body, key, db, now, partial=False)


@router.patch("/resolution_notes/{note_id}", summary="Edit a resolution note")
def edit_note(note_id: str, body: Body, key: IncidentsWrite, db: Db, now: Now) -> dict[str, Any]:
    return _update(note_id, body, key, db, now, partial=True)


@router.delete("/resolution_notes/{note_id}", status_code=204, summary="Delete a resolution note")
def delete_note(note_id: str, key: IncidentsWrite, db: Db, now: Now) -> Response:
    with db.write() as session:
        timeline.delete_note(session=session, tenant=key.tenant, note_id=note_id, actor=key.actor, now=now)
    return Response(status_code=204)
