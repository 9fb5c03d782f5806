"""Who is looking: the tenant and permissions behind a web request.

Today only an API key (``Authorization: Bearer`` or ``X-API-Key``, as on the API) opens a live
stream, for scripts, the tests and the bench; the signed-in session cookie joins here when sign-in
lands, so the streams' routes do not change. Keys are looked up by their hash
(``services.access.keys.authenticate``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tocsin.domain.actor import Tenant
from tocsin.domain.api_keys import secret_from_headers
from tocsin.domain.scopes import grants
from tocsin.services.access import keys
from tocsin.services.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Viewer:
    tenant: Tenant
    scopes: frozenset[str]


async def _incident_reader(request: Request) -> Viewer:
    secret = secret_from_headers(request.headers)
    if secret is None:
        raise HTTPException(401, "Send an API key: Authorization: Bearer <key>")
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
