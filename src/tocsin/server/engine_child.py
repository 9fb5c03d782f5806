"""The engine as a child process of ``tocsin serve``, tied to it by one pipe: the server's side
(starting it, waking it, stopping it; ``supervised`` restarts it when it dies alone).

Why a process: CPython runs one thread at a time. In the server's process the engine's work for a
storm of new incidents (escalation steps, pages, webhooks) took half of the interpreter from the
HTTP intake, and a 202 waited for it. In a process of its own it has its own interpreter and
core, and ``tocsin serve`` is still one command that runs everything.

The pipe does two jobs (the child's side is ``engine.child.follow_parent``):

- **Wakeups.** A commit in the server that enqueued jobs writes a byte (``jobs.on_commit``); the
  child wakes its engine at once, as the in-process engine was woken. On PostgreSQL LISTEN/NOTIFY
  does the same; on SQLite the pipe is the only fast path (the poll is a safety net).
- **Fate sharing.** When the server dies, even by ``kill -9``, the kernel closes its end and the
  child reads end-of-file: it exits at once, as a single-process server would have. Its leased
  jobs are taken over by the next engine when the lease runs out, as after any crash.

A graceful stop (SIGTERM or Ctrl-C to the server) sends SIGTERM to the child and waits for it to
finish its running jobs. A child that dies on its own is restarted (``server.supervision``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from tocsin.engine.child import WAKE_BYTE
from tocsin.server.engine_metrics import EngineMetricsFiles
from tocsin.server.supervision import supervise
from tocsin.services import jobs

log = logging.getLogger("tocsin.engine")

STOP_GRACE_SECONDS = 30.0


class EngineChild:
    """One ``tocsin worker --wake-fd N`` child and the write end of its pipe."""

    def __init__(self, command: list[str], environment: Mapping[str, str] | None = None) -> None:
        self._command = command
        self._environment = dict(environment or {})  # added to this process's, for the child alone
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        # Held to write and to close: a wake racing a restart must never write into a closed
        # descriptor whose number the process has meanwhile given to a socket or a file.
        self._fd_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # a full pipe means wakeups are already pending
        try:
            self._process = subprocess.Popen(
                [*self._command, "--wake-fd", str(read_fd)],
                pass_fds=(read_fd,),
                env={**os.environ, **self._environment} if self._environment else None,
                close_fds=True,
                # Its own session: a Ctrl-C in the terminal reaches the server alone, which then
                # stops the child (SIGTERM) after its own shutdown, not both at once in a race.
                start_new_session=True,
            )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        with self._fd_lock:
            self._wake_fd = write_fd
        log.info("engine started in child process %d", self._process.pid)

    def wake(self) -> None:
        """Called in the committing thread after a commit that enqueued jobs; never blocks."""
        with self._fd_lock:
            if self._wake_fd is None:
                return
            with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
                os.write(self._wake_fd, WAKE_BYTE)

    def wait(self) -> int:
        """Block until the child exits; its status."""
        assert self._process is not None
        return self._process.wait()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM, then wait up to ``grace`` seconds for running jobs to finish, then SIGKILL."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("engine child %d did not stop in %.0f s; killing it", process.pid, grace)
                process.kill()
                process.wait()
        self.close_pipe()

    def close_pipe(self) -> None:
        with self._fd_lock:
            if self._wake_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._wake_fd)
                self._wake_fd = None


def worker_command() -> list[str]:
    """``tocsin worker`` with this interpreter; the child reads the same environment."""
    return [sys.executable, "-m", "tocsin.cli", "worker"]


@asynccontextmanager
async def supervised(
    command: list[str] | None = None, *, metrics: EngineMetricsFiles | None = None
) -> AsyncIterator[EngineChild]:
    """For the lifetime of ``tocsin serve``: the engine child, woken after every commit that
    enqueued jobs, restarted if it dies, stopped (gracefully) when the block ends. With
    ``metrics``, each life of the child writes its series there for the server's scrape."""
    child = EngineChild(command or worker_command(), metrics.child_environment() if metrics else None)
    child.start()
    unsubscribe = jobs.on_commit(child.wake)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def start() -> None:
        child.start()

    async def ended() -> object:
        pid = child.pid
        status = await loop.run_in_executor(None, child.wait)
        child.close_pipe()
        if metrics is not None and pid is not None:
            metrics.child_ended(pid)
        return f"exit status {status}"

    watcher = asyncio.create_task(
        supervise("engine child", start=start, ended=ended, stopping=stopping, running=True),
        name="tocsin-engine-child",
    )
    try:
        yield child
    finally:
        stopping.set()
        unsubscribe()
        await loop.run_in_executor(None, child.stop)
        await watcher
