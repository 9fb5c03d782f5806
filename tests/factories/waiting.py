"""Waiting for something another process, thread or task does, with a deadline instead of a fixed
sleep. The deadline is only there to fail a test that would otherwise hang: make it generous (a
loaded two-core CI box), never a performance threshold. Use as ``assert eventually(...), message``
so a failure says what was expected and what was seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def eventually(check: Callable[[], object], seconds: float = 10.0, every: float = 0.02) -> bool:
    """Whether ``check()`` became true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return bool(check())  # one last look: the deadline may have passed while this thread slept


async def eventually_async(check: Callable[[], object], seconds: float = 10.0, every: float = 0.02) -> bool:
    """``eventually`` for a test on an event loop: the loop runs on while it waits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(every)
    return bool(check())
