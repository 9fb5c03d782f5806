"""The processes of a Tocsin server, as the CLI starts them: ``serve`` (the HTTP app, which starts
and supervises its children), ``worker`` (the engine alone, or as ``serve``'s engine child) and
``ingest_writer`` (``serve``'s child that commits event batches on a SQLite file)."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.engine.app import running
from tocsin.engine.child import follow_parent
from tocsin.server import engine_child
from tocsin.server.app import create_app
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
    engine_db: Database | None = None  # only when the engine runs in this process
    background: list[Callable[[], AbstractAsyncContextManager[Any]]] = []
    if config.engine_enabled and config.engine_process:
        background.append(engine_child.supervised)
    elif config.engine_enabled:
        in_process = engine_db = Database(
            config.database_url, sqlite_synchronous=config.engine_sqlite_synchronous, yields_to_ingest=True
        )
        background.append(lambda: running(config, in_process))
    application = create_app(config, database=database, background=background, ingest_writer=writer)
    web: WebUI = application.state.web
    uvicorn_config = uvicorn.Config(
        application,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        ssl_certfile=tls.certfile if tls else None,
        ssl_keyfile=tls.keyfile if tls else None,
    )
    try:
        server = _Server(uvicorn_config, before_shutdown=web.close_streams)
        server.run()
        if not server.started:  # as uvicorn.run: a server that never started exits 3
            raise SystemExit(STARTUP_FAILURE)
    finally:
        database.dispose()
        if engine_db is not None:
            engine_db.dispose()


def worker(config: Settings, *, wake_fd: int | None, on_ready: Callable[[], None] = lambda: None) -> None:
    """The engine until SIGINT or SIGTERM. With ``wake_fd`` it is ``serve``'s child: woken by the
    pipe and gone with the server (``engine.child.follow_parent``)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        database = Database(
            config.database_url, sqlite_synchronous=config.engine_sqlite_synchronous, yields_to_ingest=True
        )
        try:
            async with running(config, database) as engine:
                if wake_fd is not None:
                    follow_parent(wake_fd, engine.wake)
                else:
                    on_ready()
                await stop.wait()
        finally:
            database.dispose()

    asyncio.run(main())


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
