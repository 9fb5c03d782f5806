"""Rate limits on the ``limits`` library: per key (events, reads, writes), per integration and per
org for alerts. Memory storage by default, Redis when configured. It never fails open: a store
that cannot be reached raises ``LimiterUnavailable`` and the request gets a 503."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.aio.strategies import RateLimiter as Strategy
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.util import WindowStats

from tocsin.config import Settings


class LimiterUnavailable(Exception):
    """The limiter's store did not answer; the request must not pass unchecked."""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # unix seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))


_MAX_KEYS = 100_000

# ``TOCSIN_RATELIMIT_STRATEGY``: the names the ``limits`` library gives its strategies.
_STRATEGIES: dict[str, Callable[[Storage], Strategy]] = {
    "fixed-window": FixedWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    "moving-window": MovingWindowRateLimiter,
}


@lru_cache(maxsize=256)
def _parse(text: str) -> RateLimitItem:
    return parse(text)


class RateLimiter:
    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.defaults: dict[str, str] = {
            "events": settings.ratelimit_events,
            "read": settings.ratelimit_read,
            "write": settings.ratelimit_write,
            "integration": settings.ratelimit_integration,
            "org_alerts": settings.ratelimit_org_alerts,
        }
        for text in self.defaults.values():
            _parse(text)  # a bad setting fails at start-up, not on the first request
        if storage is None:
            storage = cast(
                Storage,
                storage_from_string(
                    settings.redis_url
                    if settings.redis_url.startswith("async+")
                    else f"async+{settings.redis_url}",
                    implementation="redispy",
                    wrap_exceptions=True,
                )
                if settings.redis_url
                else MemoryStorage(wrap_exceptions=True),
            )
        self.storage: Storage = storage
        self.strategy = settings.ratelimit_strategy
        self._strategy = _STRATEGIES[self.strategy](storage)
        # A fixed window is one counter: what ``FixedWindowRateLimiter.hit`` and
        # ``get_window_stats`` do, done here with the storage key remembered (``key_for`` formats
        # a string a call, and the ingest path counts three limits an event) and the remaining
        # count taken from the increment instead of read back.
        self._fixed = isinstance(self._strategy, FixedWindowRateLimiter)
        self._keys: dict[tuple[RateLimitItem, str, str], str] = {}

    def limit_for(self, category: str, overrides: Mapping[str, str]) -> RateLimitItem:
        return _parse(overrides.get(category) or self.defaults[category])

    def _key(self, item: RateLimitItem, category: str, identity: str) -> str:
        cached = (item, category, identity)
        key = self._keys.get(cached)
        if key is None:
            if len(self._keys) >= _MAX_KEYS:  # anonymous callers by address: keep it bounded
                self._keys.clear()
            key = self._keys[cached] = item.key_for(category, identity)
        return key

    async def _consume(
        self, item: RateLimitItem, category: str, identity: str, *, stats: bool
    ) -> tuple[bool, WindowStats | None]:
        """Count one call; whether it may pass, and the window's state when ``stats`` is asked
        for or the call is refused."""
        try:
            if self._fixed:
                key = self._key(item, category, identity)
                count = await self.storage.incr(key, item.get_expiry(), amount=1)
                allowed = count <= item.amount
                if allowed and not stats:
                    return True, None
                reset = await self.storage.get_expiry(key)
                return allowed, WindowStats(reset, max(0, item.amount - count))
            allowed = await self._strategy.hit(item, category, identity)
            if allowed and not stats:
                return True, None
            return allowed, await self._strategy.get_window_stats(item, category, identity)
        except (StorageError, ConnectionError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc

    async def hit(self, category: str, identity: str, overrides: Mapping[str, str] | None = None) -> Decision:
        """Count one call of ``identity`` against ``category`` and say whether it may pass."""
        item = self.limit_for(category, overrides or {})
        allowed, window = await self._consume(item, category, identity, stats=True)
        assert window is not None
        return Decision(
            allowed=allowed, limit=item.amount, remaining=max(0, window.remaining), reset_at=window.reset_time
        )

    async def allow(
        self, category: str, identity: str, overrides: Mapping[str, str] | None = None
    ) -> Decision | None:
        """Count one call; ``None`` if it may pass, else the refusal (the window is read only
        then, which halves the limiter's work on the ingest path)."""
        item = self.limit_for(category, overrides or {})
        allowed, window = await self._consume(item, category, identity, stats=False)
        if allowed:
            return None
        assert window is not None
        return Decision(allowed=False, limit=item.amount, remaining=0, reset_at=window.reset_time)

    async def aclose(self) -> None:
        """Close a Redis client's connections at shutdown (``limits`` keeps it behind a bridge)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()

    async def check_store(self) -> bool:
        try:
            return bool(await self.storage.check())
        except Exception:  # noqa: BLE001 - readiness only reports
            return False
