"""Runs of policies with wait, repeat and resolve rules: a run always ends, a repeat rule starts at
most ``MAX_REPEAT_STEPS`` extra passes, nothing runs after a resolve, and a policy of notify rules
runs exactly as ``all_steps`` and ``delay_before`` say."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.escalation import (
    MAX_REPEAT_STEPS,
    RULE_KINDS,
    Step,
    all_steps,
    delay_before,
    following,
    run_plan,
)

kinds_lists = st.lists(st.sampled_from(RULE_KINDS), min_size=1, max_size=20)
repeats = st.integers(min_value=0, max_value=9)


def _plan(kinds: list[str], delays: list[int], repeat: int, repeat_delay: int = 0) -> list[tuple[Step, int]]:
    return run_plan(
        kinds=tuple(kinds),
        delays_minutes=tuple(delays),
        repeat_count=repeat,
        repeat_delay_minutes=repeat_delay,
    )


@given(kinds_lists, repeats, st.data())
def test_every_run_ends_and_steps_are_distinct(kinds: list[str], repeat: int, data: st.DataObject) -> None:
    delays = data.draw(st.lists(st.integers(0, 60), min_size=len(kinds), max_size=len(kinds)))
    plan = _plan(kinds, delays, repeat)
    steps = [step for step, _ in plan]
    assert len(set(steps)) == len(steps)
    assert max(step.cycle for step in steps) <= max(repeat, MAX_REPEAT_STEPS)
    times = [at for _, at in plan]
    assert times == sorted(times)
    # A resolve rule is the last step of any run that reaches it.
    for index, step in enumerate(steps):
        if kinds[step.level] == "resolve":
            assert index == len(steps) - 1


@given(st.integers(1, 20), repeats, st.integers(0, 60))
def test_notify_only_policies_run_as_before(levels: int, repeat: int, repeat_delay: int) -> None:
    delays = tuple(range(levels))
    plan = _plan(["notify"] * levels, list(delays), repeat, repeat_delay)
    assert [step for step, _ in plan] == all_steps(levels=levels, repeat_count=repeat)
    at = 0
    for step, when in plan:
        at += delay_before(step, delays_minutes=delays, repeat_delay_minutes=repeat_delay)
        assert when == at


@given(st.integers(0, 10), st.integers(0, 9))
def test_a_repeat_rule_adds_at_most_five_passes_then_goes_on(before: int, repeat: int) -> None:
    kinds = ["notify"] * (before + 1) + ["repeat", "notify"]
    plan = _plan(kinds, [0] * len(kinds), repeat)
    repeat_level = before + 1
    first_rule_runs = [step for step, _ in plan if step.level == 0]
    # The repeat rule starts passes 1..5; the policy's own repeat then adds passes up to repeat_count.
    assert len(first_rule_runs) == max(MAX_REPEAT_STEPS, repeat) + 1
    after_repeat = [step for step, _ in plan if step.level == repeat_level + 1]
    assert after_repeat[0].cycle == MAX_REPEAT_STEPS


def test_wait_and_repeat_timings() -> None:
    """Notify now, wait 10, notify, repeat after 5: the second pass starts 15 minutes in."""
    plan = _plan(["notify", "wait", "notify", "repeat"], [0, 10, 0, 5], 0)
    assert plan[:5] == [
        (Step(0, 0), 0),
        (Step(0, 1), 10),
        (Step(0, 2), 10),
        (Step(0, 3), 15),
        (Step(1, 0), 15),
    ]


def test_resolve_ends_the_run_and_unknown_levels_have_nothing_after() -> None:
    kinds = ("notify", "resolve", "notify")
    assert (
        following(Step(0, 1), kinds=kinds, delays_minutes=(0, 0, 0), repeat_count=3, repeat_delay_minutes=0)
        is None
    )
    assert (
        following(Step(0, 7), kinds=kinds, delays_minutes=(0, 0, 0), repeat_count=3, repeat_delay_minutes=0)
        is None
    )
    assert _plan([], [], 3) == []
