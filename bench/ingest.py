"""Ingest benchmark: ``POST /api/events`` on ``tocsin serve`` against a bare Starlette + orjson echo
(``echo_app.py``) measured in the same run, with the same load, body, duration and connections.

    .venv/bin/python bench/ingest.py [--seconds 20] [--connections 32]

Everything runs on 127.0.0.1 in a fresh temp directory: a new SQLite database (``tocsin migrate``,
an org and an events:write key made with the CLI, a service with a routing key made with a service
call), then both servers as subprocesses with the flags of ``tocsin serve`` (uvloop, httptools, one
process). Prints events/s, p50 and p99 for both, the ratio tocsin/baseline (target >= 0.3), and a
durability check: after ``kill -9`` of the server, every 202 answer has its alert row.

Exit status: 0 when durability holds and the ratio meets the target, 1 otherwise."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadgen import LoadResult, have_wrk, run_python, run_wrk

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
TARGET_RATIO = 0.3
NO_LIMIT = "10000000/minute"
ROUTING_KEY = "bench-payment-api"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str) -> Any:
    """Run ``tocsin ARGS --json`` as an operator would and return its JSON output."""
    command = [sys.executable, "-m", "tocsin.cli", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`tocsin {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout) if "--json" in args else None


def seed(env: dict[str, str], db_url: str) -> str:
    """A migrated database with org ``bench``, a service on ``ROUTING_KEY`` and an events:write key."""
    from tocsin.db.session import Database
    from tocsin.domain.actor import Tenant
    from tocsin.services.catalog import services as catalog

    cli(env, "migrate")
    org = cli(env, "org", "create", "bench", "--name", "Bench", "--json")
    key = cli(env, "keys", "create", "--org", "bench", "--name", "bench", "--scope", "events:write", "--json")
    db = Database(db_url)
    try:
        with db.write() as session:
            catalog.create_service(
                session=session,
                tenant=Tenant(org["id"], True),
                now=datetime.now(UTC),
                name="Payment API",
                integrations=[{"name": "Events API v2", "routing_key": ROUTING_KEY}],
            )
    finally:
        db.dispose()
    secret: str = key["key"]
    return secret


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> subprocess.Popen[bytes]:
    """Start a server and wait until its port accepts connections (at most 30 s)."""
    handle = log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[2:]} exited early:\n{log.read_text()}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{command[2:]} did not listen on port {port} within 30 s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], *, hard: bool = False) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def drive(port: int, args: argparse.Namespace, key: str, run_id: str) -> LoadResult:
    if args.loadgen == "wrk":
        return run_wrk(
            f"http://{HOST}:{port}",
            routing_key=ROUTING_KEY,
            key=key,
            run_id=run_id,
            seconds=args.seconds,
            connections=args.connections,
            threads=args.threads,
        )
    return run_python(
        HOST,
        port,
        routing_key=ROUTING_KEY,
        key=key,
        run_id=run_id,
        seconds=args.seconds,
        connections=args.connections,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` and all its threads so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The child processes of ``pid`` and theirs (Linux ``/proc``; none elsewhere)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def children_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(child) for child in descendants(pid))


def settle(process: subprocess.Popen[bytes], quiet: float = 0.05, limit: float = 60.0) -> None:
    """Wait until the server and its children are idle (under ``quiet`` CPU seconds in half a
    second): tocsin's engine and ingest writer import for a few seconds after the port opens, and
    that CPU must not be taken from whichever server is measured meanwhile."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(process.pid) + children_cpu_seconds(process.pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(process.pid) + children_cpu_seconds(process.pid)
        if now - last < quiet:
            return
        last = now


def measured(
    process: subprocess.Popen[bytes], port: int, args: argparse.Namespace, key: str, run_id: str
) -> LoadResult:
    """``drive`` the server, noting how much CPU it and its children used meanwhile."""
    before = cpu_seconds(process.pid), children_cpu_seconds(process.pid)
    result = drive(port, args, key, run_id)
    return dataclasses.replace(
        result,
        server_cpu=cpu_seconds(process.pid) - before[0],
        children_cpu=children_cpu_seconds(process.pid) - before[1],
    )


def count_alerts(db_path: Path) -> int:
    with sqlite3.connect(db_path) as connection:
        count: int = connection.execute("SELECT count(*) FROM alerts").fetchone()[0]
        return count


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20, help="per server, 1-300 (default 20)")
    parser.add_argument("--connections", type=int, default=32, help="1-1024 (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--synchronous",
        choices=("OFF", "NORMAL", "FULL", "EXTRA"),
        default="FULL",
        help="TOCSIN_SQLITE_SYNCHRONOUS for the server (default FULL, the shipped default)",
    )
    parser.add_argument(
        "--log-level",
        choices=("WARNING", "INFO"),
        default="WARNING",
        help="TOCSIN_LOG_LEVEL for the server: INFO writes an access line per event, as shipped "
        "(TOCSIN_ACCESS_LOG=false in the environment turns it off; default WARNING)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database and logs)")
    args = parser.parse_args(argv)
    args.seconds = max(1, min(args.seconds, 300))
    args.connections = max(1, min(args.connections, 1024))
    args.threads = max(1, min(args.threads, 64))
    if args.loadgen == "auto":
        args.loadgen = "wrk" if have_wrk() else "python"
    elif args.loadgen == "wrk" and not have_wrk():
        parser.error("wrk is not on PATH (apt-get install wrk), use --loadgen python")
    return args


