"""The broadcaster's fan-out on the event loop, with no database: what a slow page costs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tocsin.domain.actor import Tenant
from tocsin.web.live import Broadcaster, Notice

OURS, THEIRS = Tenant("org_a"), Tenant("org_b")


def test_a_slow_subscriber_folds_changes_into_one_notice_and_blocks_no_one() -> None:
    async def scenario() -> None:
        broadcaster = Broadcaster(watch=None)
        with broadcaster.subscribe(OURS) as slow, broadcaster.subscribe(OURS) as quick:
            for _ in range(1000):
                broadcaster.publish(frozenset({OURS}))
                assert await quick.next() == Notice(refresh=False)
            assert quick.delivered == 1000
            # The slow page missed nothing that matters: one notice stands for all 1000 commits.
            assert await slow.next() == Notice(refresh=False)
            assert slow.delivered == 1 and not slow._ready.is_set()

    asyncio.run(scenario())


def test_a_possible_gap_asks_every_tenant_for_a_full_refresh_once() -> None:
    async def scenario() -> None:
        broadcaster = Broadcaster(watch=None)
        with broadcaster.subscribe(OURS) as ours, broadcaster.subscribe(THEIRS) as theirs:
            broadcaster.publish(frozenset({OURS}))
            broadcaster.publish(None)  # the watch reconnected
            broadcaster.publish(frozenset({OURS}))
            assert await ours.next() == Notice(refresh=True)
            assert await theirs.next() == Notice(refresh=True)
            broadcaster.publish(frozenset({THEIRS}))
            assert await theirs.next() == Notice(refresh=False)
            assert not ours._ready.is_set()

    asyncio.run(scenario())


def test_subscriptions_end_with_their_pages() -> None:
    async def scenario() -> None:
        broadcaster = Broadcaster(watch=None)
        with broadcaster.subscribe(OURS), broadcaster.subscribe(OURS), broadcaster.subscribe(THEIRS):
            assert broadcaster.subscriber_count() == 3
        assert broadcaster.subscriber_count() == 0
        broadcaster.publish(frozenset({OURS}))  # nobody left to tell: a no-op, not an error

    asyncio.run(scenario())


def test_a_change_costs_one_read_per_tenant_whatever_the_number_of_pages() -> None:
    reads: list[Tenant] = []

    async def scenario() -> None:
        broadcaster = Broadcaster(watch=None)

        def reader(tenant: Tenant) -> Callable[[], Awaitable[str]]:
            async def read() -> str:
                reads.append(tenant)
                await asyncio.sleep(0)  # others ask while it runs
                return f"{tenant.org_id}:{len(reads)}"

            return read

        first = await asyncio.gather(*(broadcaster.shared(OURS, "list", reader(OURS)) for _ in range(50)))
        assert set(first) == {"org_a:1"} and reads == [OURS]
        assert await broadcaster.shared(OURS, "list", reader(OURS)) == "org_a:1"  # no change since
        await broadcaster.shared(THEIRS, "list", reader(THEIRS))
        broadcaster.publish(frozenset({OURS}))
        assert await broadcaster.shared(OURS, "list", reader(OURS)) == "org_a:3"
        assert await broadcaster.shared(THEIRS, "list", reader(THEIRS)) == "org_b:2"  # still valid
        assert reads == [OURS, THEIRS, OURS]

    asyncio.run(scenario())


def test_a_failed_shared_read_is_tried_again_by_the_next_page() -> None:
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database restarting")
        return "rows"

    async def scenario() -> None:
        broadcaster = Broadcaster(watch=None)
        with pytest.raises(RuntimeError, match="database restarting"):
            await broadcaster.shared(OURS, "list", flaky)
        assert await broadcaster.shared(OURS, "list", flaky) == "rows"
        assert len(attempts) == 2

    asyncio.run(scenario())
