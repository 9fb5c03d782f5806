"""``GET /live/incidents``: the live stream of an org's incidents (Server-Sent Events).

The first event, and any after the broadcaster says changes may have been missed, is ``refresh``;
the others are ``changed``. Each carries the newest incidents (id, number, status, title) as JSON,
read fresh for this tenant when the event is sent, so a page that reconnects is whole again after
one event. FastAPI's SSE writes a ``: ping`` comment after 15 s of silence, which keeps proxies
from closing an idle stream. The incident screens send rendered rows on their own streams; this
one serves scripts, the tests and the fan-out bench, and is the pattern the screens follow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from tocsin.domain.actor import Tenant
from tocsin.services.incidents import records
from tocsin.web.live import Broadcaster, Notice
from tocsin.web.viewer import IncidentReader

router = APIRouter(include_in_schema=False)

NEWEST = 25  # incidents per event: one screen's page
# At most one event a second per stream: during a storm changes arrive several times a second, a
# person reads no faster, and every event is one write per open tab. Changes meanwhile fold into
# the next event (the subscription's flag), so none is lost, only merged.
MIN_GAP_SECONDS = 1.0


async def _newest(request: Request, tenant: Tenant) -> str:
    """The newest incidents as the JSON text of an event, encoded once for every open stream."""
    db = request.app.state.db

    def read() -> str:
        with db.read() as session:
            page = records.list_incidents(
                session=session, tenant=tenant, filters=records.IncidentFilters(), limit=NEWEST, offset=0
            )
            rows: list[dict[str, Any]] = [
                {"id": row.id, "number": row.number, "status": row.status, "title": row.title}
                for row in page.items
            ]
        return orjson.dumps(rows).decode()

    return await run_in_threadpool(read)


@router.get("/live/incidents", response_class=EventSourceResponse)
async def incidents(request: Request, viewer: IncidentReader) -> AsyncIterator[ServerSentEvent]:
    broadcaster: Broadcaster = request.app.state.live
    with broadcaster.subscribe(viewer.tenant) as subscription:
        notice = Notice(refresh=True)
        while not broadcaster.closing:
            event = "refresh" if notice.refresh else "changed"
            rows = await broadcaster.shared(viewer.tenant, "newest", lambda: _newest(request, viewer.tenant))
            yield ServerSentEvent(event=event, raw_data=rows, retry=2000)
            await asyncio.sleep(MIN_GAP_SECONDS)
            notice = await subscription.next()
            if broadcaster.closing:
                return  # the server is shutting down: end the response so it can
