"""From Opsgenie's terms to ours: a create request as an ingest ``Event``, an alias as a dedup key,
Opsgenie's ``user`` as the actor, and an alert identifier as the open incident it names."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.requests import Request

from tocsin.api.compat.common import Event, IngestRoute, integration_actor
from tocsin.api.compat.opsgenie.fields import MAX_ALIAS, MAX_DESCRIPTION, MAX_MESSAGE, MAX_NOTE, Fields
from tocsin.domain.actor import Actor
from tocsin.domain.incident import PRIORITIES, Status
from tocsin.services.errors import NotFound
from tocsin.services.incidents import records as incidents

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tocsin.db.models import Incident

SEVERITY_FOR_PRIORITY = {"P1": "critical", "P2": "critical", "P3": "warning", "P4": "info", "P5": "info"}


def dedup_key_for(alias: str) -> str:
    """Aliases up to 255 characters are the dedup key itself; longer ones (Opsgenie allows 512) hash."""
    if len(alias) <= incidents.MAX_DEDUP_KEY:
        return alias
    return "sha256:" + hashlib.sha256(alias.encode()).hexdigest()


def actor_for(route: IngestRoute, user: str | None) -> Actor:
    """The integration acts; Opsgenie's ``user`` (display name of the request owner) is recorded with it."""
    actor = integration_actor(route)
    if not user or not user.strip():
        return actor
    return Actor(type=actor.type, id=actor.id, name=f"{user.strip()} via {actor.name}"[:200])


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


async def open_dedup_key(request: Request, route: IngestRoute, identifier: str, kind: str) -> str | None:
    """The dedup key an acknowledge or close is sent to ingest with; None when it names nothing open."""
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
