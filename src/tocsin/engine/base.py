"""What every job handler gets and may raise. A handler is ``async def handle(job, ctx) -> str | None``
(the returned text is stored as the job's result); returning means done.

Handlers open short transactions (the paging handlers, and the engine's claims and settles, through
``ctx.write``, which shares them between jobs on SQLite; the rest through ``ctx.database``) and
never hold one across a network call: a page is handed to its channel only after the transaction
that recorded the decision to send it committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Protocol, TypeVar

import httpx
from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.db.session import Database
from tocsin.domain.escalation import backoff
from tocsin.engine.journal import SentJournal
from tocsin.engine.metrics import EngineMetrics
from tocsin.notify.base import Channel
from tocsin.services import jobs
from tocsin.services.jobs import ClaimedJob
from tocsin.services.paging import PagingSettings
from tocsin.services.responders import links
from tocsin.services.writes.group_commit import GroupCommitter

T = TypeVar("T")


class RetryLater(Exception):  # noqa: N818 - it is an instruction, not an error
    """The attempt failed in a way worth retrying (5xx, 429, timeout): try again after ``delay``
    (the engine's backoff when None). After ``max_attempts`` the job fails with ``reason``."""

    def __init__(self, reason: str, delay: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class LeaseLost(Exception):  # noqa: N818
    """Another worker took the job over (our lease expired): roll back, do nothing more."""


class GiveUp(Exception):  # noqa: N818
    """The attempt failed for good (4xx, bad address): no retry; the job fails with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChannelSource(Protocol):
    """Where the engine finds the channel of a contact type (the recording sink for test mode)."""

    def channel_for(self, channel_type: str, *, livemode: bool = True) -> Channel: ...


@dataclass(kw_only=True)
class JobContext:
    """Shared by every handler of one engine, built once from the settings (``engine.app``): the
    database, one pooled HTTP client, the clock, the channels, and what the paging services need.
    Everything a handler reads is a typed field here, so a test builds exactly the engine it means."""

    database: Database
    http: httpx.AsyncClient
    now: Callable[[], datetime]
    settings: Settings
    channels: ChannelSource
    # Policy minutes, webhook links and attempts for the escalation steps and timers.
    paging: PagingSettings
    # SQLite: the pages providers accepted, read before a retried page is sent again.
    journal: SentJournal | None = None
    # The lease holder name of this engine: a handler that finishes its job inside its own
    # transaction (so the effect and the "done" commit together) passes it to ``jobs.finish``.
    owner: str = "engine"
    # On SQLite, where one write transaction runs at a time: the group commit that the jobs'
    # writes share (``write``). None: each write is a transaction of its own.
    writes: GroupCommitter | None = None
    # When this engine started, for heartbeats: a deadline that passed before it (while no engine
    # ran) gets one fresh timeout from here. None (tests driving the engine by hand): no grace.
    started_at: datetime | None = None
    # What this engine sent, failed, retried and skipped (``engine.metrics``).
    metrics: EngineMetrics = field(default_factory=EngineMetrics)
    # The backoff of a failed job (``retry_wait``): the runner's, and a page's, which settles its
    # own retry so its timeline entry can say exactly when it comes.
    retry_base: timedelta = timedelta(seconds=10)
    retry_cap: timedelta = timedelta(minutes=10)

    def retry_wait(self, attempt: int) -> timedelta:
        """How long a job waits after its attempt ``attempt`` failed (``domain.escalation.backoff``)."""
        return backoff(attempt, base=self.retry_base, cap=self.retry_cap)

    async def write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a committed write transaction, from the event loop. With
        ``writes``, the transaction is shared with the writes of other jobs that are waiting at
        the same moment: one BEGIN, one turn at SQLite's lock and one COMMIT for them all. If
        any of them raises, the transaction rolls back and each runs again alone, so a job's
        effects still commit together or not at all, and one job's failure is its own."""
        if self.writes is None:
            return await asyncio.to_thread(_write_alone, self.database, work)
        return await asyncio.wrap_future(self.writes.submit_call(lambda session: work(session)))

    @cached_property
    def link_key(self) -> str:
        """The one-click link signing key, read (or made) on first use, once per engine. It
        writes, so a handler reads it from a worker thread, never from the event loop."""
        with self.database.write() as session:
            return links.signing_key(session=session, now=self.now())


class Settled(str):
    """A handler's result when it already finished its job inside its own transaction: the engine
    then skips its own settling write (one SQLite write transaction less per job)."""

    __slots__ = ()


Handler = Callable[[ClaimedJob, JobContext], Awaitable[str | None]]


def _write_alone(database: Database, work: Callable[[Session], T]) -> T:
    with database.write() as session:
        return work(session)


async def finish_with(job: ClaimedJob, ctx: JobContext, effect: Callable[[Session, datetime], str]) -> str:
    """Run a database-only ``effect(session, now)`` and finish ``job`` with its result in the same
    transaction (in a thread), so a crash neither repeats the effect nor loses it. ``Settled``: the
    engine skips its own settling write."""

    def work() -> str:
        with ctx.database.write() as session:
            now = ctx.now()
            result = effect(session, now)
            if not jobs.finish(session=session, job=job, owner=ctx.owner, now=now, result=result):
                raise LeaseLost(job.id)
            return Settled(result)

    return await asyncio.to_thread(work)
