"""Waiting for something another process or thread does, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(check: Callable[[], object], seconds: float = 10.0, every: float = 0.02) -> bool:
    """Whether ``check()`` became true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False
