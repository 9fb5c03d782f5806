"""Page latency benchmark: event in -> first page handed to the channel, and escalation timer drift,
at a steady event rate, against a real SMTP server; plus the kill -9 crash check, repeated.

    .venv/bin/python bench/page_latency.py [--rate 20] [--seconds 15] [--crash-rounds 20]

Everything runs on 127.0.0.1 in a fresh temp directory: a migrated SQLite database, an org whose
policy pages Alice at once and Bob one policy minute later (``--minute`` seconds, default 2), a
real SMTP server (aiosmtpd) in this process, and ``tocsin serve`` with its engine.

- Latency: each trigger's 202 time to the arrival of Alice's email (SMTP DATA accepted). The
  baseline is this process handing the same kind of message straight to the same SMTP server
  (``aiosmtplib``), so the ratio is Tocsin's overhead over the bare channel.
- Drift: Bob's email is due one policy minute after the trigger's 202; drift is how much later it
  arrived at the SMTP server (timer lateness plus the page's own delivery).
- Crash: ``--crash-rounds`` times, trigger three incidents, ``kill -9`` the server at a random
  moment of the run, start it again, and check every expected page arrived exactly once.

Exit status 0 when p99 latency < 1 s, p99 drift < 1 s and every crash round was exact.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.engine_proc import HOST, PagingWorld, duplicates, free_port, stop  # noqa: E402
from tests.factories.smtp import SmtpServer  # noqa: E402

GOAL_SECONDS = 1.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def baseline(smtp: SmtpServer, count: int) -> list[float]:
    """Seconds for this process to hand one message to the SMTP server, ``count`` times."""
    import aiosmtplib

    async def run() -> list[float]:
        samples = []
        for n in range(count):
            message = EmailMessage()
            message["From"] = "bench@crash.test"
            message["To"] = "baseline@crash.test"
            message["Subject"] = f"baseline {n}"
            message.set_content("baseline")
            begin = time.perf_counter()
            await aiosmtplib.send(message, hostname=HOST, port=smtp.port, start_tls=False, use_tls=False)
            samples.append(time.perf_counter() - begin)
        return samples

    return asyncio.run(run())


def latency_run(
    args: argparse.Namespace, workdir: Path, smtp: SmtpServer
) -> tuple[list[float], list[float], int]:
    world = PagingWorld(
        workdir, f"sqlite:///{workdir / 'latency.db'}", smtp.port, minute_seconds=args.minute, repeats=0
    )
    world.migrate()
    world.seed(slug="latency")
    port = free_port()
    server = world.serve(port, workdir / "latency.log", TOCSIN_ENGINE_LEASE_SECONDS="30")
    sent: dict[str, float] = {}
    try:
        interval = 1.0 / args.rate
        total = int(args.rate * args.seconds)
        with httpx.Client(headers={"Authorization": f"Bearer {world.key}"}, timeout=10) as client:
            # The engine starts in a child process of the server, a few seconds after the port
            # opens: one warm-up page first, so the figures are the steady state, not start-up.
            warmup = {"summary": "warmup", "severity": "critical", "source": "bench"}
            client.post(
                f"http://{HOST}:{port}/api/events",
                json={"routing_key": world.routing_key, "event_action": "trigger", "dedup_key": "warmup",
                      "payload": warmup},
            ).raise_for_status()  # fmt: skip
            ready_by = time.monotonic() + 60
            while not smtp.messages and time.monotonic() < ready_by:
                time.sleep(0.05)
            start = time.monotonic()
            for n in range(total):
                target = start + n * interval
                delay = target - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                key = f"bench-{n}"
                response = client.post(
                    f"http://{HOST}:{port}/api/events",
                    json={
                        "routing_key": world.routing_key,
                        "event_action": "trigger",
                        "dedup_key": key,
                        "payload": {"summary": key, "severity": "critical", "source": "bench"},
                    },
                )
                if response.status_code == 202:
                    sent[key] = time.time()
        deadline = time.monotonic() + 60 + 2 * args.minute
        while time.monotonic() < deadline and len(smtp.messages) < 2 * len(sent) + 2:  # + warm-up
            time.sleep(0.1)
    finally:
        stop(server)
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    for mail in smtp.messages:
        subject = str(mail.message["Subject"])
        key = next(
            (k for k in sent if subject.endswith(f": {k} (Crashy)") or f" {k} " in f" {subject} "), None
        )
        if key is None:
            continue
        (first if "alice@crash.test" in mail.rcpt_tos else second)[key] = mail.received_at
    latencies = [first[k] - sent[k] for k in first]
    # How late the level-2 page arrived against when it was due (the 202 plus one policy minute).
    drifts = [second[k] - sent[k] - args.minute for k in second]
    return latencies, drifts, len(sent)


def crash_rounds(rounds: int, workdir: Path, smtp: SmtpServer) -> list[tuple[int, int, int]]:
    """(expected, received, duplicated) per round."""
    rng = random.Random()
    results = []
    for round_ in range(rounds):
        smtp.clear()
        folder = workdir / f"crash-{round_}"
        folder.mkdir()
        world = PagingWorld(folder, f"sqlite:///{folder / 'tocsin.db'}", smtp.port)
        world.migrate()
        world.seed()
        port = free_port()
        log = folder / "serve.log"
        server = world.serve(port, log)
        try:
            for n in range(3):
                world.trigger(port, f"incident-{n}")
            kill_after = rng.uniform(0.0, 6 * world.minute_seconds)
            time.sleep(kill_after)
            stop(server, hard=True)
            server = world.serve(port, log)
            expected = 3 * world.pages_per_incident
            deadline = time.monotonic() + 60
            while len(smtp.messages) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(world.lease_seconds + 3 * world.minute_seconds + 0.5)
        finally:
            stop(server)
        ids = [str(mail.message["Message-ID"]) for mail in smtp.messages]
        doubled = sum(n - 1 for n in duplicates(ids).values())
        results.append((expected, len(set(ids)), doubled))
        print(
            f"  crash round {round_ + 1:2d}: killed at {kill_after:.2f}s, "
            f"{len(set(ids))}/{expected} pages, {doubled} doubled",
            flush=True,
        )
    return results


def row(name: str, samples: list[float]) -> str:
    ms = [value * 1000 for value in samples]
    return f"{name:38} {len(ms):5d} {percentile(ms, 50):9.2f} {percentile(ms, 99):9.2f} {max(ms):9.2f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="events per second, 1-200 (default 20)")
    parser.add_argument("--seconds", type=float, default=15.0, help="1-120 (default 15)")
    parser.add_argument("--minute", type=float, default=2.0, help="seconds per policy minute (default 2)")
    parser.add_argument("--crash-rounds", type=int, default=20, help="0-100 (default 20)")
    args = parser.parse_args()
    args.rate = max(1.0, min(args.rate, 200.0))
    args.seconds = max(1.0, min(args.seconds, 120.0))
    args.crash_rounds = max(0, min(args.crash_rounds, 100))
    return args


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-pages-"))
    ok = True
    try:
        with SmtpServer() as smtp:
            base = baseline(smtp, 200)
            smtp.clear()
            print(f"page latency: {args.rate:g} events/s for {args.seconds:g} s, minute = {args.minute:g} s")
            latencies, drifts, sent = latency_run(args, workdir, smtp)
            print(f"\n{'':38} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
            print(row("baseline: hand one mail to SMTP", base))
            if latencies:
                print(row("event 202 -> first page at SMTP", latencies))
                ratio50 = percentile(latencies, 50) / percentile(base, 50)
                ratio99 = percentile(latencies, 99) / percentile(base, 99)
                print(f"{'  x baseline':38} {'':5} {ratio50:9.1f} {ratio99:9.1f}")
                ok &= percentile(latencies, 99) < GOAL_SECONDS and len(latencies) == sent
            else:
                ok = False
            if drifts:
                print(row("level-2 page lateness (timer drift)", drifts))
                ok &= percentile(drifts, 99) < GOAL_SECONDS and len(drifts) == sent
            mean = statistics.fmean(latencies) * 1000 if latencies else float("nan")
            print(
                f"\nevents {sent}, first pages {len(latencies)}, level-2 pages {len(drifts)}; "
                f"mean {mean:.1f} ms"
            )
            if args.crash_rounds:
                print(f"\nkill -9 crash check, {args.crash_rounds} rounds:")
                rounds = crash_rounds(args.crash_rounds, workdir, smtp)
                exact = sum(1 for expected, got, doubled in rounds if got == expected and doubled == 0)
                print(f"exact rounds: {exact}/{len(rounds)}")
                ok &= exact == len(rounds)
        verdict = "MET" if ok else "MISSED"
        print(f"\ngoals (p99 latency < 1 s, p99 drift < 1 s, every crash round exact): {verdict}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
