"""``server.engine_child`` with a stand-in child (a small Python script in place of ``tocsin worker``):
wake bytes reach it through the pipe, end-of-file tells it the parent is gone, SIGTERM stops it,
and ``supervised`` starts it again when it dies alone."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.factories.waiting import eventually
from tocsin.engine import child as pipe
from tocsin.server import engine_child as child
from tocsin.services import jobs

# Counts the bytes of the wake pipe into ``<dir>/wakes`` and its own start into ``<dir>/starts``;
# exits 0 on SIGTERM (as ``tocsin worker`` does), 5 at end of file.
_STAND_IN = """
import os, signal, sys
out = sys.argv[1]
fd = int(sys.argv[sys.argv.index("--wake-fd") + 1])
with open(os.path.join(out, "starts"), "a") as f:
    f.write(f"{os.getpid()}\\n")
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
total = 0
while True:
    data = os.read(fd, 4096)
    if not data:
        os._exit(5)
    total += len(data)
    with open(os.path.join(out, "wakes"), "w") as f:
        f.write(str(total))
"""


def _command(tmp_path: Path) -> list[str]:
    return [sys.executable, "-c", _STAND_IN, str(tmp_path)]


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_wakes_reach_the_child_and_sigterm_stops_it(tmp_path: Path) -> None:
    engine = child.EngineChild(_command(tmp_path))
    engine.start()
    try:
        for _ in range(3):
            engine.wake()
        assert eventually(lambda: _read(tmp_path / "wakes") == "3")
    finally:
        engine.stop(grace=10)
    assert engine.wait() == 0  # SIGTERM, not end of file: a graceful stop
    engine.wake()  # after stop: nothing to write to, and no error


def test_end_of_file_tells_the_child_its_parent_is_gone(tmp_path: Path) -> None:
    engine = child.EngineChild(_command(tmp_path))
    engine.start()
    assert eventually(lambda: _read(tmp_path / "starts") != "")
    engine.close_pipe()  # what the kernel does when the server dies
    assert engine.wait() == 5


def test_a_full_pipe_never_blocks_the_committing_thread(tmp_path: Path) -> None:
    engine = child.EngineChild(_command(tmp_path))
    engine.start()
    try:
        os.kill(engine.pid or 0, signal.SIGSTOP)  # the child reads nothing

        def wake_many() -> None:
            for _ in range(200_000):  # far more than a pipe buffer holds
                engine.wake()

        storm = threading.Thread(target=wake_many, daemon=True)
        storm.start()
        storm.join(60)  # the deadline only turns a hang into a failure
        assert not storm.is_alive(), "wake() blocked on the full pipe; writes past it should be dropped"
    finally:
        os.kill(engine.pid or 0, signal.SIGCONT)
        engine.stop(grace=10)


def test_supervised_wakes_on_commits_and_restarts_a_dead_child(tmp_path: Path) -> None:
    async def scenario() -> tuple[int | None, int | None, child.EngineChild]:
        async with child.supervised(_command(tmp_path)) as engine:
            assert await asyncio.to_thread(eventually, lambda: len(_read(tmp_path / "starts").split()) == 1)
            first = engine.pid
            for listener in list(jobs._LISTENERS):  # what a commit that enqueued jobs calls
                listener()
            assert await asyncio.to_thread(eventually, lambda: _read(tmp_path / "wakes") == "1")
            os.kill(first or 0, signal.SIGKILL)
            assert await asyncio.to_thread(eventually, lambda: len(_read(tmp_path / "starts").split()) == 2)
            return first, engine.pid, engine

    first, second, engine = asyncio.run(scenario())
    assert second != first
    assert engine.wait() == 0  # the restarted child was stopped with SIGTERM at the end
    assert all(getattr(listener, "__self__", None) is not engine for listener in jobs._LISTENERS)


class _Pauses:
    """Stands in for ``time`` in ``engine.child``: the reading thread's pause after a wake lasts
    until the test ends it, so the test knows the thread is pausing (not reading) while it writes."""

    def __init__(self) -> None:
        self.lengths: list[float] = []  # the pauses begun, in seconds asked for
        self._ended = 0
        self._changed = threading.Condition()

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self.lengths.append(seconds)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._ended >= len(self.lengths), timeout=60)

    def end_pause(self) -> None:
        with self._changed:
            self._ended += 1
            self._changed.notify_all()

    def end_all(self) -> None:
        with self._changed:
            self._ended = 1 << 30
            self._changed.notify_all()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_follow_parent_passes_on_a_burst_of_wakes_as_a_few(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses = _Pauses()
    monkeypatch.setattr(pipe, "time", pauses)
    read_fd, write_fd = os.pipe()  # left open: end-of-file would end this process, as in the child
    woken: list[int] = []
    pipe.follow_parent(read_fd, lambda: woken.append(1), coalesce=0.2)
    try:
        os.write(write_fd, pipe.WAKE_BYTE)
        # The first wake after a quiet spell is passed on at once, then the thread pauses.
        assert eventually(lambda: len(pauses.lengths) == 1), f"no pause after a wake; woken {len(woken)}"
        assert (len(woken), pauses.lengths) == (1, [0.2])
        for _ in range(200):  # a storm during the pause: one wake per committed batch
            os.write(write_fd, pipe.WAKE_BYTE)
        pauses.end_pause()
        # After the pause one read takes the whole storm: one wake, then the next pause.
        assert eventually(lambda: len(pauses.lengths) == 2), f"no second pause; woken {len(woken)}"
        assert len(woken) == 2, f"the 200 bytes came as {len(woken) - 1} wakes, not one"
        assert select.select([read_fd], [], [], 0)[0] == [], "bytes of the storm are left for more wakes"
    finally:
        pauses.end_all()  # the thread goes back to reading (nothing comes) for the rest of the run
