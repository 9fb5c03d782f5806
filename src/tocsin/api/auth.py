"""Finding the key behind a request: three header forms (spec 003), and a short in-memory cache
(by the secret's hash, never the secret) so the ingest path does not read the database per request.
A key that is refused is logged (``RejectedKeys``), at a rate no flood of bad keys can raise."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache

from tocsin.api.cache import CachedLookup
from tocsin.db.session import Database
from tocsin.domain.api_keys import display_prefix, hash_key, key_mode
from tocsin.services.access import keys as key_service
from tocsin.services.access.keys import KeyRecord

log = logging.getLogger("tocsin.auth")

# Why a key was refused, as the log line says it (the answer itself never says which).
NOT_A_KEY = "not a Tocsin API key"
UNKNOWN_OR_REVOKED = "unknown or revoked key"
NOT_FOR_THIS_URL = "key not accepted on this URL"


@dataclass
class _Source:
    logged_at: float
    suppressed: int = 0  # refusals from this source since its last line


class RejectedKeys:
    """One warning line per refused key, rate-limited: at most one line per source (client
    address and key prefix) per ``every`` seconds, and at most ``burst`` lines per ``every``
    seconds in all, so neither one client retrying a bad key nor a spray of random keys from many
    addresses floods the log. Each line says how many refusals from its source went unlogged
    since the last one (``suppressed``), so nothing is hidden, only summed.

    Why not the ``limits`` library (which the API's rate limits use): it answers "allowed or not"
    but keeps no count of what it refused, and the count is the point of the next line. Sources are
    kept in a bounded LRU: a flood of new addresses forgets the oldest counts, never grows memory.

    The key appears only as its display prefix (``sk_live_AbCd``, as key lists show it), and only
    when it has a Tocsin key's form: anything else (a password pasted by mistake) shows nothing."""

    def __init__(
        self,
        every: float = 60.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = 4096,
    ) -> None:
        self._every = every
        self._burst = burst
        self._clock = clock
        self._sources: LRUCache[tuple[str, str], _Source] = LRUCache(maxsize=max_sources)
        self._window_start = float("-inf")
        self._lines_in_window = 0

    def refused(self, secret: str, client: str, reason: str) -> bool:
        """Note one refused key from ``client``; True when this one was logged."""
        prefix = display_prefix(secret) if key_mode(secret) is not None else ""
        now = self._clock()
        source = self._sources.get((client, prefix))
        if source is not None and now - source.logged_at < self._every:
            source.suppressed += 1
            return False
        if now - self._window_start >= self._every:
            self._window_start, self._lines_in_window = now, 0
        if self._lines_in_window >= self._burst:
            if source is None:
                # Not logged yet: counted from a start that lets its first line out next window.
                self._sources[(client, prefix)] = _Source(logged_at=now - self._every, suppressed=1)
            else:
                source.suppressed += 1
            return False
        self._lines_in_window += 1
        suppressed = source.suppressed if source is not None else 0
        self._sources[(client, prefix)] = _Source(logged_at=now)
        log.warning(
            "rejected API key %s from %s: %s%s",
            prefix or "(not a key)",
            client,
            reason,
            f" ({suppressed} more from there not logged)" if suppressed else "",
            extra={
                "client": client,
                "key_prefix": prefix or None,
                "reason": reason,
                "suppressed": suppressed,
            },
        )
        return True


class KeyResolver:
    def __init__(self, database: Database, ttl: float, rejected: RejectedKeys | None = None) -> None:
        self._db = database
        self._cache: CachedLookup[KeyRecord | None] = CachedLookup(ttl)
        self.rejected = rejected or RejectedKeys()

    async def resolve(self, secret: str) -> KeyRecord | None:
        def lookup() -> KeyRecord | None:
            with self._db.read() as session:
                return key_service.authenticate(session=session, secret=secret)

        return await self._cache.get(hash_key(secret), lookup)

    def forget(self, *, key_id: str | None = None, org_id: str | None = None) -> None:
        self._cache.forget_where(
            lambda record: record is not None and (record.id == key_id or record.org_id == org_id)
        )
