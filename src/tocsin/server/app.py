"""The whole HTTP app ``tocsin serve`` runs: the API (``api.app``) with the web UI (``web``)
installed beside it. The two layers do not import each other; this is where they meet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from prometheus_client.registry import Collector

from tocsin.api.app import create_app as create_api
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.services.writes.remote_commit import ManagedApplier
from tocsin.web.app import WebUI


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    background: Sequence[Callable[[], AbstractAsyncContextManager[Any]]] = (),
    ingest_writer: ManagedApplier | None = None,
    metrics_from: Sequence[Collector] = (),
) -> FastAPI:
    """``api.app.create_app`` (same arguments) plus the web UI and its live broadcaster."""
    web = WebUI()
    app = create_api(
        settings,
        database,
        clock,
        background=[web.running, *background],
        ingest_writer=ingest_writer,
        metrics_from=metrics_from,
    )
    web.install(app)
    app.state.web = web  # tocsin serve ends its live streams at shutdown (``processes.serve``)
    return app
