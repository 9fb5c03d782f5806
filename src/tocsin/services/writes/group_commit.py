"""Group commit: one writer thread runs work from many concurrent requests in one transaction and
answers every caller only after the shared COMMIT.

Why: a commit (an fsync on SQLite, a round trip on PostgreSQL) is the cost of durability. Sharing
it across a batch keeps "committed before 202" affordable under an alert storm. Work is queued as
(handler, item); consecutive items for the same handler are handed over together, so a handler can
do a whole run in a few statements. If anything in a batch fails, each item is retried alone, so
one bad item cannot sink the others.

Modes: a writer thread (PostgreSQL, where statements wait on the network with the GIL
released), or "inline" (SQLite): ``BEGIN IMMEDIATE`` and the statements run on the event loop,
where they are short local calls (a thread would pay a GIL hand-off per statement, ~0.6 ms each
under load), and only ``COMMIT`` (the fsync: milliseconds on a busy disk) runs in a helper thread.
The loop keeps parsing requests meanwhile, and they make up the next batch: one batch is in flight
at a time, the next one grows while it commits. Measured with the engine in the same process, the
BEGIN is better left on the loop: in the helper thread too, each batch paid two GIL hand-offs
against the engine's threads and ingest fell by a third. Inline, a ``remote`` (the ingest writer
child of ``ingest_process``) may take the batches instead; ``commit_now`` is what it runs."""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tocsin.db.conflicts import is_retryable_conflict
from tocsin.db.session import Database
from tocsin.db.sqlite.lock_wait import LockTimeout, LockWait, begin_when_free
from tocsin.services.errors import DatabaseBusy, ServiceError
from tocsin.services.writes.remote_commit import BatchHandler, RemoteApplier, RemoteUnavailable

log = logging.getLogger("tocsin.ingest")

T = TypeVar("T")
# Batches sent to a remote applier and not yet answered. Two in flight held ingest to 2.3-3.1k
# events/s (each batch waited for the one before it to come back); with many, the remote merges
# them and the bench rose to 3.7-3.9k.
_MAX_IN_FLIGHT = 64
# A batch that PostgreSQL rolls back to break a deadlock (40P01) or a serialization conflict
# (40001) runs again, up to this many times in all, after a random pause of up to
# ``_CONFLICT_PAUSE`` times the attempt (seconds) so that the two sides do not collide again.
_CONFLICT_ATTEMPTS = 5
_CONFLICT_PAUSE = 0.01


@dataclass(slots=True)
class _Work:
    handler: BatchHandler
    item: Any
    future: Future[Any] | asyncio.Future[Any] | _Outcome


class _Outcome:
    """Where ``commit_now`` collects an item's result: no caller waits on it from another thread,
    so it needs none of a ``Future``'s locks (a few microseconds an event in the writer)."""

    __slots__ = ("value", "error", "settled")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.settled = False

    def done(self) -> bool:
        return self.settled

    def set_result(self, value: Any) -> None:
        self.value, self.settled = value, True

    def set_exception(self, error: BaseException) -> None:
        self.error, self.settled = error, True


def call_each(*, session: Session, items: Sequence[Callable[..., Any]]) -> list[Any]:
    """The handler for plain functions: call each as ``fn(session=...)``."""
    return [fn(session=session) for fn in items]


