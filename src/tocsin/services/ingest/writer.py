"""The ingest writer: the group commit's SQL and COMMIT in a child process of ``tocsin serve``.
This module is the child's side (``serve_batches``); ``server.ingest_writer`` is the server's.

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

import logging
import socket
import time
from typing import Any

from tocsin.db.sqlite.lock_wait import LockTimeout, begin_when_free
from tocsin.db.sqlite.write_priority import WritePriority
from tocsin.services import jobs
from tocsin.services.errors import DatabaseBusy
from tocsin.services.ingest.bulk import IngestItem, batch_handler, ingest_triggers_raw
from tocsin.services.ingest.frames import (
    READY,
    complete_frames,
    encode_frame,
    pack_result,
    unpack_items,
)
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.group_commit import GroupCommitter
from tocsin.services.writes.remote_commit import BatchHandler

log = logging.getLogger("tocsin.ingest")

_RECEIVE_BYTES = 1 << 20
# The writer lowers the ingest-first flag when no batch has come for this long: the storm is over.
_QUIET_SECONDS = 0.005
# A storm, for the flag: batches back to back holding at least this many events between them,
# thousands of events a second. Below it the writer keeps up with room to spare, and holding the
# engine back would only delay pages (200 new incidents a second: first page p50 8 s with the
# engine free to take its turns, 18 s yielding to every small batch).
_STORM_ITEMS = 8


def serve_batches(
    sock: socket.socket,
    committer: GroupCommitter,
    priority: WritePriority | None = None,
    *,
    paging: PagingSettings,
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
    250 ms instead of 40.

    ``paging``: the child's own, from its settings (the server's environment), for the
    acknowledgements and resolves that write webhook deliveries and ack timeouts."""
    handler = batch_handler(paging)
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
            results = [pack_result(result) for result in commit_items(committer, items, handler=handler)]
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


def commit_items(committer: GroupCommitter, items: list[IngestItem], *, handler: BatchHandler) -> list[Any]:
    """Each item's result, or its exception, once committed. A batch of triggers alone on SQLite
    (a storm's) is written on a bare connection (``Database.write_raw_nowait``): the ORM session
    cost ~6 µs an event in a ~100 µs writer. Anything else, and a raw batch that failed (rolled
    back, so nothing of it stays), goes through the session path, which retries each item alone
    so that one bad event fails by itself. ``handler``: ``bulk.batch_handler``'s, for the session path."""
    database = committer.database
    if database.is_postgres or any(item.event.action != "trigger" for item in items):
        return committer.commit_now(handler, items)
    results: list[Any] = []
    for start in range(0, len(items), committer.max_batch):
        chunk = items[start : start + committer.max_batch]
        try:
            with begin_when_free(
                database.priority, committer.lock_timeout, database.write_raw_nowait
            ) as connection:
                done, enqueued = ingest_triggers_raw(connection, chunk)
        except LockTimeout as exc:  # waited the whole lock timeout already: no second wait
            results += [DatabaseBusy(exc.waited_seconds)] * len(chunk)
            continue
        except Exception as exc:
            log.warning("a batch of %d triggers failed (%r); again through the session", len(chunk), exc)
            results += committer.commit_now(handler, chunk)
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
