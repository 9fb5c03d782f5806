"""Which tenants' incidents changed, told across processes: what keeps open web pages live.

Incidents change in several processes: the server, its ingest writer and engine children, and
other replicas on PostgreSQL. A page in a browser is held open by one server process, so that
process must hear of every commit, from whichever process made it. Two signals, one per database:

- PostgreSQL: every transaction that writes an incident, its timeline, its alerts or notes sends
  ``NOTIFY tocsin_changes, '<org_id>:<0|1>'``. The ORM path needs no call at each write site: a
  flush hook sees the rows (``_after_flush``). The two hand-written SQL paths (bulk ingest and
  opening) call ``announce_raw`` once per batch. PostgreSQL delivers a NOTIFY at COMMIT (never
  for a rollback) and folds identical ones of a transaction into one, so a storm's batch costs
  one ``pg_notify`` statement, not one per event. ``PostgresWatch`` LISTENs.
- SQLite: no NOTIFY, but ``PRAGMA data_version`` on a connection changes whenever any *other*
  connection (of this process or another) has committed to the file; reading it costs
  microseconds. ``SqliteWatch`` polls it at ~4 Hz on its own connection and, only when it moved,
  reads which tenants have timeline entries or alerts past the last rowids it saw (a range scan
  of the new rows on the tables' rowid b-trees). Nothing is added to any write path.

Either watch calls ``on_change`` with the set of tenants that changed, or with ``None`` when it
cannot know (it has just (re)connected and may have missed commits): then every subscriber must
refresh in full.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, cast

from sqlalchemy import event, text
from sqlalchemy.orm import Session, UOWTransaction

from tocsin.db.models import Alert, Incident, Note, TimelineEntry
from tocsin.db.raw import RawSQL
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant

log = logging.getLogger(__name__)

CHANNEL = "tocsin_changes"
POLL_SECONDS = 0.25  # SQLite: how often data_version is read (~4 Hz)
_ANNOUNCED = "tocsin.changes.announced"  # session.info: tenants already announced in this transaction
_WATCHED = (Incident, TimelineEntry, Alert, Note)

OnChange = Callable[[frozenset[Tenant] | None], None]


def payload(tenant: Tenant) -> str:
    """The NOTIFY payload of a tenant: short, and parsed back by ``parse``."""
    return f"{tenant.org_id}:{1 if tenant.livemode else 0}"


def parse(text_: str) -> Tenant | None:
    """The tenant of a NOTIFY payload; ``None`` for one this version does not understand."""
    org_id, _, mode = text_.rpartition(":")
    if not org_id or mode not in ("0", "1"):
        return None
    return Tenant(org_id=org_id, livemode=mode == "1")


def _notify(session: Session, tenants: Iterable[Tenant]) -> None:
    announced: set[Tenant] = session.info.setdefault(_ANNOUNCED, set())
    fresh = [tenant for tenant in tenants if tenant not in announced]
    if not fresh:
        return
    announced.update(fresh)
    session.connection().execute(
        text("SELECT pg_notify(:channel, :payload)"),
        [{"channel": CHANNEL, "payload": payload(tenant)} for tenant in fresh],
    )


def announce(*, session: Session, tenant: Tenant) -> None:
    """Tell every listening server that ``tenant``'s incidents changed in this transaction, for a
    write the flush hook cannot see (hand-written SQL on the session's connection)."""
    if session.get_bind().dialect.name == "postgresql":
        _notify(session, [tenant])


def announce_raw(raw: RawSQL, tenants: Iterable[Tenant]) -> None:
    """``announce`` for the bulk ingest path, on its DBAPI connection: one statement per batch,
    whatever the number of tenants. Nothing on SQLite (``SqliteWatch`` needs no signal)."""
    if not raw.postgres:
        return
    payloads = sorted({payload(tenant) for tenant in tenants})
    if payloads:
        raw.rows("SELECT pg_notify(?, p) FROM unnest(?::text[]) AS p", [CHANNEL, payloads])


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: UOWTransaction) -> None:
    # The pre-flush lists are still readable here; the NOTIFY joins the flushed transaction.
    tenants = {
        Tenant(org_id=row.org_id, livemode=row.livemode)
        for row in chain(session.new, session.dirty, session.deleted)
        if isinstance(row, _WATCHED)
    }
    if tenants and session.get_bind().dialect.name == "postgresql":
        _notify(session, tenants)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ANNOUNCED, None)


