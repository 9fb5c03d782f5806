"""Group commit: one writer thread runs work from many concurrent requests in one transaction,
each item in its own SAVEPOINT, and answers every caller only after the shared COMMIT.

Why: a commit (an fsync on SQLite, a round trip on PostgreSQL) is the cost of durability. Sharing
it across a batch keeps "committed before 202" affordable under an alert storm."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from tocsin.db.session import Database

log = logging.getLogger("tocsin.ingest")

T = TypeVar("T")


@dataclass(slots=True)
class _Work:
    fn: Callable[..., Any]
    future: Future[Any]


class GroupCommitter:
    def __init__(self, database: Database, *, max_batch: int = 512, name: str = "group-commit") -> None:
        self._db = database
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.items = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish everything already submitted, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, fn: Callable[..., T]) -> Future[T]:
        """Queue ``fn``; it is called as ``fn(session=...)`` like every service function."""
        if self._thread is None:
            raise RuntimeError("group committer is not running")
        future: Future[T] = Future()
        self._queue.put(_Work(fn, future))
        return future

    async def run(self, fn: Callable[..., T]) -> T:
        """Submit ``fn`` and wait for the commit that makes its result durable."""
        return await asyncio.wrap_future(self.submit(fn))

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            live = [work for work in batch if work.future.set_running_or_notify_cancel()]
            if live:
                self._commit(live)

    def _commit(self, batch: list[_Work]) -> None:
        outcomes: list[tuple[_Work, Any, BaseException | None]] = []
        try:
            with self._db.write() as session:
                for work in batch:
                    try:
                        with session.begin_nested():
                            outcomes.append((work, work.fn(session=session), None))
                    except Exception as exc:  # noqa: BLE001 - the item's caller gets it
                        outcomes.append((work, None, exc))
        except Exception as exc:
            if len(batch) == 1:
                log.exception("commit failed")
                batch[0].future.set_exception(exc)
                return
            # Nothing in the batch is durable; run each alone so one bad item cannot sink the rest.
            log.warning("batch commit of %d failed (%s); retrying one by one", len(batch), exc)
            for work in batch:
                self._commit([work])
            return
        self.batches += 1
        self.items += len(batch)
        for work, result, error in outcomes:
            if error is None:
                work.future.set_result(result)
            else:
                work.future.set_exception(error)
