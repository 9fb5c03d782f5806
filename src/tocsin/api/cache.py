"""A small TTL cache in front of a blocking database lookup, used on the hot paths (key and routing
key resolution) so an alert storm does not become a read storm. Misses are cached too."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import anyio.to_thread
from cachetools import TTLCache

V = TypeVar("V")


class CachedLookup(Generic[V]):
    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._cache: TTLCache[str, V] | None = TTLCache(maxsize=maxsize, ttl=ttl) if ttl > 0 else None

    async def get(self, key: str, load: Callable[[], V]) -> V:
        """The cached value for ``key``, or ``load()`` run in a worker thread and remembered."""
        if self._cache is not None:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
        value = await anyio.to_thread.run_sync(load)
        if self._cache is not None:
            with self._lock:
                self._cache[key] = value
        return value

    def forget_where(self, stale: Callable[[V], bool]) -> None:
        """Drop entries matching ``stale`` (after a revocation or an edit) so this replica obeys at once."""
        if self._cache is None:
            return
        with self._lock:
            for key in [k for k, value in self._cache.items() if stale(value)]:
                self._cache.pop(key, None)

    def clear(self) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.clear()
