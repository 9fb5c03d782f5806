"""The ASGI application: FastAPI for the management API and its OpenAPI spec, plain Starlette
routes for the hot ingest path, pure ASGI middleware around both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client.registry import Collector

import tocsin
from tocsin.api import docs as api_docs
from tocsin.api import gauges
from tocsin.api.access_log import AccessLog
from tocsin.api.auth import KeyResolver
from tocsin.api.compat import opsgenie
from tocsin.api.compat.grafana_oncall import inbound as grafana_integrations
from tocsin.api.compat.grafana_oncall import public as grafana_oncall
from tocsin.api.compat.pagerduty import endpoints as pagerduty
from tocsin.api.compat.splunk import inbound as victorops
from tocsin.api.compat.splunk import public as splunk_public
from tocsin.api.dialects import NATIVE, Dialects
from tocsin.api.errors import install_error_handlers
from tocsin.api.ingest import events, fastlane
from tocsin.api.ingest.intake import AlertLimits, RouteResolver
from tocsin.api.metrics import Metrics
from tocsin.api.middleware import ApiGate, BodySizeLimit, LabelledRoute, Observability
from tocsin.api.oversize import OversizeAnswers
from tocsin.api.ratelimit import RateLimiter
from tocsin.api.routes import (
    change_events,
    channel_health,
    contact_checks,
    contacts,
    escalation_policies,
    health,
    heartbeats,
    ical,
    incidents,
    keys,
    oncalls,
    org,
    schedules,
    service_channels,
    services,
    swap_requests,
    teams,
    twilio,
    users,
    webhooks,
)
from tocsin.api.routes import readiness as readiness_routes
from tocsin.api.usage import KeyUsageTracker
from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings, get_settings
from tocsin.db.session import Database
from tocsin.services.ingest.bulk import batch_handler
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter
from tocsin.services.writes.remote_commit import ManagedApplier

OPEN_PATHS = frozenset({"/api/docs"})


def _event_openapi() -> dict[str, Any]:
    """The events route is plain Starlette; describe it from its msgspec types."""
    (schema,), components = msgspec.json.schema_components(
        [events.EventIn], ref_template="#/components/schemas/{name}"
    )
    return {
        "components": components,
        "path": {
            "post": {
                "tags": ["events"],
                "summary": "Send an event (trigger, acknowledge, resolve)",
                "description": "PagerDuty Events v2 shaped. Needs the events:write scope. "
                "Answered 202 once the event is committed.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                "responses": {
                    "202": {
                        "description": '{"status":"success","message":"Event processed","dedup_key":"..."}'
                    },
                    "400": {"description": "VALIDATION_ERROR (details.field names the field)"},
                    "429": {"description": "RATE_LIMITED"},
                },
            }
        },
    }


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    background: Sequence[Callable[[], AbstractAsyncContextManager[Any]]] = (),
    ingest_writer: ManagedApplier | None = None,
    metrics_from: Sequence[Collector] = (),
) -> FastAPI:
    """The app. ``background`` are context managers entered for the app's lifetime: ``tocsin serve``
    passes the engine, which the API layer may not import. ``ingest_writer``: the child process
    that commits events (``tocsin serve`` on SQLite); batches commit here until it is ready.
    ``metrics_from``: more series for ``/metrics``, the engine's (``server.engine_metrics``)."""
    settings = settings or get_settings()
    paging = PagingSettings.from_settings(settings)
    # Every event goes through this one handler, the writer child's when there is one (it commits
    # the batches of that handler): see ``bulk.batch_handler``.
    ingest = ingest_writer.handler if ingest_writer is not None else batch_handler(paging)
    owns_db = database is None
    db = database or Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    clock = clock or SystemClock()
    metrics = Metrics()
    limiter = RateLimiter(settings)
    resolver = KeyResolver(db, settings.auth_cache_seconds)
    usage = KeyUsageTracker(db, clock, settings.key_usage_flush_seconds)
    inline = (
        ingest_writer is not None
        or settings.ingest_writer == "inline"
        or (settings.ingest_writer in ("auto", "process") and not db.is_postgres)
    )
    committer = GroupCommitter(
        db,
        max_batch=settings.ingest_batch_max,
        name="ingest",
        observe=metrics.observe_batch,
        inline=inline,
        remote=ingest_writer,
    )
    gauges.install(metrics, db, clock, settings)
    for collector in metrics_from:
        metrics.include(collector)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        committer.start()
        if ingest_writer is not None:
            ingest_writer.start()
        usage.start()
        try:
            async with AsyncExitStack() as stack:
                for make in background:
                    await stack.enter_async_context(make())
                yield
        finally:
            await usage.stop()
            committer.stop()
            if ingest_writer is not None:
                await ingest_writer.close()
            await limiter.aclose()
            if owns_db:
                db.dispose()

    app = fastlane.App(
        title="Tocsin",
        version=tocsin.__version__,
        description="Self-hosted on-call and incident response. Native API as in spec 003.",
        lifespan=lifespan,
        docs_url=None,  # api.docs serves /docs and /redoc from the package, not a CDN
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock
    app.state.paging = paging
    app.state.ingest = ingest
    app.state.metrics = metrics
    app.state.limiter = limiter
    app.state.resolver = resolver
    app.state.usage = usage
    app.state.committer = committer
    app.state.routes = RouteResolver(db, settings.auth_cache_seconds)
    app.state.alert_limits = AlertLimits(limiter)
    dialects = Dialects([NATIVE, grafana_oncall.DIALECT, splunk_public.DIALECT])
    app.state.dialects = dialects

    install_error_handlers(app)
    api_docs.install(app)
    app.router.routes.append(LabelledRoute("/api/events", events.post_event, methods=["POST"]))
    app.router.routes.extend(pagerduty.routes())
    app.router.routes.extend(grafana_integrations.routes())
    app.router.routes.extend(opsgenie.routes())
    app.router.routes.extend(victorops.routes())
    for router in (
        incidents.router,
        services.router,
        users.router,
        teams.router,
        keys.router,
        schedules.router,
        swap_requests.router,
        oncalls.router,
        ical.router,
        webhooks.router,
        escalation_policies.router,
        contacts.router,
        contact_checks.router,
        service_channels.router,
        heartbeats.router,
        heartbeats.beats,
        twilio.router,
        change_events.router,
        org.router,
        channel_health.router,
        readiness_routes.router,
        grafana_oncall.router,
        splunk_public.router,
    ):
        app.include_router(router)
    app.router.routes.extend(
        [
            LabelledRoute("/healthz", health.healthz, methods=["GET"]),
            LabelledRoute("/readyz", health.readyz, methods=["GET"]),
            LabelledRoute("/metrics", health.metrics, methods=["GET"]),
        ]
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            extra = _event_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(extra["components"])
            schema["paths"]["/api/events"] = extra["path"]
            schema["components"]["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
            schema["security"] = [{"bearer": []}, {"apiKey": []}]
            for operations in schema["paths"].values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses["400"] = {
                            "description": "VALIDATION_ERROR: details.field and details.reason"
                        }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    app.add_middleware(
        ApiGate, resolver=resolver, limiter=limiter, usage=usage, dialects=dialects, open_paths=OPEN_PATHS
    )
    oversize = OversizeAnswers(
        (*pagerduty.OVERSIZE, *opsgenie.OVERSIZE, *victorops.OVERSIZE, *grafana_integrations.OVERSIZE),
        dialects,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, answer=oversize)
    access_log = AccessLog(settings.access_log)
    app.add_middleware(Observability, metrics=metrics, access_log=access_log)
    # POST /api/events, ahead of all the above
    fastlane.install(app, max_bytes=settings.max_body_bytes, access_log=access_log)
    return app
