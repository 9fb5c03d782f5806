"""Who is looking: the tenant and permissions behind a web request.

A live stream opens for a signed-in person (the session cookie: the screens' own streams), or for
an API key (``Authorization: Bearer`` or ``X-API-Key``, as on the API: scripts, the tests and the
bench). A key, when sent, decides: a request that names a key is judged by it, never by a cookie
that came along. Keys are looked up by their hash (``services.access.keys.authenticate``); a
person's reading comes from their role (``domain.roles``), as on every screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tocsin.domain.actor import Tenant
from tocsin.domain.api_keys import secret_from_headers
from tocsin.domain.roles import Action
from tocsin.domain.scopes import grants
from tocsin.services.access import keys
from tocsin.services.errors import Forbidden
from tocsin.web.session import current_person

READ_INCIDENTS = "incidents:read"


@dataclass(frozen=True, slots=True)
class Viewer:
    tenant: Tenant
    scopes: frozenset[str]


async def _incident_reader(request: Request) -> Viewer:
    secret = secret_from_headers(request.headers)
    if secret is None:
        person = await current_person(request)
        if person is None:
            raise HTTPException(401, "Sign in, or send an API key: Authorization: Bearer <key>")
        if not person.can(Action.READ):
            raise Forbidden("Your role may not read incidents", {"reason": "role"})
        return Viewer(tenant=person.tenant, scopes=frozenset({READ_INCIDENTS}))
    db = request.app.state.db

    def lookup() -> keys.KeyRecord | None:
        with db.read() as session:
            return keys.authenticate(session=session, secret=secret)

    record = await run_in_threadpool(lookup)
    if record is None:
        raise HTTPException(401, "Invalid or revoked API key")
    if not grants(record.scopes, "incidents:read"):
        raise Forbidden("API key lacks the 'incidents:read' scope", {"required_scope": "incidents:read"})
    return Viewer(tenant=record.tenant, scopes=record.scopes)


IncidentReader = Annotated[Viewer, Depends(_incident_reader)]
