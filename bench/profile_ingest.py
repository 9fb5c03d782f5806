"""Profile ``tocsin serve`` under the ingest load: seeds a fresh database as ``ingest.py`` does,
starts the server, drives it with wrk and records it and its children (the engine and the ingest
writer) with py-spy (when installed), so the "where the time goes" paragraph of README.md can be
re-measured after a change. It does not wait for the children to settle: their start-up shows in
the first seconds of the profile.

    .venv/bin/python bench/profile_ingest.py [--seconds 10] [--out /tmp/ingest.svg] [--format speedscope]

Without py-spy it only drives the server and prints the figures."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from ingest import HOST, NO_LIMIT, drive, free_port, seed, start, stop


def batch_summary(port: int) -> str:
    """Mean batch size and commit time, from the server's own histograms at ``/metrics``."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        for name in (
            "tocsin_ingest_batch_size_sum",
            "tocsin_ingest_batch_size_count",
            "tocsin_ingest_commit_seconds_sum",
        ):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    batches = values.get("tocsin_ingest_batch_size_count", 0.0) or 1.0
    return (
        f"batches {batches:.0f}, mean size {values.get('tocsin_ingest_batch_size_sum', 0.0) / batches:.1f}, "
        f"mean apply+commit {1000 * values.get('tocsin_ingest_commit_seconds_sum', 0.0) / batches:.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="/tmp/tocsin-ingest-profile.txt")
    parser.add_argument("--format", default="raw", help="py-spy output format (raw, flamegraph, speedscope)")
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--no-engine", action="store_true", help="TOCSIN_ENGINE_ENABLED=false")
    args = parser.parse_args(argv)
    args.loadgen = "wrk"
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-profile-"))
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
    if args.no_engine:
        env["TOCSIN_ENGINE_ENABLED"] = "false"
    server = None
    spy = None
    try:
        key = seed(env, db_url)
        port = free_port()
        command = [sys.executable, "-m", "tocsin.cli", "serve", "--host", HOST, "--port", str(port)]
        server = start(command, env, workdir / "tocsin.log", port)
        py_spy = shutil.which("py-spy")
        if py_spy:
            spy = subprocess.Popen(
                [py_spy, "record", "-p", str(server.pid), "-o", args.out, "-f", args.format, "--threads",
                 "--nonblocking", "--subprocesses", "-d", str(args.seconds), "-r", "200"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            time.sleep(0.5)
        result = drive(port, args, key, uuid.uuid4().hex[:8])
        print(
            f"events/s {result.events_per_second:.0f}  p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms"
        )
        if spy is not None:
            spy.wait(timeout=60)
            print(f"profile: {args.out}")
        print(batch_summary(port))
        return 0
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
