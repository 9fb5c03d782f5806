"""CPU per event of ``POST /api/events`` in-process: the ASGI app driven directly (no sockets, no
HTTP parser, no engine), timed in process CPU seconds, so the figure barely moves when other work
shares the machine. Use it to judge a change to the ingest path before the noisy wall-clock bench.

    .venv/bin/python bench/ingest_cpu.py [--events 20000] [--concurrency 32] [--profile]

``--profile`` prints the cProfile top functions of the run (``--sort cumulative|tottime``); cProfile
sees only the event loop's thread, not the helper thread that runs the COMMIT."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ingest import NO_LIMIT, ROUTING_KEY, seed


async def drive(app: Any, key: str, events: int, concurrency: int) -> tuple[int, float, float]:
    """Send ``events`` triggers from ``concurrency`` callers; (202s, CPU seconds, wall seconds)."""
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json")]
    statuses: list[int] = []

    async def one(n: int) -> None:
        dedup = n - 1 if n % 4 == 0 else n
        body = (
            b'{"routing_key":"'
            + ROUTING_KEY.encode()
            + b'","event_action":"trigger","dedup_key":"k-'
            + str(dedup).encode()
            + b'","payload":{"summary":"High CPU on web-01","severity":"critical","source":"datadog"}}'
        )
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/api/events", "raw_path": b"/api/events", "query_string": b"",
            "root_path": "", "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080),
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)

    counter = iter(range(events))

    async def caller() -> None:
        for n in counter:
            await one(n)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return statuses.count(202), time.process_time() - cpu, time.perf_counter() - wall


async def run(app: Any, key: str, args: argparse.Namespace) -> None:
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, startup.get, send))
    while not sent:
        await asyncio.sleep(0.01)
    await drive(app, key, min(args.events, 500), args.concurrency)  # warm the caches
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    ok, cpu, wall = await drive(app, key, args.events, args.concurrency)
    if profiler:
        profiler.disable()
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan
    print(f"{ok} of {args.events} answered 202; CPU {1e6 * cpu / args.events:.0f} µs/event, "
          f"wall {args.events / wall:.0f} events/s (one process, no HTTP, no engine)")  # fmt: skip
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative or tottime")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-cpu-"))
    db_url = f"sqlite:///{workdir / 'tocsin.db'}"
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": db_url,
        "TOCSIN_SQLITE_SYNCHRONOUS": args.synchronous,
        "TOCSIN_LOG_LEVEL": "WARNING",
        "TOCSIN_RATELIMIT_EVENTS": NO_LIMIT,
        "TOCSIN_RATELIMIT_INTEGRATION": NO_LIMIT,
        "TOCSIN_RATELIMIT_ORG_ALERTS": NO_LIMIT,
    }
    env.pop("TOCSIN_REDIS_URL", None)
    try:
        key = seed(env, db_url)
        os.environ.update(env)
        import uvloop

        from tocsin.api.app import create_app
        from tocsin.config import Settings

        app = create_app(Settings())
        uvloop.run(run(app, key, args))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
