"""Rate limits on the ``limits`` library: per key (events, reads, writes), per integration and per
org for alerts. Memory storage by default, Redis when configured. It never fails open: a store
that cannot be reached raises ``LimiterUnavailable`` and the request gets a 503."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, SlidingWindowCounterSupport, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

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
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        # What ``SlidingWindowCounterRateLimiter.hit`` calls, called directly with the storage key
        # remembered: ``RateLimitItem.key_for`` formats a string per call, the strategy adds a
        # layer, and the ingest path counts three limits per event.
        self._acquire = cast(SlidingWindowCounterSupport, storage).acquire_sliding_window_entry
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

    async def _hit(self, item: RateLimitItem, category: str, identity: str) -> bool:
        return await self._acquire(self._key(item, category, identity), item.amount, item.get_expiry(), 1)

    async def hit(self, category: str, identity: str, overrides: Mapping[str, str] | None = None) -> Decision:
        """Count one call of ``identity`` against ``category`` and say whether it may pass."""
        item = self.limit_for(category, overrides or {})
        try:
            allowed = await self._hit(item, category, identity)
            stats = await self._strategy.get_window_stats(item, category, identity)
        except (StorageError, ConnectionError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc
        return Decision(
            allowed=allowed, limit=item.amount, remaining=max(0, stats.remaining), reset_at=stats.reset_time
        )

    async def aclose(self) -> None:
        """Close a Redis client's connections at shutdown (``limits`` keeps it behind a bridge)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()

    async def allow(
        self, category: str, identity: str, overrides: Mapping[str, str] | None = None
    ) -> Decision | None:
        """Count one call; ``None`` if it may pass, else the refusal (stats are read only then,
        which halves the limiter's work on the ingest path)."""
        item = self.limit_for(category, overrides or {})
        try:
            if await self._hit(item, category, identity):
                return None
            stats = await self._strategy.get_window_stats(item, category, identity)
        except (StorageError, ConnectionError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc
        return Decision(allowed=False, limit=item.amount, remaining=0, reset_at=stats.reset_time)

    async def check_store(self) -> bool:
        try:
            return bool(await self.storage.check())
        except Exception:  # noqa: BLE001 - readiness only reports
            return False
