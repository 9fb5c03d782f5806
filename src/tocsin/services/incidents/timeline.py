"""The incident timeline and notes: every state change is written down with who did it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Incident, Note, TimelineEntry
from tocsin.domain.actor import Actor, Tenant
from tocsin.ids import new_id
from tocsin.services.errors import Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_filter

MAX_NOTE_CHARS = 10_000


def record(
    *,
    session: Session,
    incident: Incident,
    type: str,
    message: str,
    actor: Actor,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one entry to an incident's timeline (in the caller's transaction)."""
    entry = TimelineEntry(
        id=new_id("timeline"),
        org_id=incident.org_id,
        livemode=incident.livemode,
        incident_id=incident.id,
        type=type,
        message=message[:2000],
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        data=data or {},
        created_at=now,
    )
    session.add(entry)
    return entry


def latest(*, session: Session, incident: Incident, types: tuple[str, ...]) -> TimelineEntry | None:
    """The incident's newest entry of one of ``types``: who acknowledged or resolved it, for an
    entry that says why a page was dropped."""
    return session.scalar(
        select(TimelineEntry)
        .where(
            *tenant_filter(TimelineEntry, Tenant(incident.org_id, incident.livemode)),
            TimelineEntry.incident_id == incident.id,
            TimelineEntry.type.in_(types),
        )
        .order_by(TimelineEntry.created_at.desc(), TimelineEntry.id.desc())
        .limit(1)
    )


def list_entries(
    *, session: Session, tenant: Tenant, incident_id: str, limit: int, offset: int
) -> Page[TimelineEntry]:
    stmt = (
        select(TimelineEntry)
        .where(*tenant_filter(TimelineEntry, tenant), TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.created_at, TimelineEntry.id)
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def add_note(*, session: Session, incident: Incident, content: str, actor: Actor, now: datetime) -> Note:
    """A note from a responder; also noted on the timeline so the story reads in one place."""
    text = content.strip()
    if not text:
        raise Invalid("content", "required", "a note needs some content")
    if len(text) > MAX_NOTE_CHARS:
        raise Invalid("content", "too_long", f"a note is at most {MAX_NOTE_CHARS} characters")
    note = Note(
        id=new_id("note"),
        org_id=incident.org_id,
        livemode=incident.livemode,
        incident_id=incident.id,
        content=text,
        author_type=actor.type,
        author_id=actor.id,
        author_name=actor.name,
        created_at=now,
    )
    session.add(note)
    record(
        session=session,
        incident=incident,
        type="note_added",
        message=f"{actor.name} added a note",
        actor=actor,
        now=now,
        data={"note_id": note.id},
    )
    session.flush()
    return note


def list_notes(*, session: Session, tenant: Tenant, incident_id: str, limit: int, offset: int) -> Page[Note]:
    stmt = (
        select(Note)
        .where(*tenant_filter(Note, tenant), Note.incident_id == incident_id)
        .order_by(Note.created_at, Note.id)
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def _check_note_text(content: str) -> str:
    text = content.strip()
    if not text:
        raise Invalid("content", "required", "a note needs some content")
    if len(text) > MAX_NOTE_CHARS:
        raise Invalid("content", "too_long", f"a note is at most {MAX_NOTE_CHARS} characters")
    return text


def get_note(*, session: Session, tenant: Tenant, note_id: str) -> Note:
    """A note of the tenant by id; another org's note is not found."""
    return load(session=session, model=Note, tenant=tenant, ident=note_id, resource="note")


def list_tenant_notes(
    *, session: Session, tenant: Tenant, incident_id: str | None = None, limit: int, offset: int
) -> Page[Note]:
    """Notes across the tenant (or of one incident): newest incidents first, each incident's notes
    oldest first, the order Grafana OnCall lists resolution notes in."""
    stmt = (
        select(Note)
        .join(Incident, Incident.id == Note.incident_id)
        .where(*tenant_filter(Note, tenant))
        .order_by(Incident.created_at.desc(), Incident.id.desc(), Note.created_at, Note.id)
    )
    if incident_id is not None:
        stmt = stmt.where(Note.incident_id == incident_id)
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_note(
    *, session: Session, tenant: Tenant, note_id: str, content: str, actor: Actor, now: datetime
) -> Note:
    """New text for a note; the edit is on the incident's timeline."""
    note = get_note(session=session, tenant=tenant, note_id=note_id)
    text = _check_note_text(content)
    if text != note.content:
        note.content = text
        incident = session.get_one(Incident, note.incident_id)
        record(
            session=session,
            incident=incident,
            type="note_updated",
            message=f"{actor.name} edited a note",
            actor=actor,
            now=now,
            data={"note_id": note.id},
        )
    session.flush()
    return note


def delete_note(*, session: Session, tenant: Tenant, note_id: str, actor: Actor, now: datetime) -> None:
    """Remove a note; that it existed stays on the timeline."""
    note = get_note(session=session, tenant=tenant, note_id=note_id)
    incident = session.get_one(Incident, note.incident_id)
    record(
        session=session,
        incident=incident,
        type="note_deleted",
        message=f"{actor.name} deleted a note",
        actor=actor,
        now=now,
        data={"note_id": note.id},
    )
    session.delete(note)
    session.flush()
