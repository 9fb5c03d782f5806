"""Escalation arithmetic, with no I/O: which step follows which, when it is due, how long a failed
attempt waits, and the idempotency keys that make every step and page happen once.

A policy has ``levels`` ordered rules and runs ``repeat_count + 1`` passes ("cycles") while nobody
acknowledges. A step is ``(cycle, level)``. Each (re)start of escalation on an incident (the
trigger, an ack timeout, a snooze expiry, a manual escalate or reassign) is a new ``run``, so a
re-escalation pages again while a retry of the same step never does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

UrgencyBucket = Literal["high", "low"]
RuleKind = Literal["notify", "wait", "repeat", "resolve"]

MAX_LEVELS: Final = 20
MAX_REPEAT: Final = 9
RULE_KINDS: Final = ("notify", "wait", "repeat", "resolve")
# A ``repeat`` rule starts the policy again at most this many times in one run, as Grafana OnCall's
# ``repeat_escalation`` step ("5 times max"); past that the run goes on to the rule after it.
MAX_REPEAT_STEPS: Final = 5


@dataclass(frozen=True, slots=True, order=True)
class Step:
    cycle: int
    level: int


def bucket(urgency: str) -> UrgencyBucket:
    """Notification rules come in two sets: HIGH uses the high-urgency rules, MEDIUM and LOW the low."""
    return "high" if urgency.upper() == "HIGH" else "low"


def next_step(step: Step, *, levels: int, repeat_count: int) -> Step | None:
    """The step after ``step``: the next level, else the first level of the next pass, else none."""
    if levels <= 0:
        return None
    if step.level + 1 < levels:
        return Step(step.cycle, step.level + 1)
    if step.cycle < repeat_count:
        return Step(step.cycle + 1, 0)
    return None


def repeat_delay(*, delays_minutes: tuple[int, ...], repeat_delay_minutes: int | None) -> int:
    """Minutes from the last rule of a pass to the first rule of the next. ``None`` (the default) is
    the last rule's own delay, so a pass ends as it went on, with the wait people set between
    levels, and the last level's page and the next pass's first never go out in the same second
    (PagerDuty's "repeat this policy N times" also waits the last rule's timeout before starting
    over). An explicit ``0`` still repeats at once."""
    if repeat_delay_minutes is not None:
        return repeat_delay_minutes
    return delays_minutes[-1] if delays_minutes else 0


def delay_before(step: Step, *, delays_minutes: tuple[int, ...], repeat_delay_minutes: int | None) -> int:
    """Minutes between the previous step and ``step``: the rule's own delay, and for the first
    level of a repeated pass the policy's repeat delay (``repeat_delay``) on top of it."""
    own = delays_minutes[step.level]
    if step.level == 0 and step.cycle > 0:
        return repeat_delay(delays_minutes=delays_minutes, repeat_delay_minutes=repeat_delay_minutes) + own
    return own


@dataclass(frozen=True, slots=True)
class NextStep:
    """The step to run after another, and the minutes to wait before it."""

    step: Step
    wait_minutes: int


def following(
    step: Step,
    *,
    kinds: tuple[str, ...],
    delays_minutes: tuple[int, ...],
    repeat_count: int,
    repeat_delay_minutes: int | None,
) -> NextStep | None:
    """What comes after ``step`` in a policy whose rules have these ``kinds``.

    A ``resolve`` rule ends the run. A ``repeat`` rule starts the next pass at the first rule while
    fewer than ``MAX_REPEAT_STEPS`` passes began in this run, with no repeat delay (the repeat
    rule's own delay already passed); once that many have, it is skipped and the rule after it runs.
    Otherwise the policy's own repeat applies: after the last rule, another pass while ``cycle <
    repeat_count``, after ``repeat_delay``. Both kinds of repeat count passes in ``cycle``,
    so a run never has more than ``max(repeat_count, MAX_REPEAT_STEPS) + 1`` passes."""
    if not kinds or step.level >= len(kinds):
        return None
    kind = kinds[step.level]
    if kind == "resolve":
        return None
    if kind == "repeat" and step.cycle < MAX_REPEAT_STEPS:
        return NextStep(Step(step.cycle + 1, 0), delays_minutes[0])
    after = next_step(step, levels=len(kinds), repeat_count=repeat_count)
    if after is None:
        return None
    wait = delay_before(after, delays_minutes=delays_minutes, repeat_delay_minutes=repeat_delay_minutes)
    return NextStep(after, wait)


def run_plan(
    *,
    kinds: tuple[str, ...],
    delays_minutes: tuple[int, ...],
    repeat_count: int,
    repeat_delay_minutes: int | None,
) -> list[tuple[Step, int]]:
    """Every step of a run nobody acknowledges, with the minute it runs at (for previews and
    tests). The first rule's delay counts from the trigger."""
    if not kinds:
        return []
    at = delays_minutes[0]
    plan = [(Step(0, 0), at)]
    while True:
        after = following(
            plan[-1][0],
            kinds=kinds,
            delays_minutes=delays_minutes,
            repeat_count=repeat_count,
            repeat_delay_minutes=repeat_delay_minutes,
        )
        if after is None:
            return plan
        at += after.wait_minutes
        plan.append((after.step, at))


def all_steps(*, levels: int, repeat_count: int) -> list[Step]:
    """Every step of a run, in order (for previews and tests)."""
    steps: list[Step] = []
    step: Step | None = Step(0, 0) if levels > 0 else None
    while step is not None:
        steps.append(step)
        step = next_step(step, levels=levels, repeat_count=repeat_count)
    return steps


def step_key(incident_id: str, run: int, step: Step) -> str:
    """The job key of one escalation step: enqueued twice, it exists once."""
    return f"esc:{incident_id}:{run}:{step.cycle}:{step.level}"


def page_key(incident_id: str, run: int, step: Step, user_id: str, channel: str, rule: str) -> str:
    """The idempotency key of one page: (incident, run, cycle, level, user, channel, rule). ``rule``
    tells apart two rules on the same channel (email now and email again after 10 minutes)."""
    raw = f"ntf:{incident_id}:{run}:{step.cycle}:{step.level}:{user_id}:{channel}:{rule}"
    if len(raw) <= 255:
        return raw
    return "ntf:" + hashlib.sha256(raw.encode()).hexdigest()


def backoff(attempt: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Wait before attempt ``attempt + 1`` after ``attempt`` failed: base, 2x, 4x ... capped. No
    jitter: pages are few and retries are per job, not a thundering herd against one endpoint."""
    if attempt < 1:
        return base
    factor: int = 2 ** min(attempt - 1, 30)
    wait: timedelta = base * factor
    return min(wait, cap)