class GroupCommitter:
    def __init__(
        self,
        database: Database,
        *,
        max_batch: int = 512,
        name: str = "group-commit",
        observe: Callable[[int, float], None] | None = None,
        inline: bool = False,
        lock_timeout: float = 30.0,
        remote: RemoteApplier | None = None,
        before_batch: Callable[[int], object] | None = None,
    ) -> None:
        """``remote``: batches made only of its handler's items are sent there (inline mode);
        the rest, and all while it is unavailable, commit here."""
        self._db = database
        self._remote = remote
        self._before_batch = before_batch  # thread mode: called with each batch's size first
        # Batches handed to the remote and not yet answered, oldest first. The remote commits
        # everything it has received by the time it is free in one transaction, so a batch is
        # sent at once rather than held here (at most ``_MAX_IN_FLIGHT``).
        self._in_flight: collections.deque[asyncio.Task[None]] = collections.deque()
        self._lock_timeout = lock_timeout
        self._inline = inline
        self._pending: list[_Work] = []
        self._draining = False
        self._drains: set[asyncio.Task[None]] = set()  # held so a running drain is never collected
        self._io: ThreadPoolExecutor | None = None
        self._observe = observe
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.items = 0

    def start(self) -> None:
        if self._inline:
            if self._io is None:
                self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self._name}-commit")
        elif self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish everything already submitted, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._io is not None:
            self._io.shutdown(wait=True)
            self._io = None

    def submit(self, handler: BatchHandler, item: Any) -> Future[Any]:
        """Queue work for the writer thread (thread mode; inline mode goes through ``run``)."""
        if self._thread is None:
            raise RuntimeError("group committer is not running")
        future: Future[Any] = Future()
        self._queue.put(_Work(handler, item, future))
        return future

    def submit_call(self, fn: Callable[..., T]) -> Future[T]:
        """Queue one function, called as ``fn(session=...)`` like every service function."""
        return self.submit(call_each, fn)

    async def run(self, handler: BatchHandler, item: Any) -> Any:
        """Submit ``item`` and wait for the commit that makes its result durable."""
        if not self._inline:
            return await asyncio.wrap_future(self.submit(handler, item))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(_Work(handler, item, future))
        self._start_drain(loop)
        return await future

    def queue_many(self, handler: BatchHandler, items: Sequence[Any]) -> list[asyncio.Future[Any]]:
        """Queue several items now, in order and in one batch where they fit; a future for each.
        (Synchronous, so batches queued one after another keep their order.)"""
        if not self._inline:
            return [asyncio.wrap_future(self.submit(handler, item)) for item in items]
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Any]] = [loop.create_future() for _ in items]
        self._pending.extend(
            _Work(handler, item, future) for item, future in zip(items, futures, strict=True)
        )
        self._start_drain(loop)
        return futures

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._draining:
            self._draining = True
            # A task starts on the next turn of the loop: everything that arrived in this turn
            # has queued by then and goes in the first batch.
            drain = loop.create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)

    async def _drain(self) -> None:
        """Inline mode: commit batches until nothing is pending. What arrives while one batch
        commits waits for the next, so batches grow with the commit's latency."""
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                live = [work for work in batch if not work.future.done()]  # a cancelled request: no commit
                if live:
                    try:
                        await self._commit_split(live)
                    except Exception as exc:
                        # Whatever escaped (a broken connection in rollback): these callers get
                        # the error, never a request left hanging; the next batch goes on.
                        log.exception("ingest batch of %d failed outside its handlers", len(live))
                        for work in live:
                            _settle(work, None, exc)
                    except BaseException:
                        # Cancelled (shutdown): nothing more commits here, so nobody may wait.
                        stopped = RuntimeError("ingest stopped before this event was committed")
                        for work in live + self._pending:
                            _settle(work, None, stopped)
                        self._pending = []
                        raise
        finally:
            self._draining = False

    async def _commit_split(self, batch: list[_Work]) -> None:
        """``_commit`` for inline mode: lock and statements here, the COMMIT in the helper thread."""
        if self._io is None:  # not started (a test driving the committer by hand): all inline
            self._commit(batch)
            return
        if await self._hand_over(batch):
            return
        while self._in_flight:  # what was handed over before this batch commits before it
            await asyncio.wait([self._in_flight[0]])
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            transaction, session = await self._begin_when_free()
        except Exception as exc:  # the lock never came: each caller gets the error
            log.warning("could not begin a batch of %d: %s", len(batch), exc)
            for work in batch:
                _settle(work, None, exc)
            return
        try:
            outcomes = self._apply(session, batch)
        except Exception as exc:
            transaction.__exit__(type(exc), exc, exc.__traceback__)  # rolls back
            await self._retry_alone(batch, exc)
            return
        try:
            commit = loop.run_in_executor(self._io, transaction.__exit__, None, None, None)  # COMMIT
        except RuntimeError as exc:  # the helper thread is gone (shutdown): roll back here
            transaction.__exit__(type(exc), exc, exc.__traceback__)
            for work in batch:
                _settle(work, None, exc)
            return
        try:
            await commit
        except Exception as exc:
            await self._retry_alone(batch, exc)
            return
        self._done(batch, outcomes, started)

    async def _hand_over(self, batch: list[_Work]) -> bool:
        """Send the batch to the remote applier without waiting for its answer; False when it
        must commit here instead."""
        remote = self._remote
        if remote is None or any(work.handler is not remote.handler for work in batch):
            return False
        while len(self._in_flight) >= _MAX_IN_FLIGHT:
            await asyncio.wait([self._in_flight[0]])
        started = time.perf_counter()
        try:
            answer = remote.send([work.item for work in batch])
        except RemoteUnavailable:
            return False
        task = asyncio.get_running_loop().create_task(self._answered(batch, answer, started))
        self._in_flight.append(task)
        task.add_done_callback(self._in_flight.remove)
        return True

    async def _answered(self, batch: list[_Work], answer: asyncio.Future[list[Any]], started: float) -> None:
        try:
            results = await answer
        except Exception as exc:
            for work in batch:
                _settle(work, None, exc)
            return
        self._done(batch, list(zip(batch, results, strict=True)), started)

    async def _begin_when_free(self) -> tuple[AbstractContextManager[Session], Session]:
        """Take SQLite's write lock without ever blocking the loop (``lock_wait``): while another
        connection (the engine, an API write, another process) holds it, try again every fraction
        of a millisecond and keep serving requests meanwhile; they make the next batch bigger."""
        wait = LockWait(self._db.priority, self._lock_timeout, self._db.write_nowait)
        try:
            while (begun := wait.attempt()) is None:
                await asyncio.sleep(wait.pause())
            return begun
        except LockTimeout as exc:
            raise DatabaseBusy(exc.waited_seconds) from None
        finally:
            wait.done()

    async def _retry_alone(self, batch: list[_Work], exc: Exception) -> None:
        if len(batch) == 1 and is_retryable_conflict(exc):  # PostgreSQL's, should one come here
            exc = DatabaseBusy(0.0, "lock_conflict")
        if len(batch) == 1:
            if not isinstance(exc, ServiceError):
                log.exception("group commit of one item failed", exc_info=exc)
            _settle(batch[0], None, exc)
            return
        log.warning("batch of %d failed (%s); retrying each item alone", len(batch), exc)
        for work in batch:
            await self._commit_split([work])

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
            live = [
                work
                for work in batch
                if not isinstance(work.future, Future) or work.future.set_running_or_notify_cancel()
            ]
            if live:
                if self._before_batch is not None:
                    self._before_batch(len(live))
                self._commit(live)

    def _apply(self, session: Session, batch: list[_Work]) -> list[tuple[_Work, Any]]:
        """Run every handler of the batch in ``session``'s transaction; pairs of work and result.
        Handlers get no savepoint each (two statements a run saved): one failure fails the batch."""
        outcomes: list[tuple[_Work, Any]] = []
        for _, group in itertools.groupby(batch, key=lambda work: work.handler):
            run = list(group)
            results = run[0].handler(session=session, items=[work.item for work in run])
            if len(results) != len(run):
                raise RuntimeError(f"handler gave {len(results)} results for {len(run)} items")
            outcomes.extend(zip(run, results, strict=True))
        return outcomes

    def commit_now(self, handler: BatchHandler, items: Sequence[Any]) -> list[Any]:
        """Commit ``items`` here and now, in transactions of at most ``max_batch``: the result, or
        the exception, of each. For a process whose only job is committing (the ingest writer):
        it waits for SQLite's lock in this thread, with short pauses and the ingest-first flag up,
        as the event loop's batch does without blocking."""
        outcomes = [_Outcome() for _ in items]
        works = [_Work(handler, item, outcome) for item, outcome in zip(items, outcomes, strict=True)]
        # ``_begin_when_free`` for a thread that has nothing else to do meanwhile.
        when_free = functools.partial(
            begin_when_free, self._db.priority, self._lock_timeout, self._db.write_nowait
        )
        for start in range(0, len(works), self._max_batch):
            self._commit(works[start : start + self._max_batch], write=when_free)
        return [outcome.error or outcome.value for outcome in outcomes]

    @property
    def database(self) -> Database:
        return self._db

    @property
    def max_batch(self) -> int:
        return self._max_batch

    @property
    def lock_timeout(self) -> float:
        return self._lock_timeout

    def _commit(
        self, batch: list[_Work], write: Callable[[], AbstractContextManager[Session]] | None = None
    ) -> None:
        """Run the batch in one transaction. If anything fails, the whole transaction rolls back
        and every item is retried in a transaction of its own, so only the bad item fails."""
        started = time.perf_counter()
        write = write or self._db.write
        try:
            outcomes = self._attempts(batch, write)
        except Exception as exc:
            if isinstance(exc, LockTimeout):
                exc = DatabaseBusy(exc.waited_seconds)
            elif is_retryable_conflict(exc) and len(batch) == 1:  # every retry deadlocked: a 503
                exc = DatabaseBusy(round(time.perf_counter() - started, 3), "lock_conflict")
            if len(batch) == 1 or isinstance(exc, DatabaseBusy):  # the lock never came: no retry
                if not isinstance(exc, ServiceError):
                    log.exception("group commit of one item failed")
                for work in batch:
                    _settle(work, None, exc)
                return
            log.warning("batch of %d failed (%s); retrying each item alone", len(batch), exc)
            for work in batch:
                self._commit([work], write)
            return
        self._done(batch, outcomes, started)

    def _attempts(
        self, batch: list[_Work], write: Callable[[], AbstractContextManager[Session]]
    ) -> list[tuple[_Work, Any]]:
        """The batch in one transaction, run again (a bounded number of times, after a short random
        pause) when PostgreSQL broke a deadlock or serialization conflict by rolling it back: the
        other transaction has usually committed by then, and callers must not see the collision."""
        for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
            try:
                with write() as session:
                    return self._apply(session, batch)
            except Exception as exc:
                if attempt == _CONFLICT_ATTEMPTS or not is_retryable_conflict(exc):
                    raise
                log.info("batch of %d rolled back by a lock conflict (%s), try %d", len(batch), exc, attempt)
                time.sleep(random.uniform(0, _CONFLICT_PAUSE * attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _done(self, batch: list[_Work], outcomes: list[tuple[_Work, Any]], started: float) -> None:
        self.batches += 1
        self.items += len(batch)
        if self._observe is not None:
            self._observe(len(batch), time.perf_counter() - started)
        for work, result in outcomes:
            if isinstance(result, BaseException):  # a remote applier's failed item
                _settle(work, None, result)
            else:
                _settle(work, result, None)


def _settle(work: _Work, result: Any, error: BaseException | None) -> None:
    if work.future.done():  # an inline caller that went away meanwhile
        return
    if error is None:
        work.future.set_result(result)
    else:
        work.future.set_exception(error)
