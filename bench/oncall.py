"""On-call benchmark: who is on call, over HTTP on ``tocsin serve`` and in-process, against
1,000 schedules over 10,000 users, with ``GET /healthz`` on the same server as the baseline.

    .venv/bin/python bench/oncall.py [--requests 300] [--concurrency 8] [--schedules 1000]

Everything runs on 127.0.0.1 in a fresh temp directory: a new SQLite database (``tocsin migrate``),
seeded in one transaction through the service functions (users added in bulk), then ``tocsin serve``
as a subprocess. Each endpoint gets a bounded number of sequential requests over one keep-alive
connection (and at most ``--max-seconds`` of them); p50 and p99 are printed with their ratio to the
``/healthz`` baseline. The pure ``final_shifts`` for a 30-day window is timed in-process over every
schedule.

Exit status: 0 when the single-schedule on-call p99 meets the goal (< 10 ms), 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from ingest import HOST, NO_LIMIT, free_port, start, stop

BENCH_DIR = Path(__file__).resolve().parent
GOAL_P99_MS = 10.0
WINDOW = timedelta(days=30)
SEED = 20261124
# DST zones north and south (Lord Howe moves by 30 minutes), zones without DST, odd offsets.
ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "UTC",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


@dataclass(frozen=True)
class Seeded:
    key: str
    schedule_ids: list[str]
    user_ids: list[str]  # users that some layer rotates, for the user_id filter
    users: int
    overrides: int
    seconds: float


@dataclass(frozen=True)
class Timing:
    name: str
    count: int
    p50_ms: float
    p99_ms: float
    errors: int = 0
    per_second: float | None = None


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile in ms of samples in seconds (p99 of 300 is the 297th)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1] * 1000


def timing(name: str, samples: Sequence[float], errors: int = 0, per_second: float | None = None) -> Timing:
    if not samples:
        return Timing(name, 0, float("nan"), float("nan"), errors, per_second)
    return Timing(name, len(samples), percentile(samples, 50), percentile(samples, 99), errors, per_second)


def migrate(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "tocsin.cli", "migrate"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`tocsin migrate` failed:\n{done.stdout}{done.stderr}")


def _layer_start(rng: random.Random, zone: ZoneInfo, today: date, weekday: int | None) -> datetime:
    """A local handoff time in the past year (on ``weekday`` when given), as an aware datetime."""
    day = today - timedelta(days=rng.randint(7, 365))
    if weekday is not None:
        day -= timedelta(days=(day.weekday() - weekday) % 7)
    return datetime.combine(day, wall(rng.choice((0, 6, 8, 9, 10)), rng.choice((0, 0, 30))), tzinfo=zone)


def _restrictions(rng: random.Random) -> list[dict[str, Any]]:
    shape = rng.randrange(3)
    if shape == 0:  # business hours, one weekly window a weekday
        return [
            {"kind": "weekly", "start_day": d, "start": "09:00", "end_day": d, "end": "17:00"}
            for d in WEEKDAYS
        ]
    if shape == 1:  # nights, a daily window across midnight
        return [{"kind": "daily", "start": "18:00", "end": "08:00"}]
    # the weekend, one weekly window from Friday evening to Monday morning
    return [{"kind": "weekly", "start_day": "friday", "start": "18:00", "end_day": "monday", "end": "08:00"}]


def schedule_layers(
    rng: random.Random, people: list[str], zone: ZoneInfo, today: date
) -> list[dict[str, Any]]:
    """Three layers: a weekly base, a daily middle, an hourly top; the upper two mostly restricted."""
    base = {
        "name": "Primary",
        "users": rng.sample(people, rng.randint(3, 8)),
        "rotation_unit": "weeks",
        "rotation_length": rng.choice((1, 1, 1, 2)),
        "start": _layer_start(rng, zone, today, weekday=rng.choice((0, 0, 4))),
    }
    middle = {
        "name": "Daytime",
        "users": rng.sample(people, rng.randint(2, 6)),
        "rotation_unit": "days",
        "rotation_length": rng.choice((1, 1, 2, 3, 7)),
        "start": _layer_start(rng, zone, today, weekday=None),
        "restrictions": _restrictions(rng) if rng.random() < 0.7 else [],
    }
    top = {
        "name": "Follow the sun",
        "users": rng.sample(people, rng.randint(2, 4)),
        "rotation_unit": "hours",
        "rotation_length": rng.choice((4, 8, 12)),
        "start": _layer_start(rng, zone, today, weekday=None),
        "restrictions": _restrictions(rng),
    }
    return [base, middle, top]


def seed(db_url: str, *, users: int, schedules: int, overrides: int) -> Seeded:
    """One org, ``users`` users (bulk-added), ``schedules`` three-layer schedules and ``overrides``
    overrides on each, and a ``schedules:read`` key, in one transaction."""
    from tocsin.db.models import ScheduleOverride, User
    from tocsin.db.session import Database
    from tocsin.domain.actor import Actor, Tenant
    from tocsin.ids import new_id
    from tocsin.services.access import keys, orgs
    from tocsin.services.schedules import schedules as schedule_service

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    started = time.perf_counter()
    db = Database(db_url)
    try:
        with db.write() as session:
            org = orgs.create_org(session=session, slug="bench", name="Bench", now=now)
            tenant = Tenant(org.id, True)
            rows = [
                User(
                    id=new_id("user"),
                    org_id=org.id,
                    livemode=True,
                    name=f"User {n}",
                    email=f"user{n}@bench.tocsin.dev",
                    role="user",
                    time_zone=rng.choice(ZONES),
                    created_at=now,
                    updated_at=now,
                )
                for n in range(users)
            ]
            session.add_all(rows)
            session.flush()
            people = [row.id for row in rows]
            schedule_ids: list[str] = []
            rotated: set[str] = set()
            actor = Actor(type="system", id=None, name="bench")
            override_rows = []
            for n in range(schedules):
                zone_name = ZONES[n % len(ZONES)]
                zone = ZoneInfo(zone_name)
                # Each schedule draws its people from a team-sized slice of the org.
                team = people[(n * 10) % users : (n * 10) % users + 40] or people
                layers = schedule_layers(rng, team, zone, now.astimezone(zone).date())
                schedule = schedule_service.create_schedule(
                    session=session,
                    tenant=tenant,
                    now=now,
                    name=f"Service {n:04d} primary",
                    time_zone=zone_name,
                    layers=layers,
                )
                schedule_ids.append(schedule.id)
                rotated.update(u for layer in layers for u in layer["users"])
                for _ in range(overrides):
                    start = now + timedelta(hours=rng.randint(-48, 24 * 14))
                    override_rows.append(
                        ScheduleOverride(
                            id=new_id("schedule_override"),
                            org_id=org.id,
                            livemode=True,
                            schedule_id=schedule.id,
                            user_id=rng.choice(team),
                            start=start,
                            end=start + timedelta(hours=rng.choice((1, 2, 4, 8, 24, 72))),
                            created_by_type=actor.type,
                            created_by_id=actor.id,
                            created_by_name=actor.name,
                            created_at=now,
                        )
                    )
            session.add_all(override_rows)
            _, secret = keys.create_key(
                session=session, tenant=tenant, name="bench read", scopes=["schedules:read"], now=now
            )
    finally:
        db.dispose()
    return Seeded(
        key=secret,
        schedule_ids=schedule_ids,
        user_ids=sorted(rotated),
        users=users,
        overrides=len(override_rows),
        seconds=time.perf_counter() - started,
    )


def pure_timings(db_url: str, org_slug: str, schedule_ids: list[str]) -> list[Timing]:
    """``final_shifts`` over the next 30 days and ``on_call_at`` now, per schedule, without I/O:
    the models are loaded first, then only the rotation math is timed."""
    from tocsin.db.session import Database
    from tocsin.domain import schedule as rota
    from tocsin.domain.actor import Tenant
    from tocsin.services.access import orgs
    from tocsin.services.schedules import oncall

    now = datetime.now(UTC)
    db = Database(db_url)
    try:
        with db.read() as session:
            tenant = Tenant(orgs.get_org_by_slug(session=session, slug=org_slug).id, True)
            models = [
                oncall.load_snapshot(
                    session=session,
                    tenant=tenant,
                    schedule_id=schedule_id,
                    since=now - rota.ON_CALL_HORIZON,
                    until=now + rota.ON_CALL_HORIZON,
                ).model
                for schedule_id in schedule_ids
            ]
    finally:
        db.dispose()
    final: list[float] = []
    at: list[float] = []
    shifts = 0
    for model in models:
        begin = time.perf_counter()
        shifts += len(rota.final_shifts(model, now, now + WINDOW))
        final.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        rota.on_call_at(model, now)
        at.append(time.perf_counter() - begin)
    print(f"  {shifts / max(1, len(models)):.0f} final shifts per schedule in 30 days on average")
    return [
        timing("pure final_shifts, 30 days", final),
        timing("pure on_call_at, now", at),
    ]


def sequential(
    client: httpx.Client, name: str, paths: Callable[[], str], count: int, max_seconds: float
) -> Timing:
    """``count`` requests one after another (after 10 unmeasured), stopping early after ``max_seconds``."""
    for _ in range(10):
        client.get(paths())
    samples: list[float] = []
    errors = 0
    deadline = time.monotonic() + max_seconds
    for _ in range(count):
        path = paths()
        begin = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - begin)
        if response.status_code != 200:
            errors += 1
            if errors == 1:
                print(f"  {name}: {response.status_code} {response.text[:300]}", file=sys.stderr)
        if time.monotonic() > deadline:
            break
    return timing(name, samples, errors)


async def concurrent(
    base_url: str, key: str, name: str, paths: Callable[[], str], count: int, connections: int
) -> Timing:
    """``count`` requests from ``connections`` keep-alive connections at once."""
    samples: list[float] = []
    errors = 0
    remaining = count
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                begin = time.perf_counter()
                response = await client.get(paths())
                samples.append(time.perf_counter() - begin)
                errors += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return timing(name, samples, errors, per_second=len(samples) / elapsed if elapsed else None)


def report(rows: list[Timing]) -> None:
    """A table; each HTTP row is divided by the baseline row above it (sequential or concurrent)."""
    print(
        f"\n{'':44} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'x base p50':>10} {'x base p99':>10} {'req/s':>7}"
    )
    baseline: Timing | None = None
    for row in rows:
        ratios = ("", "")
        if row.name.startswith("baseline"):
            baseline = row
        elif baseline is not None and not row.name.startswith("pure"):
            ratios = (f"{row.p50_ms / baseline.p50_ms:.1f}", f"{row.p99_ms / baseline.p99_ms:.1f}")
        rate = "" if row.per_second is None else f"{row.per_second:.0f}"
        errors = f"  ({row.errors} errors)" if row.errors else ""
        print(
            f"{row.name:44} {row.count:5d} {row.p50_ms:8.2f} {row.p99_ms:8.2f}"
            f" {ratios[0]:>10} {ratios[1]:>10} {rate:>7}{errors}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="per endpoint, 10-10000 (default 300)")
    parser.add_argument(
        "--max-seconds", type=float, default=30, help="cap per endpoint, 1-600 s (default 30)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="connections of the concurrent run, 0 to skip (default 8)"
    )
    parser.add_argument("--schedules", type=int, default=1000, help="1-5000 (default 1000)")
    parser.add_argument("--users", type=int, default=10_000, help="100-100000 (default 10000)")
    parser.add_argument("--overrides", type=int, default=3, help="per schedule, 0-20 (default 3)")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run SQLite ANALYZE after seeding, so the planner has statistics (the server does not)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database and server log)")
    args = parser.parse_args(argv)
    args.requests = max(10, min(args.requests, 10_000))
    args.max_seconds = max(1.0, min(args.max_seconds, 600.0))
    args.concurrency = max(0, min(args.concurrency, 64))
    args.schedules = max(1, min(args.schedules, 5000))
    args.users = max(100, min(args.users, 100_000))
    args.overrides = max(0, min(args.overrides, 20))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-oncall-"))
    db_path = workdir / "tocsin.db"
    db_url = f"sqlite:///{db_path}"
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": db_url,
        "TOCSIN_LOG_LEVEL": "WARNING",
        "TOCSIN_RATELIMIT_READ": NO_LIMIT,
    }
    env.pop("TOCSIN_REDIS_URL", None)
    print(
        f"on-call bench: {args.schedules} schedules x 3 layers, {args.users} users, "
        f"{args.overrides} overrides each; {args.requests} requests per endpoint; "
        f"{os.cpu_count()} CPUs; workdir {workdir}"
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        migrate(env)
        seeded = seed(db_url, users=args.users, schedules=args.schedules, overrides=args.overrides)
        print(
            f"seeded {seeded.users} users, {len(seeded.schedule_ids)} schedules, "
            f"{seeded.overrides} overrides in {seeded.seconds:.1f}s"
        )
        if args.analyze:
            with sqlite3.connect(db_path) as connection:
                connection.execute("ANALYZE")
            print("ran ANALYZE: the query planner has table statistics")
        print("timing the rotation math in-process ...", flush=True)
        pure = pure_timings(db_url, "bench", seeded.schedule_ids)

        port = free_port()
        command = [sys.executable, "-m", "tocsin.cli", "serve", "--host", HOST, "--port", str(port)]
        server = start(command, env, workdir / "tocsin.log", port)
        base_url = f"http://{HOST}:{port}"
        rng = random.Random(SEED + 1)
        ids, people = seeded.schedule_ids, seeded.user_ids

        def since_until() -> str:
            now = datetime.now(UTC).replace(microsecond=0)
            return f"since={now:%Y-%m-%dT%H:%M:%SZ}&until={now + WINDOW:%Y-%m-%dT%H:%M:%SZ}"

        endpoints: list[tuple[str, Callable[[], str]]] = [
            ("baseline GET /healthz", lambda: "/healthz"),
            ("GET /api/schedules/{id}/on-call", lambda: f"/api/schedules/{rng.choice(ids)}/on-call"),
            (
                "GET /api/schedules/{id}/shifts (30 days)",
                lambda: f"/api/schedules/{rng.choice(ids)}/shifts?{since_until()}",
            ),
            ("GET /api/oncalls?limit=100", lambda: "/api/oncalls?limit=100"),
            (
                "GET /api/oncalls?limit=100&user_id=U",
                lambda: f"/api/oncalls?limit=100&user_id={rng.choice(people)}",
            ),
        ]
        rows: list[Timing] = []
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {seeded.key}"}, timeout=60
        ) as client:
            for name, paths in endpoints:
                print(f"driving {name} ...", flush=True)
                rows.append(sequential(client, name, paths, args.requests, args.max_seconds))
        if args.concurrency:
            for name, paths in endpoints[:2]:
                label = f"{name} x{args.concurrency} conns"
                print(f"driving {label} ...", flush=True)
                rows.append(
                    asyncio.run(
                        concurrent(base_url, seeded.key, label, paths, args.requests * 3, args.concurrency)
                    )
                )
        rows += pure
        report(rows)
        on_call = rows[1]
        ok = on_call.p99_ms < GOAL_P99_MS and on_call.errors == 0
        print(
            f"\nsingle-schedule on-call p99: {on_call.p99_ms:.2f} ms (goal < {GOAL_P99_MS:.0f} ms) "
            f"{'OK' if ok else 'MISSED'}"
        )
        results = BENCH_DIR / "results"
        results.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        record = {
            "at": stamp,
            "schedules": len(ids),
            "users": seeded.users,
            "overrides": seeded.overrides,
            "seed_seconds": seeded.seconds,
            "analyze": args.analyze,
            "rows": [row.__dict__ for row in rows],
            "goal_met": ok,
        }
        (results / f"oncall-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
        return 0 if ok else 1
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
