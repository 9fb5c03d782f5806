"""Escalation arithmetic: every step of a run appears once and in order, delays add up, keys are
stable and distinct, backoff grows and stays capped."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.escalation import (
    Step,
    all_steps,
    backoff,
    bucket,
    delay_before,
    next_step,
    page_key,
    run_plan,
    step_key,
)

levels = st.integers(min_value=1, max_value=20)
repeats = st.integers(min_value=0, max_value=9)


@given(levels, repeats)
def test_a_run_visits_every_step_once_in_order(n: int, repeat: int) -> None:
    steps = all_steps(levels=n, repeat_count=repeat)
    assert len(steps) == n * (repeat + 1)
    assert steps == sorted(steps)
    assert len(set(steps)) == len(steps)
    assert steps[0] == Step(0, 0)
    assert steps[-1] == Step(repeat, n - 1)
    assert next_step(steps[-1], levels=n, repeat_count=repeat) is None


def test_no_rules_no_steps() -> None:
    assert all_steps(levels=0, repeat_count=3) == []


@given(
    st.lists(st.integers(min_value=0, max_value=1440), min_size=1, max_size=20), repeats, st.integers(0, 1440)
)
def test_total_delay_of_a_run(delays: list[int], repeat: int, repeat_delay: int) -> None:
    steps = all_steps(levels=len(delays), repeat_count=repeat)
    total = sum(
        delay_before(s, delays_minutes=tuple(delays), repeat_delay_minutes=repeat_delay) for s in steps
    )
    assert total == (repeat + 1) * sum(delays) + repeat * repeat_delay


@given(
    st.lists(st.integers(min_value=0, max_value=1440), min_size=1, max_size=20),
    st.integers(1, 9),
    st.one_of(st.none(), st.integers(0, 1440)),
)
def test_a_pass_starts_again_after_the_repeat_delay_by_default_the_last_rules(
    delays: list[int], repeat: int, repeat_delay: int | None
) -> None:
    """Without a repeat delay (None), the gap from a pass's last page to the next pass's first is the
    last rule's delay plus the first rule's; an explicit delay (0 included) is kept as it is."""
    plan = run_plan(
        kinds=("notify",) * len(delays),
        delays_minutes=tuple(delays),
        repeat_count=repeat,
        repeat_delay_minutes=repeat_delay,
    )
    expected = delays[-1] if repeat_delay is None else repeat_delay
    for (step, at), (after, after_at) in zip(plan, plan[1:], strict=False):
        if after.cycle > step.cycle:
            assert after_at - at == expected + delays[0]
        else:
            assert after_at - at == delays[after.level]
    assert len(plan) == len(delays) * (repeat + 1)


def test_demo_policy_timeline() -> None:
    """Level 1 now, level 2 after 5 minutes, repeated twice with no extra delay."""
    delays = (0, 5)
    steps = all_steps(levels=2, repeat_count=2)
    at = 0
    times = []
    for step in steps:
        at += delay_before(step, delays_minutes=delays, repeat_delay_minutes=0)
        times.append((step.cycle, step.level, at))
    assert times == [(0, 0, 0), (0, 1, 5), (1, 0, 5), (1, 1, 10), (2, 0, 10), (2, 1, 15)]


@given(st.integers(0, 5), st.integers(0, 9), st.integers(0, 19), st.text(min_size=1, max_size=300))
def test_keys_are_stable_and_bounded(run: int, cycle: int, level: int, user: str) -> None:
    step = Step(cycle, level)
    assert step_key("inc_1", run, step) == step_key("inc_1", run, step)
    assert step_key("inc_1", run, step) != step_key("inc_1", run + 1, step)
    key = page_key("inc_1", run, step, user, "email", "default")
    assert key == page_key("inc_1", run, step, user, "email", "default")
    assert len(key) <= 255
    assert key != page_key("inc_1", run, step, user, "sms", "default")
    assert key != page_key("inc_1", run + 1, step, user, "email", "default")


@given(st.integers(1, 60))
def test_backoff_grows_and_is_capped(attempt: int) -> None:
    base, cap = timedelta(seconds=5), timedelta(minutes=10)
    wait = backoff(attempt, base=base, cap=cap)
    assert base <= wait <= cap
    assert backoff(attempt + 1, base=base, cap=cap) >= wait


def test_urgency_buckets() -> None:
    assert [bucket(u) for u in ("HIGH", "MEDIUM", "LOW", "high")] == ["high", "low", "low", "high"]
