"""Liveness, readiness (the database and the limiter store answer) and Prometheus metrics."""

from __future__ import annotations

import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await anyio.to_thread.run_sync(state.db.ping)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"error: {type(exc).__name__}"
    checks["rate_limiter"] = "ok" if await state.limiter.check_store() else "error: unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


async def metrics(request: Request) -> Response:
    payload = await anyio.to_thread.run_sync(generate_latest, request.app.state.metrics.registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