class PostgresWatch:
    """LISTEN on ``tocsin_changes`` in a thread; reconnects when the connection drops."""

    def __init__(self, database: Database) -> None:
        self.url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run(self, stop: threading.Event, on_change: OnChange) -> None:
        import psycopg  # noqa: PLC0415 - only with PostgreSQL

        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    on_change(None)  # commits made while we were not listening are unknown
                    while not stop.is_set():
                        changed: set[Tenant] = set()
                        for notice in connection.notifies(timeout=0.5, stop_after=256):
                            tenant = parse(notice.payload)
                            if tenant is not None:
                                changed.add(tenant)
                        if changed:
                            on_change(frozenset(changed))
            except Exception:  # noqa: BLE001 - keep listening; subscribers refresh on reconnect
                log.warning("LISTEN %s connection lost; retrying", CHANNEL, exc_info=True)
                stop.wait(1.0)


class SqliteWatch:
    """Polls ``PRAGMA data_version`` on a connection of its own (so every commit is another
    connection's) and reads which tenants the new timeline entries and alerts belong to."""

    def __init__(self, database: Database, poll_seconds: float = POLL_SECONDS) -> None:
        self.database = database
        self.poll_seconds = poll_seconds

    def run(self, stop: threading.Event, on_change: OnChange) -> None:
        while not stop.is_set():
            try:
                self._follow(stop, on_change)
            except Exception:  # noqa: BLE001 - the file may be busy or replaced; start again
                log.warning("watching the SQLite file for changes failed; retrying", exc_info=True)
                stop.wait(1.0)

    def _follow(self, stop: threading.Event, on_change: OnChange) -> None:
        pooled = self.database.read_engine.raw_connection()
        try:
            connection = cast(sqlite3.Connection, pooled.driver_connection)
            version = _scalar(connection, "PRAGMA data_version")
            marks = {table: _top(connection, table) for table in _TABLES}
            on_change(None)
            while not stop.wait(self.poll_seconds):
                now = _scalar(connection, "PRAGMA data_version")
                if now == version:
                    continue
                version = now
                changed: set[Tenant] = set()
                for table in _TABLES:
                    rows = connection.execute(
                        f"SELECT org_id, livemode, max(rowid) FROM {table} WHERE rowid > ? "
                        "GROUP BY org_id, livemode",
                        (marks[table],),
                    ).fetchall()
                    for org_id, livemode, last in rows:
                        changed.add(Tenant(org_id=org_id, livemode=bool(livemode)))
                        marks[table] = max(marks[table], last)
                    if not rows:  # rows removed at the top (an incident deleted) let rowids repeat
                        marks[table] = min(marks[table], _top(connection, table))
                if changed:
                    on_change(frozenset(changed))
        finally:
            with contextlib.suppress(Exception):
                pooled.close()


_TABLES = ("timeline_entries", "alerts")


def _scalar(connection: sqlite3.Connection, sql: str) -> Any:
    row = connection.execute(sql).fetchone()
    connection.commit()  # end the implicit read, so the next read sees later commits
    return row[0]


def _top(connection: sqlite3.Connection, table: str) -> int:
    """The highest rowid of ``table`` now (0 when empty): where the watch's next scan starts."""
    return int(_scalar(connection, f"SELECT coalesce(max(rowid), 0) FROM {table}"))


def watch_for(database: Database) -> PostgresWatch | SqliteWatch | None:
    """The watch that fits ``database``; ``None`` for an in-memory SQLite database, which no other
    connection can write."""
    if database.is_postgres:
        return PostgresWatch(database)
    if database.is_sqlite_file:
        return SqliteWatch(database)
    return None
