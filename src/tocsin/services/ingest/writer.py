"""The ingest writer: the group commit's SQL and COMMIT in a child process of ``tocsin serve``.

Why: on SQLite the server is CPU-bound on one interpreter under an alert storm, and half of its
time per event went to the batch's statements and COMMIT (four rows and seventeen B-trees for each
new incident). CPython runs one thread at a time, so that work only leaves the HTTP intake's core
in another process. The server keeps HTTP, auth, limits and validation; it hands each batch to
the writer over a socket pair and answers the batch's requests when the writer replies, which it
does after the COMMIT that holds them. The contract is unchanged: a 202 means committed, and a
read right after it sees the incident.

- **Fallback.** While no writer is connected (it is starting, or restarting after a crash), the
  server commits the batch itself, as without a writer. A batch already handed over to a writer
  that then dies is neither lost nor committed twice: its requests get 503 (retry), because the
  server cannot know whether the COMMIT happened.
- **Fate sharing.** The writer reads end-of-file when the server goes, even by ``kill -9``, and
  exits. It runs in its own session, so a terminal's Ctrl-C reaches only the server.
- **Wakeups.** The writer reports whether a batch enqueued jobs; the server then wakes its engine
  (``jobs.committed_elsewhere``) as after a commit of its own.

The frames on the socket are ``services.ingest.frames``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from tocsin.db.sqlite.lock_wait import LockTimeout, begin_when_free
from tocsin.db.sqlite.write_priority import WritePriority
from tocsin.services import jobs
from tocsin.services.errors import DatabaseBusy, ServiceError
from tocsin.services.ingest.bulk import IngestItem, ingest_batch, ingest_triggers_raw
from tocsin.services.ingest.frames import (
    READY,
    complete_frames,
    encode_frame,
    pack_items,
    pack_result,
    read_frame,
    unpack_items,
    unpack_result,
)
from tocsin.services.writes.group_commit import GroupCommitter
from tocsin.services.writes.remote_commit import BatchHandler, RemoteUnavailable

log = logging.getLogger("tocsin.ingest")

_RECEIVE_BYTES = 1 << 20
# The writer lowers the ingest-first flag when no batch has come for this long: the storm is over.
_QUIET_SECONDS = 0.005
# A storm, for the flag: batches back to back holding at least this many events between them,
# thousands of events a second. Below it the writer keeps up with room to spare, and holding the
# engine back would only delay pages (200 new incidents a second: first page p50 8 s with the
# engine free to take its turns, 18 s yielding to every small batch).
_STORM_ITEMS = 8
# Pauses before the next start of a writer that died, growing with each death in a row.
_RESTART_PAUSES = (0.5, 1.0, 2.0, 5.0, 10.0)
_START_SECONDS = 60.0  # a writer that has not said ready by then is killed and started again


class WriterLost(ServiceError):
    """The writer died with a batch in hand; whether it committed is unknown, so the caller is
    asked to send the event again (the answer to a crash of the whole server too)."""

    code = "SERVICE_UNAVAILABLE"


def writer_command() -> list[str]:
    """``tocsin ingest-writer`` with this interpreter; the child reads the same environment."""
    return [sys.executable, "-m", "tocsin.cli", "ingest-writer"]


class IngestWriter:
    """The server's side: one child process, started and restarted in the background, and the
    connection to it. ``GroupCommitter(remote=...)`` sends it the batches of ``handler``."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.handler: BatchHandler = ingest_batch
        self._command = command or writer_command()
        self._process: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listening: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[list[Any]]] = {}
        self._frames = itertools.count()
        self._deaths = 0
        self._next_start = 0.0
        self._closed = False
        self.batches = 0

    @property
    def connected(self) -> bool:
        return self._writer is not None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child in the background; batches commit in the server until it is ready."""
        if self._closed or self._starting is not None or self.connected:
            return
        if time.monotonic() + 0.01 < self._next_start:  # call_later may fire a hair early
            return
        self._starting = asyncio.get_running_loop().create_task(self._start(), name="tocsin-ingest-writer")

    async def _start(self) -> None:
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
            hello = await asyncio.wait_for(read_frame(reader), timeout=_START_SECONDS)
            if hello != READY:
                raise RuntimeError(f"unexpected greeting {hello!r}")
        except BaseException as exc:
            if writer is not None:
                writer.close()
            else:
                ours.close()
            self._reap(kill=True)
            if not isinstance(exc, Exception):
                raise  # cancelled by close(): no child is left behind
            log.error("the ingest writer did not start (%r); batches commit in the server", exc)
            self._died()
            return
        finally:
            self._starting = None
        self._writer = writer
        self._listening = asyncio.get_running_loop().create_task(self._listen(reader, writer))
        assert self._process is not None
        log.info("ingest writer ready in child process %d", self._process.pid)

    def send(self, items: Sequence[Any]) -> asyncio.Future[list[Any]]:
        """Hand ``items`` to the writer, after every batch sent before; the future gives a result
        or exception per item once the writer has committed them. ``RemoteUnavailable`` when no
        writer is connected (nothing was sent)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            self.start()
            raise RemoteUnavailable
        frame = next(self._frames)
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting[frame] = answer
        writer.write(encode_frame((frame, pack_items(items))))
        return answer

    async def _listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Settle each batch's future as the writer's answers come in; when the writer is lost,
        fail the batches it had in hand with ``WriterLost`` and start another."""
        try:
            while True:
                enqueued, answered = await read_frame(reader)
                if enqueued:
                    jobs.committed_elsewhere()
                self._deaths = 0
                for frame, results in answered:
                    answer = self._waiting.pop(frame)
                    self.batches += 1
                    if not answer.done():
                        answer.set_result([unpack_result(result) for result in results])
        except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
            if not self._closed:
                log.error("the ingest writer was lost with %d batches in hand: %r", len(self._waiting), exc)
        except Exception:  # an answer we cannot read: this writer cannot be trusted with more
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
                self._died()

    def _died(self) -> None:
        """Start another writer after a pause that grows with each death in a row."""
        pause = _RESTART_PAUSES[min(self._deaths, len(_RESTART_PAUSES) - 1)]
        self._deaths += 1
        self._next_start = time.monotonic() + pause
        asyncio.get_running_loop().call_later(pause, self.start)

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
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        if self._waiting:  # answers still due: wait for them (the server stops after its requests)
            await asyncio.wait(list(self._waiting.values()), timeout=30)
        writer = self._writer
        if writer is not None:
            writer.close()
        if self._listening is not None:
            with contextlib.suppress(Exception):
                await self._listening
        process = self._process
        if process is not None:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, process.wait, 30)
            except subprocess.TimeoutExpired:
                log.warning("ingest writer %d did not stop; killing it", process.pid)
            self._reap(kill=True)


def serve_batches(
    sock: socket.socket, committer: GroupCommitter, priority: WritePriority | None = None
) -> None:
    """In the child: commit the batches from the server until it closes the socket (or dies).

    One thread, no event loop: it blocks reading, takes every batch that has arrived by then
    (those sent while the previous transaction committed), commits them in one transaction and
    answers them all. Nothing waits for a hand-off between threads, and the busier the server,
    the bigger the transactions.

    ``priority`` (SQLite): when big batches come back to back (the next within
    ``_QUIET_SECONDS`` of the last answer, ``_STORM_ITEMS`` events or more), the ingest-first
    flag goes up and stays up until none has come for that long. During a storm the engine then
    waits (a little, per transaction) instead of taking the lock in each gap between two batches
    and making the next one wait. A lone or small batch does not raise it: the engine is paging
    for the events just answered, and holding it back then cost pages at 20 events/s a p50 of
    250 ms instead of 40."""
    enqueued = 0

    def count() -> None:
        nonlocal enqueued
        enqueued += 1

    unsubscribe = jobs.on_commit(count)
    buffer = bytearray()
    answered_at = float("-inf")
    try:
        sock.sendall(encode_frame(READY))
        while True:
            frames = complete_frames(buffer)
            while not frames:
                data = _receive(sock, priority)
                if not data:
                    log.info("the server closed the ingest socket; the writer stops")
                    return
                buffer += data
                frames = complete_frames(buffer)
            back_to_back = time.monotonic() - answered_at < _QUIET_SECONDS
            items: list[IngestItem] = []
            sizes: list[tuple[int, int]] = []
            for frame, packed in frames:
                batch = unpack_items(packed)
                sizes.append((frame, len(batch)))
                items += batch
            if priority is not None and back_to_back and len(items) >= _STORM_ITEMS:
                priority.raise_flag()  # a storm: big batches back to back
            before = enqueued
            results = [pack_result(result) for result in commit_items(committer, items)]
            answered: list[tuple[int, list[Any]]] = []
            offset = 0
            for frame, size in sizes:
                answered.append((frame, results[offset : offset + size]))
                offset += size
            sock.sendall(encode_frame((enqueued != before, answered)))
            answered_at = time.monotonic()
    finally:
        unsubscribe()
        if priority is not None:
            priority.lower_flag()
        sock.close()


def commit_items(committer: GroupCommitter, items: list[IngestItem]) -> list[Any]:
    """Each item's result, or its exception, once committed. A batch of triggers alone on SQLite
    (a storm's) is written on a bare connection (``Database.write_raw_nowait``): the ORM session
    cost ~6 µs an event in a ~100 µs writer. Anything else, and a raw batch that failed (rolled
    back, so nothing of it stays), goes through the session path, which retries each item alone
    so that one bad event fails by itself."""
    database = committer.database
    if database.is_postgres or any(item.event.action != "trigger" for item in items):
        return committer.commit_now(ingest_batch, items)
    results: list[Any] = []
    for start in range(0, len(items), committer.max_batch):
        chunk = items[start : start + committer.max_batch]
        try:
            with begin_when_free(database, committer.lock_timeout, database.write_raw_nowait) as connection:
                done, enqueued = ingest_triggers_raw(connection, chunk)
        except LockTimeout as exc:  # waited the whole lock timeout already: no second wait
            results += [DatabaseBusy(exc.waited_seconds)] * len(chunk)
            continue
        except Exception as exc:
            log.warning("a batch of %d triggers failed (%r); again through the session", len(chunk), exc)
            results += committer.commit_now(ingest_batch, chunk)
            continue
        if enqueued:
            jobs.committed_elsewhere()  # the listeners a session's commit would have called
        results += done
    return results


def _receive(sock: socket.socket, priority: WritePriority | None) -> bytes:
    """The next bytes from the server (empty at end-of-file). With the flag up, a wait longer
    than ``_QUIET_SECONDS`` means the storm has passed: lower it and wait on."""
    if priority is not None and priority.waiting_since() is not None:
        sock.settimeout(_QUIET_SECONDS)
        try:
            return sock.recv(_RECEIVE_BYTES)
        except TimeoutError:
            priority.lower_flag()
        finally:
            sock.settimeout(None)
    return sock.recv(_RECEIVE_BYTES)
