"""On SQLite, ingest goes first for the write lock; the engine waits a moment while it does.

Why: SQLite has one write lock for every connection of every process. During a storm of new
incidents the engine (in its own process) runs escalation steps back to back, each a short write
transaction, and the ingest batch found the lock taken a quarter of the time: 202s waited on
paging work that can just as well start a millisecond later. The senders of a storm wait for the
202; the pages follow each batch.

How: a flag in a small file next to the database (``<db>-priority``), mapped into memory by both
processes. The ingest batch raises it (the time it started waiting) when it finds the lock taken
and lowers it once it holds the lock. A connection that yields (the engine's) looks at the flag
before each ``BEGIN IMMEDIATE`` and, while it is raised, sleeps in steps of two milliseconds,
at most ``MAX_YIELD`` per transaction, so the engine is slowed, never stopped. A flag older than
``STALE_AFTER`` (a server killed while waiting) is ignored."""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import time
from pathlib import Path

from sqlalchemy.engine import make_url

MAX_YIELD = 0.02  # seconds a yielding writer waits at most per transaction
STALE_AFTER = 1.0  # seconds after which a raised flag is a leftover
# How often a yielding writer looks at the flag again. Each look is a sleep and a wake of a thread:
# at half a millisecond that was two thousand a second through a storm, a visible share of the
# engine's CPU; two milliseconds cost a writer at most that much after the storm has passed.
_STEP = 0.002
_FORMAT = "d"  # the time (time.time()) ingest started waiting; 0.0 when it is not waiting
_SIZE = struct.calcsize(_FORMAT)


def flag_path(url: str) -> Path | None:
    """The flag file for a SQLite database file; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(f"{database}-priority")


class WritePriority:
    """The shared flag of one SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)

    def raise_flag(self) -> None:
        """Ingest found the lock taken: writers that yield hold back until ``lower_flag``."""
        struct.pack_into(_FORMAT, self._map, 0, time.time())

    def lower_flag(self) -> None:
        struct.pack_into(_FORMAT, self._map, 0, 0.0)

    def waiting_since(self) -> float | None:
        (since,) = struct.unpack_from(_FORMAT, self._map, 0)
        if since <= 0.0 or time.time() - since > STALE_AFTER:
            return None
        return float(since)

    def yield_to_ingest(self, max_wait: float = MAX_YIELD) -> float:
        """Sleep while ingest waits for the lock, at most ``max_wait``; the seconds slept."""
        if self.waiting_since() is None:
            return 0.0
        started = time.monotonic()
        while self.waiting_since() is not None:
            waited = time.monotonic() - started
            if waited >= max_wait:
                break
            time.sleep(_STEP)
        return time.monotonic() - started

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._map.close()
