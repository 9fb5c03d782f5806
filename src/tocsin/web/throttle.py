"""Per-address throttling for pages anyone can open (one-click links): the app's rate limiter, the
same ``read`` budget and key as the API's calendar feeds, answered as a page, not JSON."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from starlette.requests import Request

log = logging.getLogger(__name__)


class Verdict(Protocol):
    @property
    def allowed(self) -> bool: ...

    def retry_after(self, now: float) -> int: ...


class Throttled(Exception):
    """Too many requests from this address (``retry_after`` seconds), or the limiter's store is
    unreachable (``retry_after`` None): the page says so."""

    def __init__(self, retry_after: int | None) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after


async def throttle_address(request: Request) -> None:
    """One hit on the ``read`` budget for the caller's address. The limiter is the app's
    (``app.state.limiter``, built by the API layer); its store failing is a refusal, never a pass."""
    address = request.client.host if request.client else "unknown"
    try:
        verdict: Verdict = await request.app.state.limiter.hit("read", "ical:" + address)
    except Exception as exc:
        log.error("rate limiter store unreachable; refusing a link page: %s", exc)
        raise Throttled(None) from None
    if not verdict.allowed:
        raise Throttled(verdict.retry_after(time.time()))
