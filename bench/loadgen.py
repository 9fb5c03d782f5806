"""Load generation for ``bench/ingest.py``: ``wrk`` with ``trigger.lua`` when it is installed, else an
asyncio generator speaking HTTP/1.1 keep-alive over raw streams (httpx would be the bottleneck).

Both send the same spec-003 trigger body with the same dedup-key mix: fresh keys, except one
request in four that repeats one of the three keys before it."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("trigger.lua")
MAX_PYTHON_REQUESTS = 5_000_000  # a hard cap, whatever --seconds says


@dataclass(frozen=True)
class LoadResult:
    seconds: float
    sent: int  # requests written to a socket
    answered: int  # complete responses read
    ok202: int
    other_status: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float = 0.0  # CPU seconds the server used meanwhile, when the caller measured it
    children_cpu: float = 0.0  # the same for its child processes (tocsin's engine and ingest writer)

    @property
    def events_per_second(self) -> float:
        return self.ok202 / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, *, routing_key: str, key: str, run_id: str, seconds: int, connections: int, threads: int
) -> LoadResult:
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        routing_key,
        key,
        run_id,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    return LoadResult(
        seconds=raw["duration_us"] / 1e6,
        sent=raw["sent"],
        answered=raw["requests"],
        ok202=raw["ok202"],
        other_status=raw["other_status"],
        socket_errors=raw["socket_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
    )


@dataclass
class _Tally:
    sent: int = 0
    ok202: int = 0
    other_status: int = 0
    socket_errors: int = 0
    latencies: list[float] = field(default_factory=list)


class _Bodies:
    """The trigger bodies, in the same key mix as trigger.lua."""

    def __init__(self, routing_key: str, run_id: str) -> None:
        self.n = 0
        self.head = (
            '{"routing_key":"' + routing_key + '","event_action":"trigger","dedup_key":"' + run_id + "-"
        )
        self.tail = '","payload":{"summary":"High CPU on web-01","severity":"critical","source":"datadog"}}'

    def next(self) -> bytes:
        self.n += 1
        key = self.n - random.randint(1, 3) if self.n % 4 == 0 else self.n
        return f"{self.head}{key}{self.tail}".encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, request_head: str, bodies: _Bodies, deadline: float, tally: _Tally
) -> None:
    """One keep-alive connection, one request at a time; the request in flight at the deadline is
    still awaited, so every request sent is answered or counted as an error."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and tally.sent < MAX_PYTHON_REQUESTS:
            body = bodies.next()
            started = time.perf_counter()
            writer.write((request_head % len(body)).encode() + body)
            tally.sent += 1
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                tally.socket_errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            tally.latencies.append(time.perf_counter() - started)
            if status == 202:
                tally.ok202 += 1
            else:
                tally.other_status += 1
    finally:
        writer.close()


async def _python_load(
    host: str, port: int, key: str, routing_key: str, run_id: str, seconds: int, connections: int
) -> LoadResult:
    request_head = (
        f"POST /api/events HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: %d\r\n\r\n"
    )
    bodies = _Bodies(routing_key, run_id)
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(host, port, request_head, bodies, deadline, tally) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies)

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return LoadResult(
        seconds=elapsed,
        sent=tally.sent,
        answered=len(latencies),
        ok202=tally.ok202,
        other_status=tally.other_status,
        socket_errors=tally.socket_errors,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
    )


def run_python(
    host: str, port: int, *, routing_key: str, key: str, run_id: str, seconds: int, connections: int
) -> LoadResult:
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_python_load(host, port, key, routing_key, run_id, seconds, connections))
