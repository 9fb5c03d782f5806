"""The durable job queue (DESIGN.md section 7): enqueue in the caller's transaction, claim with a
lease, finish, retry or give up. Every function takes the session of the transaction it belongs to.

A job is written in the same transaction as the state change that caused it, so a committed change
always has its follow-up, and a rolled-back one never does. ``key`` makes enqueueing idempotent: a
step retried after a crash enqueues the same keys again and nothing doubles.

Claiming is one ``UPDATE ... RETURNING``: on PostgreSQL over a ``FOR UPDATE SKIP LOCKED`` subquery,
so replicas never wait on each other's rows; on SQLite the write lock serializes claimers. A claim
is a lease: a worker killed with its jobs leased leaves them ``running`` with ``lease_until`` in the
past, and the next claim takes them over.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Integer,
    Result,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from tocsin.db.models import Job
from tocsin.domain.actor import Tenant
from tocsin.ids import new_id
from tocsin.services.sql import dialect_insert

NOTIFY_CHANNEL = "tocsin_jobs"
_FLAG = "tocsin.jobs.enqueued"
_LISTENERS: list[Callable[[], None]] = []

# Job kinds whose pending rows an acknowledge or resolve cancels: the escalation steps and the
# pages they fan out to. Webhook deliveries and snooze/ack-timeout timers are not in it.
PAGING_KINDS = ("escalate", "notify")


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job as a worker holds it: a plain snapshot, safe to use outside the transaction."""

    id: str
    kind: str
    key: str
    org_id: str
    livemode: bool
    incident_id: str | None
    payload: Mapping[str, Any]
    attempts: int  # including this one
    max_attempts: int
    run_at: datetime

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.org_id, self.livemode)


