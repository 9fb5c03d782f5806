"""Another writer holding SQLite's write lock, for tests of what waits for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tocsin.db.session import Database


@contextmanager
def sqlite_write_lock_held(database: Database) -> Iterator[threading.Event]:
    """A thread holds the write lock (``BEGIN IMMEDIATE`` on ``database``) until the block ends
    or the yielded event is set, whichever comes first."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.write() as session:
            session.connection()  # BEGIN IMMEDIATE: the write lock is ours
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10), "the holder never got the write lock"
        yield release
    finally:
        release.set()
        holder.join()
