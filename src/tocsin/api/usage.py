"""Per-key call tallies kept in memory and flushed in batches: one UPDATE per key per interval
instead of a write per request on the hot path."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime

import anyio.to_thread

from tocsin.clock import Clock
from tocsin.db.session import Database
from tocsin.services.access import keys as key_service
from tocsin.services.access.keys import KeyUsage

log = logging.getLogger("tocsin.usage")


class KeyUsageTracker:
    def __init__(self, database: Database, clock: Clock, interval: float) -> None:
        self._db = database
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, KeyUsage] = {}
        self._task: asyncio.Task[None] | None = None

    def track(self, key_id: str, at: datetime | None = None) -> None:
        seen = at or self._clock.now()
        with self._lock:
            previous = self._pending.get(key_id)
            calls = previous.calls + 1 if previous else 1
            last = max(previous.last_used_at, seen) if previous else seen
            self._pending[key_id] = KeyUsage(calls=calls, last_used_at=last)

    def flush(self) -> int:
        """Write what is pending; on failure the tallies go back, to be retried next time."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        try:
            with self._db.write() as session:
                key_service.record_usage(session=session, usage=batch)
        except Exception:
            log.exception("could not flush key usage; will retry")
            with self._lock:
                for key_id, tally in batch.items():
                    current = self._pending.get(key_id)
                    self._pending[key_id] = (
                        KeyUsage(current.calls + tally.calls, max(current.last_used_at, tally.last_used_at))
                        if current
                        else tally
                    )
            return 0
        return len(batch)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await anyio.to_thread.run_sync(self.flush)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await anyio.to_thread.run_sync(self.flush)
