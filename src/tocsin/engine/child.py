"""The engine as a child process of ``tocsin serve``: the child's side of the pipe that ties it to
the server (``server.engine_child`` is the server's side, and says why a process). Bytes on the
pipe wake the engine; end of file means the server is gone, and the child exits with it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("tocsin.engine")

WAKE_BYTE = b"w"
WAKE_COALESCE_SECONDS = 0.005  # the engine child passes on at most one wake per this pause


def follow_parent(
    wake_fd: int, wake: Callable[[], None], coalesce: float = WAKE_COALESCE_SECONDS
) -> threading.Thread:
    """In the child: a thread that wakes the engine when bytes come from the server, and ends this
    process at once when the server is gone (end of file), as if both were one process.

    After a wake it waits ``coalesce`` seconds before reading again, so the wakes of a storm (one
    per committed batch, hundreds a second) reach the engine as one per pause, while the first
    wake after a quiet spell is passed on at once. Each wake had cost the engine a thread switch
    and a turn of its loop while it was busy with the backlog anyway."""

    def read() -> None:
        while True:
            try:
                data = os.read(wake_fd, 4096)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                log.error("the server process is gone; the engine stops with it")
                logging.shutdown()
                os._exit(3)
            wake()
            time.sleep(coalesce)

    thread = threading.Thread(target=read, name="tocsin-engine-parent", daemon=True)
    thread.start()
    return thread