def on_commit(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` after every commit that enqueued jobs (in the committing thread); returns
    the function that unsubscribes it. The engine uses it to wake at once in-process."""
    _LISTENERS.append(listener)
    return lambda: _LISTENERS.remove(listener) if listener in _LISTENERS else None


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        committed_elsewhere()


def committed_elsewhere() -> None:
    """Call the ``on_commit`` listeners for a commit that enqueued jobs in another process on
    this one's behalf (the ingest writer's)."""
    for listener in list(_LISTENERS):
        listener()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, False)


def mark_enqueued(*, session: Session) -> None:
    """Note that this transaction added jobs: wake the local engine after the commit, and on
    PostgreSQL every listening engine (``NOTIFY`` is delivered at commit, or not at all)."""
    if session.info.get(_FLAG):
        return
    session.info[_FLAG] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


def enqueue(
    *,
    session: Session,
    tenant: Tenant,
    kind: str,
    key: str,
    run_at: datetime,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    incident_id: str | None = None,
    max_attempts: int = 8,
) -> bool:
    """Add a job unless one with ``key`` exists (whatever its state). True when it was added."""
    stmt = (
        dialect_insert(session, Job)
        .values(
            id=new_id("job"),
            org_id=tenant.org_id,
            livemode=tenant.livemode,
            kind=kind,
            key=key,
            status="pending",
            run_at=run_at,
            incident_id=incident_id,
            payload=dict(payload or {}),
            attempts=0,
            max_attempts=max_attempts,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        # RETURNING, not rowcount: an ORM-enabled INSERT reports rowcount -1 on psycopg.
        .returning(Job.id)
    )
    added = session.execute(stmt).first() is not None
    if added:
        mark_enqueued(session=session)
    return added


def _changed(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE touched (DML results are cursor results)."""
    return cast(CursorResult[Any], result).rowcount


# The jobs table for the engine's prebuilt Core statements (claim, settle).
_JOBS = cast(Table, Job.__table__)


@functools.cache
def _claim_statement(*, expired_leases: bool, postgres: bool) -> Update:
    """Lease the oldest ``:limit`` jobs of one kind of claimable: due pending jobs, or running jobs
    whose lease ran out under *another* owner. A worker never takes back its own running job (a
    late heartbeat must not make it run the job twice); a restarted process has a new owner name,
    so it does take over what its previous life held.

    One kind per statement, so each is a range of ``ix_jobs_due`` (status, run_at) read in order
    and stopped at the limit. Both kinds in one ``OR`` made SQLite gather and sort every due job
    for each claim: 4 ms with the 26k-job backlog of a ten-second storm, growing with it, and
    inside the write lock. The UPDATE names the chosen ids only: with the condition repeated,
    SQLite walked the whole due range again to find them (55 ms). The subquery's choice holds: on
    SQLite the statement runs under the write lock, and PostgreSQL re-checks a row's condition
    when ``FOR UPDATE`` locks it (a row another worker holds is skipped). Built once, like
    ``_settle_statement``."""
    column = _JOBS.c
    if expired_leases:
        claimable = and_(
            column.status == "running",
            column.lease_until < bindparam("now"),
            column.lease_owner != bindparam("owner"),
        )
    else:
        claimable = and_(column.status == "pending", column.run_at <= bindparam("now"))
    chosen = (
        select(column.id).where(claimable).order_by(column.run_at).limit(bindparam("limit", type_=Integer))
    )
    if postgres:
        chosen = chosen.with_for_update(skip_locked=True)
    return (
        update(_JOBS)
        .where(column.id.in_(chosen.scalar_subquery()))
        .values(
            status="running",
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until"),
            attempts=column.attempts + 1,
            updated_at=bindparam("now"),
        )
        .returning(
            column.id,
            column.kind,
            column.key,
            column.org_id,
            column.livemode,
            column.incident_id,
            column.payload,
            column.attempts,
            column.max_attempts,
            column.run_at,
        )
    )


def claim(*, session: Session, owner: str, now: datetime, lease: timedelta, limit: int) -> list[ClaimedJob]:
    """Lease up to ``limit`` due jobs (oldest ``run_at`` first) to ``owner`` until ``now + lease``:
    first running jobs whose lease ran out (rare, and older than any job still pending), then
    pending ones."""
    postgres = session.get_bind().dialect.name == "postgresql"
    connection = session.connection()
    params = {"owner": owner, "now": now, "until": now + lease}
    rows = list(
        connection.execute(
            _claim_statement(expired_leases=True, postgres=postgres), {**params, "limit": limit}
        )
    )
    if len(rows) < limit:
        pending = _claim_statement(expired_leases=False, postgres=postgres)
        rows += connection.execute(pending, {**params, "limit": limit - len(rows)})
    return sorted((ClaimedJob(*row) for row in rows), key=lambda job: (job.run_at, job.id))


def extend_leases(*, session: Session, ids: Sequence[str], owner: str, until: datetime, now: datetime) -> int:
    """Keep ``owner``'s running jobs leased until ``until``: a slow handler (a provider timing out,
    a busy database) must not look dead and have its page sent a second time by another worker."""
    if not ids:
        return 0
    return _changed(
        session.execute(
            update(Job)
            .where(Job.id.in_(list(ids)), Job.status == "running", Job.lease_owner == owner)
            .values(lease_until=until, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    )


def purge(*, session: Session, settled_before: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` finished jobs (done, failed, cancelled) last touched before
    ``settled_before``: their story is on the timeline; the queue should stay small."""
    chosen = (
        select(Job.id)
        .where(Job.status.in_(("done", "failed", "cancelled")), Job.updated_at < settled_before)
        .limit(limit)
        .scalar_subquery()
    )
    return _changed(session.execute(delete(Job).where(Job.id.in_(chosen))))


def settled_among(*, session: Session, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are no longer pending or running (done, failed, cancelled) or gone."""
    wanted = set(ids)
    if not wanted:
        return set()
    open_ids = set(
        session.scalars(select(Job.id).where(Job.id.in_(wanted), Job.status.in_(("pending", "running"))))
    )
    return wanted - open_ids


def next_due(*, session: Session) -> datetime | None:
    """When the earliest pending job is due, or a lease runs out, so an idle worker sleeps exactly
    until then."""
    pending = session.scalar(select(Job.run_at).where(Job.status == "pending").order_by(Job.run_at).limit(1))
    leased = session.scalar(
        select(Job.lease_until).where(Job.status == "running").order_by(Job.lease_until).limit(1)
    )
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


def pending_by_kind(*, session: Session) -> dict[str, int]:
    """Pending jobs (due or not) by kind, across all orgs: the operator's view, for /metrics. A
    range of ``ix_jobs_due`` (status first)."""
    rows = session.execute(select(Job.kind, func.count()).where(Job.status == "pending").group_by(Job.kind))
    return {kind: count for kind, count in rows}


def oldest_due(*, session: Session, now: datetime) -> datetime | None:
    """The ``run_at`` of the longest-waiting due pending job, across all orgs: how far behind the
    engines are (None when nothing is due). The first row of ``ix_jobs_due``'s pending range."""
    return session.scalar(
        select(Job.run_at).where(Job.status == "pending", Job.run_at <= now).order_by(Job.run_at).limit(1)
    )


@functools.cache
def _settle_statement(fields: tuple[str, ...]) -> Update:
    """The UPDATE that settles a job, setting ``fields`` besides the time and the lease. Built once
    per kind of settlement and run on the connection: the engine settles a job per job, and
    building the statement and its cache key, then the ORM's bulk-update path, cost more than the
    UPDATE itself."""
    return (
        update(_JOBS)
        .where(
            _JOBS.c.id == bindparam("job_id"),
            _JOBS.c.status == "running",
            _JOBS.c.lease_owner == bindparam("owner"),
        )
        .values(
            updated_at=bindparam("now"),
            lease_until=None,
            **{field: bindparam(f"new_{field}") for field in fields},
        )
    )


def _settle(session: Session, job: ClaimedJob, owner: str, now: datetime, **values: Any) -> bool:
    """Update a job this worker still holds; False when its lease was lost to another worker."""
    statement = _settle_statement(tuple(sorted(values)))
    params = {
        "job_id": job.id,
        "owner": owner,
        "now": now,
        **{f"new_{field}": value for field, value in values.items()},
    }
    return _changed(session.connection().execute(statement, params)) > 0


def finish(
    *, session: Session, job: ClaimedJob, owner: str, now: datetime, result: str | None = None
) -> bool:
    return _settle(session, job, owner, now, status="done", result=result)


def retry(
    *,
    session: Session,
    job: ClaimedJob,
    owner: str,
    now: datetime,
    run_at: datetime,
    error: str,
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Back to pending for another attempt at ``run_at``, or ``failed`` when attempts are used up.
    ``payload`` replaces the job's: what a handler must remember across attempts (a page keeps
    the time of its first failure, from which its retries are capped)."""
    if job.attempts >= job.max_attempts:
        return _settle(session, job, owner, now, status="failed", result=error[:2000])
    extra: dict[str, Any] = {} if payload is None else {"payload": dict(payload)}
    return _settle(session, job, owner, now, status="pending", run_at=run_at, result=error[:2000], **extra)


def fail(*, session: Session, job: ClaimedJob, owner: str, now: datetime, error: str) -> bool:
    return _settle(session, job, owner, now, status="failed", result=error[:2000])


def cancel_for_incident(
    *, session: Session, incident_ids: Iterable[str], now: datetime, kinds: Sequence[str] = PAGING_KINDS
) -> int:
    """Cancel the pending jobs of ``kinds`` for these incidents (an ack or resolve stops paging).
    A job already running finishes its current step; its handler re-checks the incident first.

    A page waiting to be retried (a ``notify`` job that already failed an attempt) is left
    pending: its timeline says it will be retried, so its handler runs it once more to drop it
    with an entry that says why ("skipped: incident acknowledged by Erik"), sending nothing."""
    ids = list(incident_ids)
    if not ids:
        return 0
    retried_page = and_(Job.kind == "notify", Job.attempts > 0)
    result = session.execute(
        update(Job)
        .where(Job.incident_id.in_(ids), Job.kind.in_(kinds), Job.status == "pending", ~retried_page)
        .values(status="cancelled", updated_at=now, result="cancelled")
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def list_jobs(
    *, session: Session, tenant: Tenant, incident_id: str | None = None, kinds: Sequence[str] = ()
) -> list[Job]:
    """The tenant's jobs (for an incident), oldest first: for tests, the API and debugging."""
    stmt = select(Job).where(Job.org_id == tenant.org_id, Job.livemode == tenant.livemode)
    if incident_id is not None:
        stmt = stmt.where(Job.incident_id == incident_id)
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    return list(session.scalars(stmt.order_by(Job.run_at, Job.id)).all())
