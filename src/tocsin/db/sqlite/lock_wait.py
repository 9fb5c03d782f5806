"""How an ingest batch takes SQLite's write lock: tries that fail at once, short pauses between
them, and the ingest-first flag up while it waits. One schedule for both callers: the event loop's
batch sleeps between tries without blocking the loop, the ingest writer's thread just sleeps.

Why not SQLite's own busy handler: it sleeps 1, 2, 5 ... 100 ms between tries, and an event loop
that runs ingest must not sleep with it. While it waits, the flag of ``db.sqlite.write_priority`` asks
the engine to let it go first."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Generic, TypeVar

from tocsin.db.sqlite.write_priority import WritePriority

# While another writer holds SQLite's lock, the batch tries again after these pauses (s).
FIRST_PAUSE = 0.0002
MAX_PAUSE = 0.002

T = TypeVar("T")


class WriteLockBusy(Exception):
    """SQLite's write lock is held by another connection right now (``Database.write_nowait``)."""


class LockTimeout(Exception):
    """SQLite's write lock did not come within the caller's patience (another writer held it all
    along): nothing was written. The services layer answers it as ``DatabaseBusy``, a 503."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(f"the write lock did not come within {waited_seconds:g} s")
        self.waited_seconds = waited_seconds


class LockWait(Generic[T]):
    """One wait for the lock: ``attempt()`` until it gives a transaction, sleeping ``pause()``
    between tries, then ``done()`` (in a ``finally``). ``begin`` opens the transaction or raises
    ``WriteLockBusy`` at once: ``Database.write_nowait`` (a session) or ``write_raw_nowait``."""

    def __init__(
        self,
        priority: WritePriority | None,
        timeout: float,
        begin: Callable[[], AbstractContextManager[T]],
    ) -> None:
        self._priority = priority
        self._begin = begin
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._pause = FIRST_PAUSE
        self._raised: WritePriority | None = None

    def attempt(self) -> tuple[AbstractContextManager[T], T] | None:
        """The transaction, begun (the lock held), or None while another writer holds it.
        ``LockTimeout`` once the timeout has passed. The first failure raises the flag, unless
        it is already up: then it belongs to someone else (the ingest writer during a storm), who
        lowers it."""
        transaction = self._begin()
        try:
            return transaction, transaction.__enter__()
        except WriteLockBusy:
            if time.monotonic() >= self._deadline:
                raise LockTimeout(self._timeout) from None
        shared = self._priority
        if self._raised is None and shared is not None and shared.waiting_since() is None:
            self._raised = shared
            shared.raise_flag()  # the engine holds back its next transactions
        return None

    def pause(self) -> float:
        """Seconds to sleep before the next try, doubling up to ``MAX_PAUSE``."""
        pause, self._pause = self._pause, min(self._pause * 2, MAX_PAUSE)
        return pause

    def done(self) -> None:
        """Lower the flag if this wait raised it."""
        if self._raised is not None:
            self._raised.lower_flag()
            self._raised = None


@contextmanager
def begin_when_free(
    priority: WritePriority | None, timeout: float, begin: Callable[[], AbstractContextManager[T]]
) -> Iterator[T]:
    """``begin``'s transaction once the lock is had, for a thread with nothing else to do
    meanwhile (the ingest writer): it sleeps between tries. Committed when the block ends without
    an exception, else rolled back."""
    wait = LockWait(priority, timeout, begin)
    try:
        while (begun := wait.attempt()) is None:
            time.sleep(wait.pause())
    finally:
        wait.done()
    transaction, handle = begun
    try:
        yield handle
    except BaseException as exc:
        transaction.__exit__(type(exc), exc, exc.__traceback__)  # rolls back
        raise
    transaction.__exit__(None, None, None)  # COMMIT
