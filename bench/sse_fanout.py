"""SSE fan-out cost: the ingest rate of ``tocsin serve`` with and without 100 open live streams.

    .venv/bin/python bench/sse_fanout.py [--streams 100] [--seconds 3] [--rounds 3]

One server on a fresh SQLite file (as ``bench/ingest.py`` builds it), on 127.0.0.1 only. Runs
alternate in the same process group: ingest load alone, then the same load while a helper process
holds ``--streams`` connections to ``GET /live/incidents`` (each event read and counted, as a
browser tab would), and so on for ``--rounds`` rounds, so drift of the machine hits both sides.
Prints events/s of each run, the median ratio with/without, and how many live events the streams
received (so a ratio near 1 is not a stream that heard nothing).

Exit status: 0 when the streams received events, 1 otherwise. The ratio is reported, not judged:
on a shared two-core machine run-to-run noise is several percent (compare the two "alone" runs)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ingest import HOST, NO_LIMIT, cli, free_port, measured, seed, settle, start, stop
from loadgen import have_wrk


async def _hold_one(port: int, key: str, counts: list[int], index: int, ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    request = (
        f"GET /live/incidents HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    )
    writer.write(request.encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise SystemExit(f"stream refused: {status!r}")
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"event:"):
            counts[index] += 1
            if counts[index] == 1:
                ready.set()


async def _hold(port: int, key: str, streams: int, seconds: float) -> None:
    """Hold ``streams`` connections for ``seconds``; print how many events they received."""
    counts = [0] * streams
    readies = [asyncio.Event() for _ in range(streams)]
    tasks = [asyncio.create_task(_hold_one(port, key, counts, i, readies[i])) for i in range(streams)]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    print(f"events {sum(counts) - streams}", flush=True)  # less the first (refresh) event of each
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=100, help="open live streams, 1-1000 (default 100)")
    parser.add_argument("--seconds", type=int, default=3, help="per run, 1-60 (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs, 1-10 (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="ingest connections (default 32)")
    parser.add_argument("--hold", nargs=3, metavar=("PORT", "KEY", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.streams = max(1, min(args.streams, 1000))
    args.seconds = max(1, min(args.seconds, 60))
    args.rounds = max(1, min(args.rounds, 10))
    args.threads = 2
    args.loadgen = "wrk" if have_wrk() else "python"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hold:
        port, key, seconds = args.hold
        asyncio.run(_hold(int(port), key, args.streams, float(seconds)))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-sse-bench-"))
    db_url = f"sqlite:///{workdir / 'tocsin.db'}"
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": db_url,
        "TOCSIN_LOG_LEVEL": "WARNING",
        "TOCSIN_RATELIMIT_EVENTS": NO_LIMIT,
        "TOCSIN_RATELIMIT_INTEGRATION": NO_LIMIT,
        "TOCSIN_RATELIMIT_ORG_ALERTS": NO_LIMIT,
        "TOCSIN_RATELIMIT_READ": NO_LIMIT,
    }
    env.pop("TOCSIN_REDIS_URL", None)
    print(
        f"SSE fan-out bench: {args.streams} streams, {args.loadgen} load with {args.connections} "
        f"connections, {args.rounds} x 2 runs of {args.seconds}s, {os.cpu_count()} CPUs, workdir {workdir}"
    )
    server = None
    try:
        events_key = seed(env, db_url)
        watch = cli(
            env, "keys", "create", "--org", "bench", "--name", "watch", "--scope", "incidents:read", "--json"
        )
        port = free_port()
        command = [sys.executable, "-m", "tocsin.cli", "serve", "--host", HOST, "--port", str(port)]
        server = start(command, env, workdir / "tocsin.log", port)
        settle(server)
        alone: list[float] = []
        streamed: list[float] = []
        cost: dict[str, list[float]] = {"alone": [], "streams": []}  # server CPU µs per event
        heard = 0
        for round_ in range(args.rounds):
            run_id = uuid.uuid4().hex[:8]
            result = measured(server, port, args, events_key, run_id)
            alone.append(result.events_per_second)
            cost["alone"].append(1e6 * (result.server_cpu + result.children_cpu) / max(1, result.ok202))
            print(f"round {round_ + 1}: alone        {result.events_per_second:8.0f} events/s", flush=True)
            hold = [
                sys.executable,
                __file__,
                "--streams",
                str(args.streams),
                "--hold",
                str(port),
                watch["key"],
            ]
            holder = subprocess.Popen([*hold, str(args.seconds + 2)], stdout=subprocess.PIPE, text=True)
            assert holder.stdout is not None
            if holder.stdout.readline().strip() != "ready":
                raise SystemExit("the stream holder did not get its streams open")
            result = measured(server, port, args, events_key, uuid.uuid4().hex[:8])
            streamed.append(result.events_per_second)
            cost["streams"].append(1e6 * (result.server_cpu + result.children_cpu) / max(1, result.ok202))
            out = holder.stdout.read()
            holder.wait(timeout=60)
            received = int(out.split()[-1]) if out.strip() else 0
            heard += received
            print(
                f"round {round_ + 1}: {args.streams} streams {result.events_per_second:8.0f} events/s "
                f"({received} live events received)",
                flush=True,
            )
            time.sleep(0.5)
        ratio = statistics.median(streamed) / statistics.median(alone)
        noise = (max(alone) - min(alone)) / statistics.median(alone)
        print(
            f"\nmedian ingest with {args.streams} streams / without: {ratio:.3f}  "
            f"(spread of the runs without: {noise:.1%})"
        )
        alone_us, streams_us = statistics.median(cost["alone"]), statistics.median(cost["streams"])
        print(
            f"server CPU per ingested event (with its children), median: alone {alone_us:.0f} µs, "
            f"with {args.streams} streams {streams_us:.0f} µs"
        )
        print(f"live events received by the streams: {heard}")
        return 0 if heard > 0 else 1
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
