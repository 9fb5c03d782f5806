"""``/api/services/{service_id}/heartbeats`` (CRUD) and the beat URL ``/heartbeats/{token}``, which
senders hit without an API key: the token in the URL is the credential, as with integration URLs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.responses import JSONResponse

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, ServicesRead, ServicesWrite
from tocsin.api.envelope import error_response
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.heartbeats import HeartbeatCreate, HeartbeatCreated, HeartbeatRead, HeartbeatUpdate
from tocsin.services.ingest import heartbeats

router = APIRouter(prefix="/api/services/{service_id}/heartbeats", tags=["services"])
beats = APIRouter(tags=["heartbeats"])

BEAT_PATH = "/heartbeats/{token}"


def beat_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/heartbeats/{token}"


@router.get("", response_model=ListEnvelope[HeartbeatRead], summary="List a service's heartbeats")
def list_heartbeats(
    service_id: str, key: ServicesRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """Oldest first, each with its state and last beat (the beat URL is shown only on create)."""
    with db.read() as session:
        page = heartbeats.list_heartbeats(
            session=session, tenant=key.tenant, service_id=service_id, limit=limit, offset=offset
        )
        return page_envelope(page, HeartbeatRead.model_validate)


@router.post("", status_code=201, response_model=Envelope[HeartbeatCreated], summary="Add a heartbeat")
def create_heartbeat(
    service_id: str, body: HeartbeatCreate, key: ServicesWrite, db: Db, now: Now, request: Request
) -> dict[str, Any]:
    """Armed at once: with no beat within ``timeout_seconds`` an incident opens on the service."""
    with db.write() as session:
        heartbeat, token = heartbeats.create_heartbeat(
            session=session,
            tenant=key.tenant,
            service_id=service_id,
            name=body.name,
            interval_seconds=body.interval_seconds,
            timeout_seconds=body.timeout_seconds,
            integration_id=body.integration_id,
            now=now,
        )
        read = HeartbeatRead.model_validate(heartbeat).model_dump()
    url = beat_url(str(request.app.state.settings.base_url), token)
    return envelope(HeartbeatCreated(**read, beat_url=url))


@router.get("/{heartbeat_id}", response_model=Envelope[HeartbeatRead], summary="Get a heartbeat")
def get_heartbeat(service_id: str, heartbeat_id: str, key: ServicesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        heartbeat = heartbeats.get_heartbeat(
            session=session, tenant=key.tenant, service_id=service_id, heartbeat_id=heartbeat_id
        )
        return envelope(HeartbeatRead.model_validate(heartbeat))


@router.patch("/{heartbeat_id}", response_model=Envelope[HeartbeatRead], summary="Update a heartbeat")
def update_heartbeat(
    service_id: str, heartbeat_id: str, body: HeartbeatUpdate, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    with db.write() as session:
        heartbeat = heartbeats.update_heartbeat(
            session=session,
            tenant=key.tenant,
            service_id=service_id,
            heartbeat_id=heartbeat_id,
            changes=body.model_dump(exclude_unset=True),
            now=now,
        )
        return envelope(HeartbeatRead.model_validate(heartbeat))


@router.delete("/{heartbeat_id}", status_code=204, response_class=Response, summary="Delete a heartbeat")
def delete_heartbeat(service_id: str, heartbeat_id: str, key: ServicesWrite, db: Db, now: Now) -> Response:
    with db.write() as session:
        heartbeats.delete_heartbeat(
            session=session, tenant=key.tenant, service_id=service_id, heartbeat_id=heartbeat_id, now=now
        )
    return Response(status_code=204)


@beats.api_route(
    BEAT_PATH,
    methods=["GET", "POST", "HEAD", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def beat(token: str, request: Request) -> Response:
    """A beat, by GET or POST (any body: Alertmanager's webhook for the ``Watchdog`` alert, or
    none). Answered after the beat is committed."""
    if request.method not in ("GET", "POST", "HEAD"):
        return error_response(
            "METHOD_NOT_ALLOWED",
            "A beat is a GET or a POST",
            {"allowed": ["GET", "POST"]},
            headers={"Allow": "GET, HEAD, POST"},
        )
    await request.body()  # read whatever was sent, so a keep-alive connection stays usable
    state = request.app.state

    def work() -> dict[str, Any] | None:
        with state.db.write() as session:
            heartbeat = heartbeats.beat(
                session=session, token=token, now=state.clock.now(), paging=state.paging
            )
            return (
                None if heartbeat is None else HeartbeatRead.model_validate(heartbeat).model_dump(mode="json")
            )

    read = await asyncio.to_thread(work)
    if read is None:
        return error_response("NOT_FOUND", "No heartbeat has this URL", {"resource": "heartbeat"})
    return JSONResponse(
        {"data": {"id": read["id"], "state": read["state"], "last_beat_at": read["last_beat_at"]}}
    )
