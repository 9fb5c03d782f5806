"""Real ``tocsin serve`` / ``tocsin worker`` processes paging a real SMTP server, for the crash
test, the two-engine test and ``bench/page_latency.py``.

``PagingWorld`` makes a migrated database with one org: people with the default email rule, a
policy (level 1 Alice, level 2 Bob after one policy minute, ``repeats`` more passes one minute
apart) on a service, and an events key. Policy minutes are shrunk with
``TOCSIN_ENGINE_MINUTE_SECONDS`` so a whole run takes about a second.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from ``/proc``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def child_running(server_pid: int, *words: bytes) -> int | None:
    """The child of ``server_pid`` whose command line has all of ``words`` (``tocsin serve``
    has two: the engine, ``worker --wake-fd``, and the ingest writer, ``ingest-writer --fd``)."""
    for pid in children(server_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(word in command for word in words):
            return pid
    return None


def awaited_child(server_pid: int, *words: bytes, other_than: int | None = None, seconds: float = 30) -> int:
    """``child_running``, waited for (a new one when ``other_than`` names the one before)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid = child_running(server_pid, *words)
        if pid is not None and pid != other_than:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"serve started no child with {b' '.join(words)!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start(command: list[str], env: dict[str, str], log: Path, port: int | None) -> subprocess.Popen[bytes]:
    """Start a process; for a server, wait until its port accepts connections (at most 30 s)."""
    with log.open("ab") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if port is None:
        return process
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[3:]} exited early:\n{log.read_text()}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{command[3:]} did not listen on port {port} within 30 s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], *, hard: bool = False) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@dataclass
class PagingWorld:
    workdir: Path
    db_url: str
    smtp_port: int
    minute_seconds: float = 0.2
    lease_seconds: float = 1.0
    repeats: int = 2
    routing_key: str = "crash-test"
    slug: str = "crash"
    key: str = ""
    people: dict[str, str] = field(default_factory=dict)  # email -> user id

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TOCSIN_DATABASE_URL": self.db_url,
            "TOCSIN_LOG_LEVEL": "WARNING",
            "TOCSIN_SMTP_HOST": HOST,
            "TOCSIN_SMTP_PORT": str(self.smtp_port),
            "TOCSIN_SMTP_STARTTLS": "false",
            "TOCSIN_SMTP_FROM": "Tocsin <tocsin@crash.test>",
            "TOCSIN_ENGINE_MINUTE_SECONDS": str(self.minute_seconds),
            "TOCSIN_ENGINE_LEASE_SECONDS": str(self.lease_seconds),
            "TOCSIN_ENGINE_POLL_SECONDS": "0.25",
            "TOCSIN_ENGINE_RETRY_BASE_SECONDS": "0.2",
            "TOCSIN_RATELIMIT_EVENTS": "100000/minute",
            "TOCSIN_RATELIMIT_INTEGRATION": "100000/minute",
            "TOCSIN_RATELIMIT_ORG_ALERTS": "100000/minute",
        }

    def unsettled_jobs(self) -> int:
        """This world's jobs still pending or running: none left means no process can send a
        page any more (a page is only ever sent by a running job)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.db_url)
        try:
            with engine.connect() as connection:
                return int(
                    connection.execute(
                        text(
                            "SELECT count(*) FROM jobs JOIN orgs ON orgs.id = jobs.org_id "
                            "WHERE orgs.slug = :slug AND jobs.status IN ('pending', 'running')"
                        ),
                        {"slug": self.slug},
                    ).scalar_one()
                )
        finally:
            engine.dispose()

    def migrate(self) -> None:
        command = [sys.executable, "-m", "tocsin.cli", "migrate"]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{done.stdout}{done.stderr}")

    def seed(self, slug: str = "crash") -> None:
        """The org, people, policy, service and key (through the services, in one transaction)."""
        from tocsin.db.session import Database
        from tocsin.domain.actor import Tenant
        from tocsin.services.access import keys, orgs
        from tocsin.services.catalog import services as catalog
        from tocsin.services.escalation import policies as escalation_policies
        from tocsin.services.people import users

        now = datetime.now(UTC)
        self.slug = slug
        database = Database(self.db_url)
        try:
            with database.write() as session:
                org = orgs.create_org(session=session, slug=slug, name="Crash test", now=now)
                tenant = Tenant(org.id, True)
                for name in ("alice", "bob"):
                    email = f"{name}@crash.test"
                    self.people[email] = users.create_user(
                        session=session, tenant=tenant, now=now, name=name.title(), email=email
                    ).id
                policy = escalation_policies.create_policy(
                    session=session,
                    tenant=tenant,
                    now=now,
                    name="Crash",
                    rules=[
                        {
                            "delay_minutes": 0,
                            "targets": [{"type": "user", "id": self.people["alice@crash.test"]}],
                        },
                        {
                            "delay_minutes": 1,
                            "targets": [{"type": "user", "id": self.people["bob@crash.test"]}],
                        },
                    ],
                    repeat_count=self.repeats,
                    repeat_delay_minutes=1,
                )
                self.routing_key = f"{slug}-{os.getpid()}-{int(time.time() * 1000)}"
                service = catalog.create_service(
                    session=session,
                    tenant=tenant,
                    now=now,
                    name="Crashy",
                    integrations=[{"name": "Events", "routing_key": self.routing_key}],
                )
                catalog.update_service(
                    session=session,
                    tenant=tenant,
                    service_id=service.id,
                    changes={"escalation_policy_id": policy.id},
                    now=now,
                )
                _, self.key = keys.create_key(
                    session=session,
                    tenant=tenant,
                    name="crash",
                    scopes=["events:write", "incidents:write"],
                    now=now,
                )
        finally:
            database.dispose()

    @property
    def pages_per_incident(self) -> int:
        return 2 * (self.repeats + 1)

    def serve(self, port: int, log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "tocsin.cli", "serve", "--host", HOST, "--port", str(port)]
        return start(command, {**self.env, **extra_env}, log, port)

    def worker(self, log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
        return start([sys.executable, "-m", "tocsin.cli", "worker"], {**self.env, **extra_env}, log, None)

    def trigger(self, port: int, dedup_key: str) -> None:
        response = httpx.post(
            f"http://{HOST}:{port}/api/events",
            headers={"Authorization": f"Bearer {self.key}"},
            json={
                "routing_key": self.routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {"summary": f"Crash test {dedup_key}", "severity": "critical", "source": "crash"},
            },
            timeout=10,
        )
        if response.status_code != 202:
            raise RuntimeError(f"trigger answered {response.status_code}: {response.text}")


def duplicates(message_ids: list[str]) -> dict[str, int]:
    """Message-IDs seen more than once (each page's Message-ID comes from its idempotency key)."""
    return {mid: n for mid, n in Counter(message_ids).items() if n > 1}


@dataclass(frozen=True)
class Delivered:
    """A message the process SMTP server queued: the parsed mail and its envelope recipients."""

    message: EmailMessage
    rcpt_tos: list[str]


class SmtpProcess:
    """A real SMTP server in a process of its own: aiosmtpd's ``Mailbox`` handler writes each message
    into a maildir before it answers 250, as an MTA queues it. Kept out of the test process so the
    time between "queued" and "the client read the 250" is the client's and the network's alone,
    not however long a busy test process takes to schedule its server thread."""

    def __init__(self, workdir: Path) -> None:
        self.maildir = workdir / "maildir"
        self.host = HOST
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SmtpProcess:
        command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{self.port}",
                   "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)]  # fmt: skip
        self._process = start(command, dict(os.environ), self.maildir.with_suffix(".log"), self.port)
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            stop(self._process)

    @property
    def messages(self) -> list[Delivered]:
        if not self.maildir.exists():
            return []
        found = []
        for folder in ("new", "cur"):
            for path in sorted((self.maildir / folder).glob("*")):
                message = message_from_bytes(path.read_bytes(), policy=policy.default)
                recipients = [r.strip() for r in str(message.get("X-RcptTo", "")).split(",") if r.strip()]
                found.append(Delivered(message, recipients))  # type: ignore[arg-type]
        return found


@contextmanager
def serving_on_the_wake(
    tmp_path: Path,
) -> Iterator[tuple[SmtpProcess, PagingWorld, int, Path, subprocess.Popen[bytes]]]:
    """A ``tocsin serve`` on ``tmp_path/tocsin.db`` with real SMTP, whose engine child sleeps on a
    minute-long poll: from then on only a wake through its pipe can make it page in time."""
    with SmtpProcess(tmp_path) as smtp:
        world = PagingWorld(tmp_path, f"sqlite:///{tmp_path / 'tocsin.db'}", smtp.port, minute_seconds=60.0)
        world.migrate()
        world.seed()
        port = free_port()
        log = tmp_path / "serve.log"
        server = world.serve(port, log, TOCSIN_ENGINE_POLL_SECONDS="60", TOCSIN_LOG_LEVEL="INFO")
        try:
            yield smtp, world, port, log, server
        finally:
            stop(server)
