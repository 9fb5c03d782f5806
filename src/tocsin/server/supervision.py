"""The one restart loop for the children of ``tocsin serve``.

A child that dies is started again after a pause that grows with each death in a row (0.5 s up to
10 s), so a child that cannot live (a bad database path, no memory) does not spin a core and fill
the log; a child that then runs well for a minute starts the pauses again from the shortest. The
engine child and the ingest writer differ only in how they start and how their end is seen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger("tocsin.server")

RESTART_PAUSES: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0)
HEALTHY_SECONDS = 60.0


class Restarts:
    """How long to pause before the next start: longer with each death in a row, back to the
    shortest once a child has run for ``healthy`` seconds."""

    def __init__(
        self,
        pauses: Sequence[float] = RESTART_PAUSES,
        healthy: float = HEALTHY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not pauses:
            raise ValueError("a restart needs at least one pause")
        self._pauses = tuple(pauses)
        self._healthy = healthy
        self._clock = clock
        self._deaths = 0
        self._started_at = clock()

    def started(self) -> None:
        """A child was started (or is about to be): its run is timed from now."""
        self._started_at = self._clock()

    def next_pause(self) -> float:
        """The child is gone: seconds to wait before starting the next one."""
        if self._clock() - self._started_at >= self._healthy:
            self._deaths = 0  # it ran well for a while: a new crash starts the pauses again
        pause = self._pauses[min(self._deaths, len(self._pauses) - 1)]
        self._deaths += 1
        return pause


async def supervise(
    name: str,
    *,
    start: Callable[[], Awaitable[None]],
    ended: Callable[[], Awaitable[object]],
    stopping: asyncio.Event,
    restarts: Restarts | None = None,
    running: bool = False,
) -> None:
    """Keep one child alive until ``stopping`` is set: ``start()`` it (unless ``running``: the
    caller started the first one), await ``ended()`` (its exit status, or why it was lost), pause,
    and start it again. A start that raises counts as a death, so a child that cannot be started
    is tried again with the same growing pauses."""
    restarts = restarts or Restarts()
    while not stopping.is_set():
        if running:
            status = await ended()
        else:
            restarts.started()
            try:
                await start()
            except Exception as exc:  # no process could be made, or it never said it was ready
                status = f"unstartable ({exc!r})"
            else:
                status = await ended()
        running = False
        if stopping.is_set():
            return
        pause = restarts.next_pause()
        log.error("%s ended (%s); starting it again in %.1f s", name, status, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=pause)