def report(baseline: LoadResult, tocsin: LoadResult, rows: int, args: argparse.Namespace) -> bool:
    print()
    print(
        f"{'':10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'202s':>9} {'non-202':>8} {'sock err':>8}"
        f" {'cores':>6} {'µs/event':>9} {'children':>9} {'µs/event':>9}"
    )
    for name, r in (("baseline", baseline), ("tocsin", tocsin)):
        print(
            f"{name:10} {r.events_per_second:10.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.ok202:9d}"
            f" {r.other_status:8d} {r.socket_errors:8d} {r.server_cpu / r.seconds:6.2f}"
            f" {1e6 * r.server_cpu / max(1, r.answered):9.0f} {r.children_cpu / r.seconds:9.2f}"
            f" {1e6 * r.children_cpu / max(1, r.answered):9.0f}"
        )
    ratio = tocsin.events_per_second / baseline.events_per_second if baseline.events_per_second else 0.0
    ratio_ok = ratio >= TARGET_RATIO
    verdict = "OK" if ratio_ok else "BELOW TARGET"
    print(f"\nratio tocsin/baseline: {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    # Requests still in flight when the load stopped may have committed without their answer being
    # read; a 202 without a row would be a lost event, which is the failure this check looks for.
    unanswered = tocsin.sent - tocsin.answered
    durable = tocsin.ok202 <= rows <= tocsin.ok202 + unanswered and tocsin.other_status == 0
    print(f"durability after kill -9: 202 answers {tocsin.ok202}, alert rows {rows}", end="")
    if rows == tocsin.ok202:
        print(" (equal)", end="")
    else:
        print(f" ({rows - tocsin.ok202:+d}; {unanswered} requests were in flight at the cutoff)", end="")
    print(f" {'OK' if durable else 'FAILED'}")
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {
        "at": stamp,
        "loadgen": args.loadgen,
        "seconds": args.seconds,
        "connections": args.connections,
        "synchronous": args.synchronous,
        "baseline": {**baseline.__dict__, "events_per_second": baseline.events_per_second},
        "tocsin": {**tocsin.__dict__, "events_per_second": tocsin.events_per_second},
        "ratio": ratio,
        "alert_rows": rows,
        "durable": durable,
    }
    (results / f"ingest-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    return durable and ratio_ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-"))
    db_path = workdir / "tocsin.db"
    db_url = f"sqlite:///{db_path}"
    env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": db_url,
        "TOCSIN_SQLITE_SYNCHRONOUS": args.synchronous,
        "TOCSIN_LOG_LEVEL": args.log_level,
        "TOCSIN_RATELIMIT_EVENTS": NO_LIMIT,
        "TOCSIN_RATELIMIT_INTEGRATION": NO_LIMIT,
        "TOCSIN_RATELIMIT_ORG_ALERTS": NO_LIMIT,
    }
    env.pop("TOCSIN_REDIS_URL", None)
    run_id = uuid.uuid4().hex[:8]
    print(
        f"ingest bench: {args.loadgen} load, {args.connections} connections, {args.seconds}s per server, "
        f"SQLite synchronous={args.synchronous}, {os.cpu_count()} CPUs, workdir {workdir}"
    )
    servers: list[subprocess.Popen[bytes]] = []
    try:
        key = seed(env, db_url)
        echo_port, tocsin_port = free_port(), free_port()
        flags = ["--host", HOST, "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        echo_cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR), "echo_app:app", *flags]
        echo_cmd += ["--log-level", "warning", "--port", str(echo_port)]
        echo_server = start(echo_cmd, env, workdir / "echo.log", echo_port)
        servers.append(echo_server)
        tocsin_cmd = [sys.executable, "-m", "tocsin.cli", "serve", "--host", HOST, "--port", str(tocsin_port)]
        tocsin_server = start(tocsin_cmd, env, workdir / "tocsin.log", tocsin_port)
        servers.append(tocsin_server)
        settle(tocsin_server)

        print("driving baseline (echo) ...", flush=True)
        baseline = measured(echo_server, echo_port, args, key, run_id)
        print("driving tocsin ...", flush=True)
        tocsin = measured(tocsin_server, tocsin_port, args, key, run_id)
        time.sleep(1.0)  # let requests cut off by the load generator finish before the crash
        stop(tocsin_server, hard=True)
        rows = count_alerts(db_path)
        return 0 if report(baseline, tocsin, rows, args) else 1
    finally:
        for server in servers:
            stop(server)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
