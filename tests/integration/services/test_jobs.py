"""The job queue on a real database: idempotent enqueue, leased claims that a dead worker loses,
heartbeats that keep a slow worker's lease, retries with give-up, cancellation, retention.

Times are in 1901, before anything other tests leave in the shared database is due, so every
claim here sees only this module's jobs; the ``tenant`` fixture settles whatever a test leaves."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.factories.orgs import OrgFactory
from tocsin.db.models import Job
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services import jobs

LEASE = timedelta(seconds=30)


@pytest.fixture
def tenant(database: Database, orgs: OrgFactory) -> Iterator[Tenant]:
    tenant = orgs.new().tenant
    yield tenant
    with database.write() as session:
        session.execute(
            update(Job)
            .where(Job.org_id == tenant.org_id, Job.status.in_(("pending", "running")))
            .values(status="cancelled")
        )


def _enqueue(database: Database, tenant: Tenant, at: datetime, key: str, **extra: object) -> bool:
    with database.write() as session:
        return jobs.enqueue(session=session, tenant=tenant, kind="test", key=key, run_at=at, now=at, **extra)  # type: ignore[arg-type]


def _claim(database: Database, owner: str, now: datetime, limit: int = 10) -> list[jobs.ClaimedJob]:
    with database.write() as session:
        return jobs.claim(session=session, owner=owner, now=now, lease=LEASE, limit=limit)


def test_enqueue_is_idempotent_and_claims_are_leased(database: Database, tenant: Tenant) -> None:
    t0 = datetime(1901, 1, 1, 0, 1, tzinfo=UTC)
    key = f"k-{uuid.uuid4().hex}"
    assert _enqueue(database, tenant, t0, key, payload={"n": 1})
    assert not _enqueue(database, tenant, t0, key, payload={"n": 2})  # the same key exists once
    assert _claim(database, "a", t0 - timedelta(seconds=1)) == []  # not due yet
    [job] = _claim(database, "a", t0)
    assert (job.key, job.payload, job.attempts, job.tenant) == (key, {"n": 1}, 1, tenant)
    assert _claim(database, "b", t0 + LEASE - timedelta(seconds=1)) == []  # leased to a
    # a dies: after the lease, b takes it over; a can no longer settle it.
    [taken] = _claim(database, "b", t0 + LEASE + timedelta(seconds=1))
    assert (taken.id, taken.attempts) == (job.id, 2)
    with database.write() as session:
        assert not jobs.finish(session=session, job=job, owner="a", now=t0)
        assert jobs.finish(session=session, job=taken, owner="b", now=t0, result="ok")
    with database.read() as session:
        [row] = jobs.list_jobs(session=session, tenant=tenant)
        assert (row.status, row.result) == ("done", "ok")


def test_heartbeat_keeps_a_slow_workers_lease(database: Database, tenant: Tenant) -> None:
    t0 = datetime(1901, 1, 1, 0, 2, tzinfo=UTC)
    _enqueue(database, tenant, t0, f"k-{uuid.uuid4().hex}")
    [job] = _claim(database, "slow", t0)
    with database.write() as session:
        assert (
            jobs.extend_leases(session=session, ids=[job.id], owner="slow", until=t0 + 3 * LEASE, now=t0) == 1
        )
        assert (
            jobs.extend_leases(session=session, ids=[job.id], owner="other", until=t0 + 9 * LEASE, now=t0)
            == 0
        )
    assert _claim(database, "other", t0 + 2 * LEASE) == []
    assert [j.id for j in _claim(database, "other", t0 + 3 * LEASE + timedelta(seconds=1))] == [job.id]


def test_claims_take_lapsed_leases_first_then_the_oldest_due_up_to_the_limit(
    database: Database, tenant: Tenant
) -> None:
    t0 = datetime(1901, 1, 1, 0, 5, tzinfo=UTC)
    keys = [f"k-{uuid.uuid4().hex}" for _ in range(6)]
    for key, minutes in zip(keys, (0, 1, 2, 3, 4, 10), strict=True):
        _enqueue(database, tenant, t0 + timedelta(minutes=minutes), key)
    [dead] = _claim(database, "dead", t0, limit=1)
    assert dead.key == keys[0]
    now = t0 + timedelta(minutes=4, seconds=30)  # dead's lease ran out; keys[5] is not due yet
    assert now > t0 + LEASE
    # A worker never takes back its own lapsed job (a late heartbeat must not run it twice).
    assert [job.key for job in _claim(database, "dead", now, limit=1)] == [keys[1]]
    taken = _claim(database, "w", now, limit=2)
    assert [(job.key, job.attempts) for job in taken] == [(keys[0], 2), (keys[2], 1)]  # lapsed first
    assert [job.key for job in _claim(database, "w2", now, limit=10)] == [keys[3], keys[4]]
    assert _claim(database, "w3", now, limit=10) == []


def test_concurrent_claimers_share_the_due_jobs_and_never_take_one_twice(
    database: Database, tenant: Tenant
) -> None:
    t0 = datetime(1901, 1, 1, 0, 6, tzinfo=UTC)
    keys = {f"k-{uuid.uuid4().hex}" for _ in range(60)}
    for index, key in enumerate(sorted(keys)):
        _enqueue(database, tenant, t0 + timedelta(seconds=index), key)
    now = t0 + timedelta(minutes=1)
    taken: dict[str, list[str]] = {}

    def claimer(owner: str) -> None:
        mine = taken.setdefault(owner, [])
        while batch := _claim(database, owner, now, limit=4):
            mine.extend(job.key for job in batch)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [key for keys_of_one in taken.values() for key in keys_of_one]
    assert sorted(every) == sorted(keys)  # each job once, none left behind


def test_retry_then_give_up_and_cancel(database: Database, tenant: Tenant) -> None:
    t0 = datetime(1901, 1, 1, 0, 3, tzinfo=UTC)
    _enqueue(database, tenant, t0, f"k-{uuid.uuid4().hex}", max_attempts=2, incident_id="inc_x1")
    [job] = _claim(database, "w", t0)
    with database.write() as session:
        assert jobs.retry(
            session=session, job=job, owner="w", now=t0, run_at=t0 + timedelta(seconds=10), error="503"
        )
    assert _claim(database, "w", t0 + timedelta(seconds=9)) == []
    [again] = _claim(database, "w", t0 + timedelta(seconds=10))
    with database.write() as session:
        jobs.retry(session=session, job=again, owner="w", now=t0, run_at=t0, error="503 again")
    with database.read() as session:
        [row] = jobs.list_jobs(session=session, tenant=tenant)
        assert (row.status, row.attempts, row.result) == ("failed", 2, "503 again")

    other = f"k-{uuid.uuid4().hex}"
    with database.write() as session:
        jobs.enqueue(
            session=session, tenant=tenant, kind="notify", key=other, run_at=t0, now=t0, incident_id="inc_x2"
        )
        jobs.enqueue(
            session=session,
            tenant=tenant,
            kind="webhook",
            key=other + "w",
            run_at=t0,
            now=t0,
            incident_id="inc_x2",
        )
        assert jobs.cancel_for_incident(session=session, incident_ids=["inc_x2"], now=t0) == 1  # paging only
    with database.read() as session:
        statuses = {
            j.kind: j.status for j in jobs.list_jobs(session=session, tenant=tenant, incident_id="inc_x2")
        }
    assert statuses == {"notify": "cancelled", "webhook": "pending"}


def test_a_page_waiting_for_its_retry_outlives_a_cancel_and_keeps_its_new_payload(
    database: Database, tenant: Tenant
) -> None:
    """An ack cancels the pages not yet tried; a page that failed and waits for its retry stays, so
    its handler can write down that it was skipped (issue 19). A retry may rewrite the payload."""
    t0 = datetime(1901, 1, 1, 0, 7, tzinfo=UTC)
    tried, untried = f"k-{uuid.uuid4().hex}", f"k-{uuid.uuid4().hex}"
    with database.write() as session:
        for key, at in ((tried, t0), (untried, t0 + timedelta(minutes=2))):
            jobs.enqueue(
                session=session, tenant=tenant, kind="notify", key=key, run_at=at, now=t0, payload={"n": 1},
                incident_id="inc_x7",
            )  # fmt: skip
    [job] = _claim(database, "w", t0)
    assert job.key == tried
    with database.write() as session:
        assert jobs.retry(
            session=session, job=job, owner="w", now=t0, run_at=t0 + timedelta(seconds=10), error="down",
            payload={"n": 1, "first_failed_at": t0.isoformat()},
        )  # fmt: skip
        assert jobs.cancel_for_incident(session=session, incident_ids=["inc_x7"], now=t0) == 1
    with database.read() as session:
        rows = {j.key: j for j in jobs.list_jobs(session=session, tenant=tenant, incident_id="inc_x7")}
        assert rows[untried].status == "cancelled"
        assert rows[tried].status == "pending" and rows[tried].attempts == 1
        assert rows[tried].payload == {"n": 1, "first_failed_at": t0.isoformat()}
    [again] = _claim(database, "w", t0 + timedelta(seconds=10))
    assert again.key == tried and again.payload["first_failed_at"] == t0.isoformat()


def test_purge_deletes_only_old_finished_jobs(database: Database, tenant: Tenant) -> None:
    t0 = datetime(1901, 1, 1, 0, 4, tzinfo=UTC)
    _enqueue(database, tenant, t0, f"k-{uuid.uuid4().hex}")
    _enqueue(database, tenant, t0 + timedelta(days=30), f"k-{uuid.uuid4().hex}")  # still pending
    [job] = _claim(database, "w", t0)
    with database.write() as session:
        jobs.finish(session=session, job=job, owner="w", now=t0)
        assert jobs.settled_among(session=session, ids=[job.id, "job_missing"]) == {job.id, "job_missing"}
    with database.write() as session:
        jobs.purge(session=session, settled_before=t0)  # housekeeping is global: other orgs' jobs go too
    with database.read() as session:
        assert sorted(j.status for j in jobs.list_jobs(session=session, tenant=tenant)) == ["done", "pending"]
    with database.write() as session:
        jobs.purge(session=session, settled_before=t0 + timedelta(days=8))
    with database.read() as session:
        assert [j.status for j in jobs.list_jobs(session=session, tenant=tenant)] == ["pending"]
