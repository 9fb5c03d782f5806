"""The Incidents screen's server-side render time with 100,000 incidents in the org, against the
JSON API's list of the same page, in-process on a fresh SQLite file (or ``--database-url``).

    .venv/bin/python bench/web_incidents.py [--incidents 100000] [--requests 300]

Both are asked through the same app and test client, so the ASGI and client overhead is the same
on both sides: ``GET /incidents`` (signed-in cookie; 25 rows with service and assignee names, the
filter form's choices, the open count, the whole page rendered) and ``GET /api/incidents?limit=25``
(an API key; the same service query and count, as JSON). Each is also asked with a filter
(``status=OPEN,ACKNOWLEDGED``), as a responder's list usually is. Prints p50 and p99 of each, and
the ratio screen / API. Target: the screen's p99 under 50 ms. The figures are reported, not
asserted: they depend on the machine."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tocsin.config import Settings
from tocsin.db.migrate import upgrade
from tocsin.db.models import Incident, IncidentAssignee
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.domain.scopes import SCOPES
from tocsin.ids import new_id
from tocsin.server.app import create_app
from tocsin.services.access import keys, orgs
from tocsin.services.accounts.hashing import Passwords
from tocsin.services.accounts.passwords import set_password
from tocsin.services.accounts.sessions import sign_in
from tocsin.services.catalog import services as catalog
from tocsin.services.people import users

SEED = 20261208
CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
STATUSES = ("RESOLVED",) * 17 + ("OPEN", "ACKNOWLEDGED", "SNOOZED")  # most of a long history is resolved
URGENCIES = ("HIGH", "HIGH", "LOW", "MEDIUM")


def seed(db: Database, count: int, now: datetime) -> tuple[str, str]:
    """An org with 20 services, 50 people and ``count`` incidents over the last year; returns the
    session cookie's token and an API key."""
    rng = random.Random(SEED)
    with db.write() as session:
        org = orgs.create_org(session=session, slug="bench", name="Bench", now=now)
        tenant = Tenant(org.id, True)
        services = [
            catalog.create_service(session=session, tenant=tenant, now=now, name=f"Service {i}").id
            for i in range(20)
        ]
        people = [
            users.create_user(
                session=session, tenant=tenant, now=now, name=f"Person {i}", email=f"p{i}@b.test"
            ).id
            for i in range(50)
        ]
        set_password(
            session=session,
            tenant=tenant,
            user_id=people[0],
            password="bench password 1",
            now=now,
            passwords=CHEAP,
        )
        token = sign_in(
            session=session, email="p0@b.test", password="bench password 1", now=now, passwords=CHEAP
        ).token
        _, key = keys.create_key(session=session, tenant=tenant, name="bench", scopes=SCOPES, now=now)
    batch = 5000
    for start in range(0, count, batch):
        rows, assignees = [], []
        for number in range(start + 1, min(count, start + batch) + 1):
            created = now - timedelta(seconds=(count - number) * 300)
            ident = new_id("incident")
            rows.append(
                {
                    "id": ident,
                    "org_id": tenant.org_id,
                    "livemode": True,
                    "number": number,
                    "title": f"Incident {number}: latency above threshold on host-{rng.randint(1, 400)}",
                    "status": rng.choice(STATUSES),
                    "urgency": rng.choice(URGENCIES),
                    "service_id": rng.choice(services),
                    "escalation_level": 0,
                    "escalation_cycle": 0,
                    "escalation_run": 0,
                    "dedup_key": ident,
                    "alert_count": rng.randint(1, 5),
                    "links": [],
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if rng.random() < 0.5:
                assignees.append({"incident_id": ident, "user_id": rng.choice(people), "created_at": created})
        with db.write() as session:
            session.execute(insert(Incident), rows)
            if assignees:
                session.execute(insert(IncidentAssignee), assignees)
    return token, key


def timed(requests: int, ask: Callable[[], int]) -> list[float]:
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        status = ask()
        samples.append(time.perf_counter() - start)
        if status != 200:
            raise SystemExit(f"answered {status}")
    return samples


def p99(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="per URL (default 300)")
    parser.add_argument("--database-url", help="an empty database to use instead of a temp SQLite file")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        db = Database(url, sqlite_synchronous="OFF")
        started = time.perf_counter()
        token, key = seed(db, args.incidents, now)
        print(f"seeded {args.incidents} incidents in {time.perf_counter() - started:.1f} s")
        settings = Settings(database_url=url, auth_cache_seconds=0, ratelimit_read="100000000/minute")  # type: ignore[call-arg]
        app = create_app(settings, database=db)
        page = {"Cookie": f"tocsin_session={token}", "Accept": "text/html"}
        api = {"Authorization": f"Bearer {key}"}
        with TestClient(app) as client:
            cases = {
                "screen  GET /incidents": lambda: client.get("/incidents", headers=page).status_code,
                "api     GET /api/incidents?limit=25": lambda: (
                    client.get("/api/incidents?limit=25", headers=api).status_code
                ),
                "screen  GET /incidents?status=OPEN,ACKNOWLEDGED": lambda: (
                    client.get("/incidents?status=OPEN,ACKNOWLEDGED", headers=page).status_code
                ),
                "api     GET /api/incidents?limit=25&status=OPEN,ACKNOWLEDGED": lambda: (
                    client.get("/api/incidents?limit=25&status=OPEN,ACKNOWLEDGED", headers=api).status_code
                ),
            }
            for ask in cases.values():
                timed(10, ask)  # warm-up: templates compiled, statements cached
            results = {name: timed(args.requests, ask) for name, ask in cases.items()}
        db.dispose()
    for name, samples in results.items():
        print(
            f"{name:62} p50 {statistics.median(samples) * 1000:6.1f} ms   p99 {p99(samples) * 1000:6.1f} ms"
        )
    names = list(results)
    for screen, baseline in ((names[0], names[1]), (names[2], names[3])):
        ratio50 = statistics.median(results[screen]) / statistics.median(results[baseline])
        ratio99 = p99(results[screen]) / p99(results[baseline])
        print(f"ratio screen / API ({screen.split('GET ')[1]}): p50 {ratio50:.2f}, p99 {ratio99:.2f}")
    worst = max(p99(results[names[0]]), p99(results[names[2]])) * 1000
    print(f"screen p99 {worst:.1f} ms (target < 50 ms): {'met' if worst < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
