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

MAX_LEVELS: Final = 20
MAX_REPEAT: Final = 9


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


def delay_before(step: Step, *, delays_minutes: tuple[int, ...], repeat_delay_minutes: int) -> int:
    """Minutes between the previous step and ``step``: the rule's own delay, and for the first
    level of a repeated pass the policy's repeat delay on top of it."""
    own = delays_minutes[step.level]
    if step.level == 0 and step.cycle > 0:
        return repeat_delay_minutes + own
    return own


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
