"""The one restart loop of ``tocsin serve``'s children, on a fake clock and stand-in children."""

from __future__ import annotations

import asyncio

import pytest

from tocsin.server.supervision import Restarts, supervise


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pauses_grow_with_each_death_in_a_row_and_stop_at_the_longest() -> None:
    clock = FakeClock()
    restarts = Restarts(pauses=(0.5, 1.0, 2.0), healthy=60.0, clock=clock)
    pauses = []
    for _ in range(5):
        restarts.started()
        clock.now += 1.0  # each child dies a second after its start
        pauses.append(restarts.next_pause())
    assert pauses == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_a_child_that_ran_a_healthy_while_starts_the_pauses_again() -> None:
    clock = FakeClock()
    restarts = Restarts(pauses=(0.5, 1.0, 2.0), healthy=60.0, clock=clock)
    for _ in range(3):
        restarts.started()
        restarts.next_pause()
    restarts.started()
    clock.now += 60.0
    assert restarts.next_pause() == 0.5


def test_supervise_restarts_until_stopping_and_counts_a_failed_start_as_a_death() -> None:
    async def scenario() -> tuple[list[str], int]:
        stopping = asyncio.Event()
        events: list[str] = []
        deaths = asyncio.Queue[None]()
        starts = asyncio.Queue[None]()
        attempts = 0

        async def start() -> None:
            nonlocal attempts
            attempts += 1
            if attempts == 2:
                events.append("start failed")
                raise OSError("no process could be made")
            events.append("started")
            starts.put_nowait(None)

        async def ended() -> object:
            await deaths.get()
            events.append("ended")
            return "exit status 1"

        task = asyncio.create_task(
            supervise(
                "stand-in",
                start=start,
                ended=ended,
                stopping=stopping,
                restarts=Restarts(pauses=(0.0,)),
            )
        )
        await asyncio.wait_for(starts.get(), timeout=10)
        deaths.put_nowait(None)  # the first child dies; the second start fails; a third starts
        await asyncio.wait_for(starts.get(), timeout=10)
        stopping.set()
        deaths.put_nowait(None)  # the third ends while stopping: not started again
        await asyncio.wait_for(task, timeout=10)
        return events, attempts

    events, attempts = asyncio.run(scenario())
    assert events == ["started", "ended", "start failed", "started", "ended"]
    assert attempts == 3


def test_supervise_with_a_running_child_waits_for_its_end_before_any_start() -> None:
    async def scenario() -> list[str]:
        stopping = asyncio.Event()
        events: list[str] = []

        async def start() -> None:
            events.append("started")

        async def ended() -> object:
            events.append("ended")
            stopping.set()
            return 0

        await asyncio.wait_for(
            supervise("stand-in", start=start, ended=ended, stopping=stopping, running=True), timeout=10
        )
        return events

    assert asyncio.run(scenario()) == ["ended"]


@pytest.mark.parametrize(
    "pauses",
    [
        (),
    ],
)
def test_restarts_need_at_least_one_pause(pauses: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        Restarts(pauses=pauses)
