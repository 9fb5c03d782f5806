"""The job loop: claim due jobs with a lease, run their handlers concurrently, settle them, and
sleep exactly until the next one is due unless woken earlier.

Wakeups: in-process, a commit that enqueued jobs wakes the loop at once (``jobs.on_commit``); across
processes on PostgreSQL, ``LISTEN tocsin_jobs`` (enqueue sends ``NOTIFY`` with the commit). A poll
every ``poll_seconds`` remains as a safety net only (SQLite across processes).

Crash safety: a job is ``running`` only under a lease. A worker killed mid-job leaves it leased; it
is claimable again when the lease runs out, and its handler's idempotency keeps the retry harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.engine.base import GiveUp, Handler, JobContext, LeaseLost, RetryLater, Settled
from tocsin.services import jobs
from tocsin.services.deliveries.attempts import HOURS_KEPT, purge_hours

log = logging.getLogger("tocsin.engine")

CHANNEL = jobs.NOTIFY_CHANNEL


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Engine:
    """One engine per process. ``run`` until ``stop`` is set; ``drain`` runs what is due now (tests)."""

    def __init__(
        self,
        ctx: JobContext,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 16,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 2.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.ctx = ctx
        self.handlers = dict(handlers)
        self.owner = ctx.owner
        self.concurrency = concurrency
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.retention = retention
        self._last_purge: float = 0.0
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._held: dict[str, jobs.ClaimedJob] = {}  # job id -> job, while its handler runs
        self.processed = 0

    def close(self) -> None:
        """After ``run`` or ``drain`` returned: the shared writes' thread and the journal."""
        if self.ctx.writes is not None:
            self.ctx.writes.stop()
        if self.ctx.journal is not None:
            self.ctx.journal.close()

    def _compact_journal(self) -> None:
        journal = self.ctx.journal
        if journal is None:
            return
        listed = journal.listed()
        if listed:
            with self.ctx.database.read() as session:
                journal.compact(jobs.settled_among(session=session, ids=listed))

    # --- wakeups -----------------------------------------------------------------------------

    def wake(self) -> None:
        """Thread-safe: something was enqueued; look for due jobs now."""
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(event.set)

    def _listen(self, stop: threading.Event) -> None:
        """PostgreSQL LISTEN in a thread: every NOTIFY on the channel wakes the loop."""
        import psycopg  # noqa: PLC0415 - only with PostgreSQL

        url = self.ctx.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.wake()  # anything enqueued while we were not listening
                    while not stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=64):
                            self.wake()
            except Exception:  # noqa: BLE001 - keep listening; the poll covers the gap
                log.warning("LISTEN connection lost; retrying", exc_info=True)
                stop.wait(1.0)

    # --- running jobs ------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[jobs.ClaimedJob]:
        return await self.ctx.write(
            lambda session: jobs.claim(
                session=session, owner=self.owner, now=self.ctx.now(), lease=self.lease, limit=limit
            )
        )

    def _next_due(self) -> datetime | None:
        with self.ctx.database.read() as session:
            return jobs.next_due(session=session)

    def _settle(
        self,
        session: Session,
        job: jobs.ClaimedJob,
        outcome: str,
        detail: str | None,
        delay: timedelta | None,
    ) -> None:
        now = self.ctx.now()
        if outcome == "done":
            jobs.finish(session=session, job=job, owner=self.owner, now=now, result=detail)
        elif outcome == "retry":
            wait = delay if delay is not None else self.ctx.retry_wait(job.attempts)
            jobs.retry(
                session=session, job=job, owner=self.owner, now=now, run_at=now + wait, error=detail or ""
            )
        else:
            jobs.fail(session=session, job=job, owner=self.owner, now=now, error=detail or "")

    def _extend(self, ids: list[str]) -> None:
        now = self.ctx.now()
        with self.ctx.database.write() as session:
            jobs.extend_leases(session=session, ids=ids, owner=self.owner, until=now + self.lease, now=now)

    def _purge(self) -> int:
        """Finished jobs past the retention, and channel-health hourly counts past theirs."""
        now = self.ctx.now()
        with self.ctx.database.write() as session:
            purge_hours(session=session, before=now - HOURS_KEPT)
            return jobs.purge(session=session, settled_before=now - self.retention)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Every third of a lease, extend the leases of the jobs still running here; hourly,
        delete finished jobs older than the retention."""
        interval = self.lease.total_seconds() / 3
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                break
            try:
                if self._held:
                    await asyncio.to_thread(self._extend, list(self._held))
                if time.monotonic() - self._last_purge > 3600:
                    self._last_purge = time.monotonic()
                    purged = await asyncio.to_thread(self._purge)
                    if purged:
                        log.info("purged %d finished jobs", purged)
            except Exception:  # noqa: BLE001 - try again next beat
                log.warning("engine housekeeping failed", exc_info=True)

    async def _run_job(self, job: jobs.ClaimedJob) -> None:
        try:
            await self._handle(job)
        finally:
            self._held.pop(job.id, None)

    async def _handle(self, job: jobs.ClaimedJob) -> None:
        handler = self.handlers.get(job.kind)
        outcome, detail, delay = "done", None, None
        try:
            if handler is None:
                outcome, detail = "failed", f"no handler for job kind {job.kind!r}"
            else:
                detail = await handler(job, self.ctx)
        except LeaseLost:
            log.warning("lost the lease of job %s (%s)", job.id, job.kind)
            return
        except RetryLater as retry:
            outcome, detail, delay = "retry", retry.reason, retry.delay
        except GiveUp as give_up:
            outcome, detail = "failed", give_up.reason
        except Exception as error:  # noqa: BLE001 - a bug must not lose the job: retry with backoff
            log.exception("job %s (%s) raised", job.id, job.kind)
            outcome, detail = "retry", f"{type(error).__name__}: {error}"
        if isinstance(detail, Settled):
            self.processed += 1
            return
        try:
            await self.ctx.write(lambda session: self._settle(session, job, outcome, detail, delay))
        except Exception:  # noqa: BLE001 - the lease expires and the job runs again
            log.exception("could not settle job %s", job.id)
        self.processed += 1

    async def _spawn(self, job: jobs.ClaimedJob) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._run_job(job))
        self._running.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._running.discard(finished)
            self._slots.release()

        task.add_done_callback(done)

    async def _dispatch(self) -> int:
        """Claim as many due jobs as there are free slots and start them; how many were claimed.
        With every slot busy, wait for one to free up instead of claiming (a claimed job waiting
        for a slot would hold a lease nobody renews)."""
        free = self.concurrency - len(self._running)
        if free <= 0:
            await asyncio.wait(list(self._running), return_when=asyncio.FIRST_COMPLETED)
            return 0
        claimed = await self._claim(free)
        now = self.ctx.now()
        for job in claimed:
            self.ctx.metrics.claimed(job.kind, (now - job.run_at).total_seconds())
            self._held[job.id] = job  # heartbeats cover it from the claim on
            await self._spawn(job)
        return len(claimed)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Run every job due now, including ones those jobs make due now; for tests and tools."""
        self._loop = asyncio.get_running_loop()
        total = 0
        for _ in range(max_rounds):
            claimed = await self._dispatch()
            if self._running:
                await asyncio.gather(*list(self._running))
            total += claimed
            if not claimed:
                break
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: dispatch, then sleep until the next due job, a wakeup or the poll."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        unsubscribe = jobs.on_commit(self.wake)
        listener_stop = threading.Event()
        listener: threading.Thread | None = None
        if self.ctx.database.is_postgres:
            listener = threading.Thread(
                target=self._listen, args=(listener_stop,), name="tocsin-listen", daemon=True
            )
            listener.start()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._compact_journal)
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        log.info("engine %s started", self.owner)
        try:
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    claimed = await self._dispatch()
                except Exception:  # noqa: BLE001 - the database may be restarting; try again soon
                    log.exception("claiming jobs failed")
                    claimed = 0
                if claimed:
                    continue
                timeout = self.poll_seconds
                with contextlib.suppress(Exception):
                    due = await asyncio.to_thread(self._next_due)
                    if due is not None:
                        timeout = min(timeout, max(0.0, (due - self.ctx.now()).total_seconds()))
                if timeout <= 0:
                    await asyncio.sleep(0.005)  # due now but all slots busy or a claim race: yield
                    continue
                waiters = [asyncio.ensure_future(self._wakeup.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            unsubscribe()
            listener_stop.set()
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            if self._running:
                await asyncio.gather(*list(self._running), return_exceptions=True)
            if listener is not None:
                await asyncio.to_thread(listener.join, 3.0)
            log.info("engine %s stopped after %d jobs", self.owner, self.processed)
