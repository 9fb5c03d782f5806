"""Readiness benchmark: ``GET /api/readiness``'s computation for an org of 200 services, 50
schedules (rotations with business-hours, night and weekend restrictions, in DST zones), 60
policies of 1-3 levels and 300 people with contact methods and rules, in-process on a fresh SQLite
file.

    .venv/bin/python bench/readiness.py [--services 200] [--schedules 50] [--runs 20]

The baseline, measured in the same run, is the work readiness cannot avoid: loading every
schedule and computing its final shifts for the 7-day window (``schedules.oncall.load_snapshots``
and ``Snapshot.final``). The ratio readiness / baseline is what the rest costs (services, policies,
people, rules, the coverage math). Prints p50 and max of each over ``--runs`` runs and the ratio."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tocsin.db.migrate import upgrade
from tocsin.db.models import Schedule
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.access import orgs
from tocsin.services.catalog import services as catalog
from tocsin.services.escalation import policies
from tocsin.services.people import contacts, users
from tocsin.services.readiness.check import HORIZON, check_tenant
from tocsin.services.schedules import oncall, schedules
from tocsin.services.sql import tenant_filter

SEED = 20261208
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC")
CONFIGURED = frozenset({"email", "push", "slack", "teams", "webhook"})
RESTRICTIONS: tuple[list[dict[str, Any]], ...] = (
    [],
    [
        {"kind": "weekly", "start_day": d, "start": "09:00", "end_day": d, "end": "17:00"}
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    ],
    [{"kind": "daily", "start": "18:00", "end": "08:00"}],
    [{"kind": "weekly", "start_day": "friday", "start": "18:00", "end_day": "monday", "end": "08:00"}],
)


def seed(db: Database, tenant: Tenant, args: argparse.Namespace, now: datetime) -> None:
    rng = random.Random(SEED)
    with db.write() as session:
        people = []
        for i in range(args.people):
            user = users.create_user(
                session=session, tenant=tenant, now=now, name=f"Person {i}", email=f"p{i}@bench.test"
            )
            people.append(user.id)
            if rng.random() < 0.9:
                kind, address = rng.choice((("email", f"p{i}@bench.test"), ("sms", f"+1555{i:07d}")))
                method = contacts.create_contact_method(
                    session=session, tenant=tenant, user_id=user.id, type=kind, address=address, now=now
                )
                for urgency in ("high", "low")[: rng.randint(1, 2)]:
                    contacts.create_notification_rule(
                        session=session,
                        tenant=tenant,
                        user_id=user.id,
                        contact_method_id=method.id,
                        urgency=urgency,
                        delay_minutes=0,
                        now=now,
                    )
        schedule_ids = []
        for i in range(args.schedules):
            layers = [
                {
                    "users": rng.sample(people, rng.randint(2, 6)),
                    "rotation_unit": rng.choice(("hours", "days", "weeks")),
                    "rotation_length": rng.randint(1, 3),
                    "start": now - timedelta(days=rng.randint(7, 300)),
                    "restrictions": rng.choice(RESTRICTIONS),
                }
                for _ in range(rng.randint(1, 3))
            ]
            schedule = schedules.create_schedule(
                session=session,
                tenant=tenant,
                now=now,
                name=f"Schedule {i}",
                time_zone=rng.choice(ZONES),
                layers=layers,
            )
            schedule_ids.append(schedule.id)
        policy_ids = []
        for i in range(args.policies):
            rules = []
            for _ in range(rng.randint(1, 3)):
                target = rng.choice(
                    (
                        {"type": "schedule", "id": rng.choice(schedule_ids)},
                        {"type": "user", "id": rng.choice(people)},
                    )
                )
                rules.append({"delay_minutes": 5, "targets": [target]})
            policy_ids.append(
                policies.create_policy(
                    session=session, tenant=tenant, now=now, name=f"Policy {i}", rules=rules
                ).id
            )
        for i in range(args.services):
            policy_id = rng.choice(policy_ids) if rng.random() < 0.95 else None
            catalog.create_service(
                session=session, tenant=tenant, now=now, name=f"Service {i}", escalation_policy_id=policy_id
            )


def baseline(db: Database, tenant: Tenant, now: datetime) -> None:
    with db.read() as session:
        found = session.scalars(select(Schedule).where(*tenant_filter(Schedule, tenant))).all()
        for snapshot in oncall.load_snapshots(
            session=session, tenant=tenant, schedules=found, since=now, until=now + HORIZON
        ):
            snapshot.final(now, now + HORIZON)


def readiness(db: Database, tenant: Tenant, now: datetime) -> int:
    with db.read() as session:
        return len(check_tenant(session=session, tenant=tenant, now=now, configured=CONFIGURED).findings)


def timed(runs: int, work: Any) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--schedules", type=int, default=50)
    parser.add_argument("--policies", type=int, default=60)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        db = Database(url, sqlite_synchronous="OFF")
        with db.write() as session:
            org = orgs.create_org(session=session, slug="bench", name="Bench", now=now)
            tenant = Tenant(org.id, True)
        seed(db, tenant, args, now)
        findings = readiness(db, tenant, now)  # warm-up: imports, zone data, statement cache
        baseline(db, tenant, now)
        base = timed(args.runs, lambda: baseline(db, tenant, now))
        full = timed(args.runs, lambda: readiness(db, tenant, now))
        db.dispose()
    size = f"{args.services} services, {args.schedules} schedules, {args.policies} policies"
    print(f"org: {size}, {args.people} people; {findings} findings")
    for name, samples in (
        ("baseline (schedules' 7-day shifts)", base),
        ("readiness (GET /api/readiness)", full),
    ):
        print(
            f"{name:38} p50 {statistics.median(samples) * 1000:8.1f} ms   max {max(samples) * 1000:8.1f} ms"
        )
    print(f"ratio readiness / baseline (p50): {statistics.median(full) / statistics.median(base):.2f}")


if __name__ == "__main__":
    main()
