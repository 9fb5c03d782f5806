"""``GET /live/incidents``: the live stream of an org's incidents (Server-Sent Events).

The first event, and any after the broadcaster says changes may have been missed, is ``refresh``;
the others are ``changed``. Each carries the newest incidents (id, number, status, title) as JSON,
read fresh for this tenant when the event is sent, so a page that reconnects is whole again after
one event. FastAPI's SSE writes a ``: ping`` comment after 15 s of silence, which keeps proxies
from closing an idle stream. The incident screens send rendered rows on their own streams; this
one serves scripts, the tests and the fan-out bench, and is the pattern the screens follow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from tocsin.domain.actor import Tenant
from tocsin.services.incidents import records
from tocsin.web.live import Broadcaster, Notice
from tocsin.web.viewer import IncidentReader

router = APIRouter(include_in_schema=False)

NEWEST = 25  # incidents per event: one screen's page


async def _newest(request: Request, tenant: Tenant) -> list[dict[str, Any]]:
    db = request.app.state.db

    def read() -> list[dict[str, Any]]:
        with db.read() as session:
            page = records.list_incidents(
                session=session, tenant=tenant, filters=records.IncidentFilters(), limit=NEWEST, offset=0
            )
            return [
                {"id": row.id, "number": row.number, "status": row.status, "title": row.title}
                for row in page.items
            ]

    return await run_in_threadpool(read)


@router.get("/live/incidents", response_class=EventSourceResponse)
async def incidents(request: Request, viewer: IncidentReader) -> AsyncIterator[ServerSentEvent]:
    broadcaster: Broadcaster = request.app.state.live
    with broadcaster.subscribe(viewer.tenant) as subscription:
        notice = Notice(refresh=True)
        while True:
            event = "refresh" if notice.refresh else "changed"
            yield ServerSentEvent(event=event, data=await _newest(request, viewer.tenant), retry=2000)
            notice = await subscription.next()
