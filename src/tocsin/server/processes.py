"""The processes of a Tocsin server, as the CLI starts them: ``serve`` (the HTTP app, which starts
and supervises its children), ``worker`` (the engine alone, or as ``serve``'s engine child) and
``ingest_writer`` (``serve``'s child that commits event batches on a SQLite file)."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from prometheus_client import start_http_server
from prometheus_client.registry import Collector
from uvicorn.config import STARTUP_FAILURE

from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.engine.app import running
from tocsin.engine.child import follow_parent
from tocsin.engine.metrics import EngineMetrics
from tocsin.server import engine_child
from tocsin.server.app import create_app
from tocsin.server.engine_metrics import EngineMetricsFiles
from tocsin.server.ingest_writer import IngestWriter
from tocsin.server.tls import TlsFiles
from tocsin.services.ingest.bulk import batch_handler
from tocsin.services.ingest.writer import serve_batches
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter
from tocsin.web.app import WebUI


class _Server(uvicorn.Server):
    """uvicorn's server, which ends the web UI's live streams as it starts shutting down: it
    waits for every open response before the app's own shutdown, and a live stream (SSE) never
    ends by itself, so without this a SIGTERM would wait forever for an open browser tab."""

    def __init__(self, config: uvicorn.Config, *, before_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.before_shutdown()
        await super().shutdown(sockets)


def serve(config: Settings, *, host: str, port: int, tls: TlsFiles | None = None) -> None:
    """The HTTP app (uvloop + httptools) and the engine: in a child process (the default), in this
    process (``engine_process`` off), or not at all (``engine_enabled`` off). On a SQLite file the
    ingest writer child commits events (``ingest_writer`` "process", the default there). With
    ``tls`` (checked by ``server.tls.tls_files``) it serves HTTPS only."""
    database = Database(config.database_url, sqlite_synchronous=config.sqlite_synchronous)
    writer = None
    if config.ingest_writer == "process" or (config.ingest_writer == "auto" and database.is_sqlite_file):
        writer = IngestWriter(batch_handler(PagingSettings.from_settings(config)))
    try:
        with application(config, database, ingest_writer=writer) as app:
            web: WebUI = app.state.web
            server = _Server(
                uvicorn.Config(
                    app,
                    host=host,
                    port=port,
                    loop="uvloop",
                    http="httptools",
                    log_config=None,
                    access_log=False,  # api.middleware.Observability writes the access line
                    use_colors=False,  # logs.py renders every line, uvicorn's too
                    ssl_certfile=tls.certfile if tls else None,
                    ssl_keyfile=tls.keyfile if tls else None,
                ),
                before_shutdown=web.close_streams,
            )
            server.run()
            if not server.started:  # as uvicorn.run: a server that never started exits 3
                raise SystemExit(STARTUP_FAILURE)
    finally:
        database.dispose()


@contextmanager
def application(
    config: Settings, database: Database, *, ingest_writer: IngestWriter | None = None
) -> Iterator[FastAPI]:
    """The app of ``tocsin serve`` with its engine as the settings place it (a child, this process
    or none), the engine's series included in the app's ``/metrics`` either way: the child's
    through the files it writes (``server.engine_metrics``), the in-process engine's registry
    directly. Entering the app's lifespan starts the engine; leaving this block cleans up after it."""
    background: list[Callable[[], AbstractAsyncContextManager[Any]]] = []
    metrics_from: list[Collector] = []
    with ExitStack() as cleanup:
        if config.engine_enabled and config.engine_process:
            files = cleanup.enter_context(EngineMetricsFiles())
            metrics_from.append(files.collector())
            background.append(lambda: _engine_child(files))
        elif config.engine_enabled:
            engine_db = Database(
                config.database_url,
                sqlite_synchronous=config.engine_sqlite_synchronous,
                yields_to_ingest=True,
            )
            cleanup.callback(engine_db.dispose)
            engine_metrics = EngineMetrics()
            metrics_from.append(engine_metrics.registry)
            background.append(lambda: running(config, engine_db, metrics=engine_metrics))
        yield create_app(
            config,
            database=database,
            background=background,
            ingest_writer=ingest_writer,
            metrics_from=metrics_from,
        )


@asynccontextmanager
async def _engine_child(files: EngineMetricsFiles) -> AsyncIterator[None]:
    """The supervised engine child for the app's lifespan, its metrics files removed when the
    lifespan ends: uvicorn re-raises the SIGTERM it caught once the lifespan is over, and the
    process dies by it before any code after ``uvicorn.run`` runs."""
    try:
        async with engine_child.supervised(metrics=files):
            yield
    finally:
        files.close()


def worker(
    config: Settings,
    *,
    wake_fd: int | None,
    on_ready: Callable[[], None] = lambda: None,
    metrics_port: int | None = None,
) -> None:
    """The engine until SIGINT or SIGTERM. With ``wake_fd`` it is ``serve``'s child: woken by the
    pipe and gone with the server (``engine.child.follow_parent``), its series written where the
    server's ``/metrics`` reads them. Alone, with ``metrics_port``, it serves its own series on
    ``http://host:port/metrics`` (prometheus_client's server, in a thread); the database gauges
    (jobs pending, heartbeats) are any ``tocsin serve``'s on the same database."""
    metrics = EngineMetrics()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        database = Database(
            config.database_url, sqlite_synchronous=config.engine_sqlite_synchronous, yields_to_ingest=True
        )
        try:
            async with running(config, database, metrics=metrics) as engine:
                if wake_fd is not None:
                    follow_parent(wake_fd, engine.wake)
                else:
                    on_ready()
                await stop.wait()
        finally:
            database.dispose()

    exporter = None
    if metrics_port is not None and wake_fd is None:
        exporter, _ = start_http_server(metrics_port, addr=config.host, registry=metrics.registry)
    try:
        asyncio.run(main())
    finally:
        if exporter is not None:
            exporter.shutdown()


def ingest_writer(config: Settings, *, fd: int) -> None:
    """``serve``'s ingest writer child: commits the batches that come over socket ``fd`` until the
    server closes it."""
    # Only the server's end-of-file stops it: a SIGTERM from a process group or a supervisor must
    # not drop a batch in hand, and the server closes the socket when it stops.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    database = Database(config.database_url, sqlite_synchronous=config.sqlite_synchronous)
    committer = GroupCommitter(database, max_batch=config.ingest_batch_max, name="ingest-writer")
    try:
        serve_batches(
            socket.socket(fileno=fd),
            committer,
            database.priority,
            paging=PagingSettings.from_settings(config),
        )
    finally:
        database.dispose()
