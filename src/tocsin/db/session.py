"""Engines and transactions. One ``Database`` per process; each unit of work opens one transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tocsin.db.sqlite.lock_wait import WriteLockBusy
from tocsin.db.sqlite.write_priority import WritePriority, flag_path

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _sqlite_engine(
    url: str,
    *,
    synchronous: str,
    immediate: bool,
    busy_ms: int = 30000,
    before_begin: Callable[[], object] | None = None,
    **pool: Any,
) -> Engine:
    """SQLite in WAL mode. Write transactions ``BEGIN IMMEDIATE`` so two writers queue on the busy
    timeout instead of failing with SQLITE_BUSY when a read lock would need upgrading.
    ``before_begin`` runs before each BEGIN (the engine's yield to ingest)."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin (needed for SAVEPOINT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Statement journals in memory: a multi-row INSERT (the ingest batch's incidents) keeps
        # one, and past 64 KiB SQLite spilled it to a temp file it created, wrote and unlinked
        # about every other batch; ~5 % of the ingest writer's CPU in system calls.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if before_begin is not None:
            before_begin()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Hands out sessions already inside a transaction: ``with db.write() as s: ...`` commits on exit."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        pool_size: int = 10,
        yields_to_ingest: bool = False,
    ) -> None:
        """``yields_to_ingest``: this process's writes give way to an ingest batch waiting for
        SQLite's lock (``db.sqlite.write_priority``); the engine's database sets it."""
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self._priority: WritePriority | None = None
        self._priority_path = flag_path(url)
        self._write_turns: threading.RLock | None = threading.RLock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            before_begin = self._yield_to_ingest if yields_to_ingest else None
            self.engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, immediate=True, before_begin=before_begin
            )
            self.read_engine = _sqlite_engine(url, synchronous=sqlite_synchronous, immediate=False)
            # One connection in the usual case (its page cache stays warm across batches) whose
            # BEGIN IMMEDIATE fails at once when the lock is taken: SQLite's busy handler sleeps
            # 1, 2, 5 ... 100 ms between tries, and the event loop that runs ingest must not sleep
            # with it. A second user overflows instead of waiting for the first.
            self._nowait_engine: Engine | None = _sqlite_engine(
                url, synchronous=sqlite_synchronous, immediate=True, busy_ms=0, pool_size=1, max_overflow=4
            )
        else:
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)
            self.read_engine = self.engine
            self._nowait_engine = None
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._nowait = (
            sessionmaker(self._nowait_engine, expire_on_commit=False) if self._nowait_engine else None
        )
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def is_sqlite_file(self) -> bool:
        """SQLite in a file, which other processes can open too (not ``:memory:``)."""
        return self._priority_path is not None

    @property
    def priority(self) -> WritePriority | None:
        """The ingest-first flag of this SQLite file (made on first use); None where there is none
        (PostgreSQL, an in-memory database, a directory we may not write)."""
        if self._priority is None and self._priority_path is not None:
            try:
                self._priority = WritePriority(self._priority_path)
            except OSError:
                self._priority_path = None
        return self._priority

    def _yield_to_ingest(self) -> None:
        priority = self.priority
        if priority is not None:
            priority.yield_to_ingest()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction, committed when the block ends without an exception.

        On SQLite the threads of this process take turns on a lock first: SQLite lets one
        writer in at a time anyway, and its busy handler makes the others poll with sleeps of
        1, 2, 5 ... 100 ms, so with the engine's sixteen workers a page waited up to a second
        for its turn. Waiters on the lock are woken the moment the writer before them is done;
        only a writer in another process is still met through the busy handler."""
        with self._write_turns or nullcontext(), self._writer.begin() as session:
            yield session

    @contextmanager
    def write_nowait(self) -> Iterator[Session]:
        """``write`` for the SQLite ingest batch, which runs on the event loop: the transaction
        begins (takes the write lock) on entry, or raises ``WriteLockBusy`` at once so the caller
        can retry later without blocking. On PostgreSQL, the same as ``write``."""
        if self._nowait is None:
            with self.write() as session:
                session.connection()
                yield session
            return
        session = self._nowait()
        try:
            session.connection()  # BEGIN IMMEDIATE
        except OperationalError as exc:
            session.close()
            if getattr(exc.orig, "sqlite_errorcode", None) in _BUSY:
                raise WriteLockBusy(str(exc.orig)) from None
            raise
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()
        finally:
            session.close()

    @contextmanager
    def write_raw_nowait(self) -> Iterator[sqlite3.Connection]:
        """``write_nowait`` without the ORM, for the ingest writer's batches of triggers (hand-
        written SQL only): the sqlite3 connection inside ``BEGIN IMMEDIATE``, committed when the
        block ends without an exception, rolled back otherwise. A session's own bookkeeping (its
        transaction objects, the pool's events, BEGIN through the execution machinery) took
        ~65 µs a transaction against ~5 µs here. ``WriteLockBusy`` at once when the lock is
        taken. SQLite only."""
        if self._nowait_engine is None:
            raise RuntimeError("write_raw_nowait is for SQLite")
        pooled = self._nowait_engine.raw_connection()  # the pooled connection, pragmas applied
        try:
            connection = cast(sqlite3.Connection, pooled.driver_connection)
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode in _BUSY:
                    raise WriteLockBusy(str(exc)) from None
                raise
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
        finally:
            pooled.close()  # back to the pool

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: on SQLite it does not take the write lock."""
        with self._reader.begin() as session:
            yield session

    def ping(self) -> None:
        with self.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        if self._nowait_engine is not None:
            self._nowait_engine.dispose()
        if self._priority is not None:
            self._priority.close()
            self._priority = None
