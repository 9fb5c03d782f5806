"""The ingest writer child, the server's side: started in the background, restarted when it dies
(``server.supervision``), and the socket that carries the batches to it and the answers back.

Why a child, the fallback while none is connected, and what a batch lost with a writer answers:
``services.ingest.writer``, the child's side."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from tocsin.server.supervision import supervise
from tocsin.services import jobs
from tocsin.services.errors import ServiceError
from tocsin.services.ingest.frames import READY, encode_frame, pack_items, read_frame, unpack_result
from tocsin.services.writes.remote_commit import BatchHandler, RemoteUnavailable

log = logging.getLogger("tocsin.ingest")

START_SECONDS = 60.0  # a writer that has not said ready by then is killed and started again
STOP_SECONDS = 30.0  # how long a stopping server waits for answers due and for the child's exit


class WriterLost(ServiceError):
    """The writer died with a batch in hand; whether it committed is unknown, so the caller is
    asked to send the event again (the answer to a crash of the whole server too)."""

    code = "SERVICE_UNAVAILABLE"


def writer_command() -> list[str]:
    """``tocsin ingest-writer`` with this interpreter; the child reads the same environment."""
    return [sys.executable, "-m", "tocsin.cli", "ingest-writer"]


class IngestWriter:
    """One child process, started and restarted in the background, and the connection to it.
    ``GroupCommitter(remote=...)`` sends it the batches of ``handler`` (``bulk.batch_handler``'s,
    which the app then submits its events with; the child builds its own from its settings)."""

    def __init__(self, handler: BatchHandler, command: list[str] | None = None) -> None:
        self.handler = handler
        self._command = command or writer_command()
        self._process: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listening: asyncio.Task[str] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._waiting: dict[int, asyncio.Future[list[Any]]] = {}
        self._frames = itertools.count()
        self._closed = False
        self.batches = 0
        self.failed_starts = 0  # starts that never reached READY (seen in logs and tests)

    @property
    def connected(self) -> bool:
        return self._writer is not None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child in the background, and again whenever it dies; batches commit in the
        server while none is connected."""
        if self._closed or self._supervisor is not None:
            return
        self._supervisor = asyncio.get_running_loop().create_task(
            supervise("ingest writer", start=self._start, ended=self._lost, stopping=self._stopping),
            name="tocsin-ingest-writer",
        )

    async def _start(self) -> None:
        """Spawn the child and wait for its READY; on any failure no child is left behind."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        writer: asyncio.StreamWriter | None = None
        try:
            try:
                self._process = subprocess.Popen(
                    [*self._command, "--fd", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    close_fds=True,
                    start_new_session=True,
                )
            finally:
                theirs.close()
            reader, writer = await asyncio.open_connection(sock=ours)
            hello = await asyncio.wait_for(read_frame(reader), timeout=START_SECONDS)
            if hello != READY:
                raise RuntimeError(f"unexpected greeting {hello!r}")
        except BaseException as exc:
            if writer is not None:
                writer.close()
            else:
                ours.close()
            self._reap(kill=True)
            if isinstance(exc, Exception):
                self.failed_starts += 1
            raise  # an Exception: the supervisor tries again; a cancel by close(): we stop
        self._writer = writer
        self._listening = asyncio.get_running_loop().create_task(self._listen(reader, writer))
        assert self._process is not None
        log.info("ingest writer ready in child process %d", self._process.pid)

    async def _lost(self) -> str:
        """Wait until the connection to the child is gone: why it went."""
        assert self._listening is not None
        return await self._listening

    def send(self, items: Sequence[Any]) -> asyncio.Future[list[Any]]:
        """Hand ``items`` to the writer, after every batch sent before; the future gives a result
        or exception per item once the writer has committed them. ``RemoteUnavailable`` when no
        writer is connected (nothing was sent)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise RemoteUnavailable
        frame = next(self._frames)
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting[frame] = answer
        writer.write(encode_frame((frame, pack_items(items))))
        return answer

    async def _listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        """Settle each batch's future as the writer's answers come in; when the writer is lost,
        fail the batches it had in hand with ``WriterLost``. Returns why it was lost."""
        reason = "closed"
        try:
            while True:
                enqueued, answered = await read_frame(reader)
                if enqueued:
                    jobs.committed_elsewhere()
                for frame, results in answered:
                    answer = self._waiting.pop(frame)
                    self.batches += 1
                    if not answer.done():
                        answer.set_result([unpack_result(result) for result in results])
        except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
            reason = repr(exc)
            if not self._closed:
                log.error("the ingest writer was lost with %d batches in hand: %r", len(self._waiting), exc)
        except Exception as exc:  # an answer we cannot read: this writer cannot be trusted with more
            reason = repr(exc)
            log.exception("the ingest writer was lost with %d batches in hand", len(self._waiting))
        finally:
            self._writer = None
            writer.close()
            waiting, self._waiting = self._waiting, {}
            for answer in waiting.values():
                if not answer.done():
                    answer.set_exception(WriterLost("The event may not have been recorded; send it again."))
            if not self._closed:
                self._reap(kill=True)
        return reason

    def _reap(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if kill and process.poll() is None:
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    async def close(self) -> None:
        """End the child: it reads end-of-file, finishes the batches in hand and exits."""
        self._closed = True
        self._stopping.set()
        supervisor = self._supervisor
        if supervisor is not None and not self.connected:
            supervisor.cancel()  # a start in progress, or a pause before one: nothing to finish
        if self._waiting:  # answers still due: wait for them (the server stops after its requests)
            await asyncio.wait(list(self._waiting.values()), timeout=STOP_SECONDS)
        writer = self._writer
        if writer is not None:
            writer.close()
        if supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        process = self._process
        if process is not None:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, process.wait, STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("ingest writer %d did not stop; killing it", process.pid)
            self._reap(kill=True)
