"""The live-update broadcaster: one per server process, fanning incident changes out to the open
pages of each org.

It learns of commits made by any process through ``services.incidents.changes`` (LISTEN/NOTIFY on
PostgreSQL, ``PRAGMA data_version`` on SQLite), in a thread, and hands each change to the event
loop. A change names only a tenant, never what changed, because each page re-reads what it shows.
So pending changes for one subscriber fold into one: a subscriber holds a flag, not a queue.
A slow page (a phone on a bad network) therefore never blocks the others and never grows memory:
however many commits pass while it is busy, its next read returns one notice, marked ``refresh``
when it must re-render in full (the watch reconnected and may have missed commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tocsin.domain.actor import Tenant
from tocsin.services.incidents.changes import PostgresWatch, SqliteWatch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something changed for the subscriber's tenant; ``refresh``: re-render everything, because
    changes may have been missed."""

    refresh: bool


class Subscription:
    """One open page's end of the broadcaster: ``await next()`` for the next notice."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._ready = asyncio.Event()
        self._refresh = False
        self.delivered = 0  # notices read; tests and the bench look at it

    def offer(self, refresh: bool) -> None:
        """Never waits and never grows: a notice not yet read absorbs the new one."""
        self._refresh = self._refresh or refresh
        self._ready.set()

    async def next(self) -> Notice:
        await self._ready.wait()
        self._ready.clear()
        notice = Notice(refresh=self._refresh)
        self._refresh = False
        self.delivered += 1
        return notice


class Broadcaster:
    """``start`` in the app's lifespan, ``subscribe`` per open page, ``stop`` at shutdown."""

    def __init__(self, watch: PostgresWatch | SqliteWatch | None) -> None:
        self.watch = watch
        self._subscribers: dict[Tenant, set[Subscription]] = {}
        self.closing = False  # the server is shutting down: streams end (``close``)
        # Reads shared by a tenant's pages until the tenant's next change (``shared``).
        self._shared: dict[tuple[Tenant, str], asyncio.Future[Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.closing = False
        self._stop = threading.Event()  # a fresh one: a thread from an earlier start may still be ending
        if self.watch is not None:
            self._thread = threading.Thread(
                target=self.watch.run, args=(self._stop, self._from_thread), name="tocsin-live", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """End every open stream: each wakes, sees ``closing`` and returns, so its response
        completes. The server calls it as it begins to shut down, because uvicorn waits for every
        open response before it shuts the app down, and a live stream never ends by itself. The
        browsers' EventSource reconnects (to another replica, or to this server restarted)."""
        self.closing = True
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.offer(refresh=True)

    async def stop(self) -> None:
        """Stops at once: the watch's thread (a daemon) sees the flag within its poll interval and
        closes its own connection; nothing waits for it, so an app's shutdown (and every test
        app's) does not pay for it."""
        self._stop.set()
        self._thread = None
        self.close()

    @contextlib.asynccontextmanager
    async def running_for_app(self) -> AsyncIterator[Broadcaster]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    @contextlib.contextmanager
    def subscribe(self, tenant: Tenant) -> Iterator[Subscription]:
        subscription = Subscription(tenant)
        self._subscribers.setdefault(tenant, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(tenant)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[tenant]

    def subscriber_count(self) -> int:
        return sum(len(subscriptions) for subscriptions in self._subscribers.values())

    async def shared(self, tenant: Tenant, name: str, read: Callable[[], Awaitable[Any]]) -> Any:
        """``read()`` once per change for all of a tenant's open pages: the first page to ask
        starts the read, the others (asking meanwhile, or later before the next change) await the
        same one. Without it every change costs one database read per open tab; with it, one per
        tenant, whatever the number of tabs (``bench/sse_fanout.py``). The read runs as a task of
        its own, so a page that closes while it runs does not cancel it for the others."""
        key = (tenant, name)
        task = self._shared.get(key)
        if task is None:
            task = asyncio.ensure_future(read())
            self._shared[key] = task
            task.add_done_callback(lambda done: self._forget_failed(key, done))
        return await asyncio.shield(task)

    def _forget_failed(self, key: tuple[Tenant, str], task: asyncio.Future[Any]) -> None:
        if (task.cancelled() or task.exception() is not None) and self._shared.get(key) is task:
            del self._shared[key]  # the next page to ask tries again

    def publish(self, tenants: frozenset[Tenant] | None) -> None:
        """Tell the subscribers of ``tenants`` (all of them for ``None``). On the event loop."""
        if tenants is None:
            self._shared.clear()
        else:
            for key in [key for key in self._shared if key[0] in tenants]:
                del self._shared[key]
        if tenants is None:
            for subscriptions in self._subscribers.values():
                for subscription in subscriptions:
                    subscription.offer(refresh=True)
            return
        for tenant in tenants:
            for subscription in self._subscribers.get(tenant, ()):
                subscription.offer(refresh=False)

    def _from_thread(self, tenants: frozenset[Tenant] | None) -> None:
        loop = self._loop
        if loop is None or self._stop.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self.publish, tenants)
