"""What every inbound dialect shares: find the integration by its key, apply the per-integration and
per-org alert limits, and push events through the durable group-commit ingest path (answered only
after the commit), exactly as ``POST /api/events`` does.

Dialects answer errors in their own product's shape, so the helpers here raise ``ApiError`` and
each dialect catches it (or installs its own handler) to render the foreign body."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.requests import Request

from tocsin.api.errors import ApiError
from tocsin.domain.actor import Actor
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.ingest.bulk import IngestItem
from tocsin.services.ingest.events import Event, IngestResult


async def find_route(request: Request, routing_key: str) -> IngestRoute | None:
    """The integration whose routing key (integration key, token) is ``routing_key``, or None."""
    if not routing_key or len(routing_key) > 128:
        return None
    route: IngestRoute | None = await request.app.state.routes.resolve(routing_key)
    return route


def integration_actor(route: IngestRoute) -> Actor:
    """Events that arrive by an integration's secret URL are recorded under the integration."""
    return Actor(type="api_key", id=None, name=route.integration_name)


async def submit(
    request: Request, route: IngestRoute, events: Sequence[Event], actor: Actor
) -> list[IngestResult]:
    """Ingest ``events`` for ``route`` durably, in order; the alert limits apply to triggers.

    Raises ``ApiError("RATE_LIMITED", ...)`` (with ``Retry-After`` in its headers) before anything
    is written when a limit is hit, and ``ApiError("SERVICE_UNAVAILABLE")`` when the limiter's
    store is down (it never fails open)."""
    state = request.app.state
    triggers = sum(1 for event in events if event.action == "trigger")
    for _ in range(triggers):
        await state.alert_limits.check(route)
    now = state.clock.now()
    # All queued before any is awaited, in order, so they share one group commit (a payload of N
    # alerts is one transaction, not N); the batch applies them in this order.
    waits = [
        state.committer.run(state.ingest, IngestItem(route=route, event=event, actor=actor, now=now))
        for event in events
    ]
    results: list[IngestResult] = list(await asyncio.gather(*waits))
    for event, result in zip(events, results, strict=True):
        state.metrics.events.labels(event.action, result.outcome).inc()
    return results


__all__ = ["ApiError", "Event", "IngestResult", "IngestRoute", "find_route", "integration_actor", "submit"]
