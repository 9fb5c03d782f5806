"""The baseline: the least any JSON ingest endpoint can do. One plain Starlette POST route that
decodes the body with orjson and answers 202 with a small orjson body. No auth, no database.

Served by ``bench/ingest.py`` with the same uvicorn flags as ``tocsin serve``:
``python -m uvicorn --app-dir bench echo_app:app --loop uvloop --http httptools --no-access-log``."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def post_event(request: Request) -> Response:
    event = orjson.loads(await request.body())
    body = {"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key")}
    return Response(orjson.dumps(body), status_code=202, media_type="application/json")


app = Starlette(routes=[Route("/api/events", post_event, methods=["POST"])])
