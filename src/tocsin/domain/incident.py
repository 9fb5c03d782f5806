"""Incident states, urgencies and the rules that move an incident between states."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Status(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"
    SNOOZED = "SNOOZED"
    SUPPRESSED = "SUPPRESSED"


class Urgency(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


PRIORITIES: Final = ("P1", "P2", "P3", "P4", "P5")

# Sort ranks: "most needs a human" first when ordering descending.
URGENCY_RANK: Final = {Urgency.LOW: 1, Urgency.MEDIUM: 2, Urgency.HIGH: 3}
STATUS_RANK: Final = {
    Status.RESOLVED: 1,
    Status.SUPPRESSED: 2,
    Status.SNOOZED: 3,
    Status.ACKNOWLEDGED: 4,
    Status.OPEN: 5,
}

# Which status may move to which. Staying in the same status is a no-op, never a conflict,
# so a retried "acknowledge" from a flaky network is harmless.
_TRANSITIONS: Final[dict[Status, frozenset[Status]]] = {
    Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED, Status.SNOOZED}),
    Status.ACKNOWLEDGED: frozenset({Status.OPEN, Status.RESOLVED, Status.SNOOZED}),
    Status.SNOOZED: frozenset({Status.OPEN, Status.ACKNOWLEDGED, Status.RESOLVED}),
    Status.SUPPRESSED: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED}),
    # Reopening is allowed; the dedup index still guards against two open twins.
    Status.RESOLVED: frozenset({Status.OPEN}),
}

_SEVERITY_URGENCY: Final = {
    "critical": Urgency.HIGH,
    "error": Urgency.HIGH,
    "warning": Urgency.MEDIUM,
    "info": Urgency.LOW,
}
SEVERITIES: Final = tuple(_SEVERITY_URGENCY)


def can_transition(current: Status, target: Status) -> bool:
    """Whether ``current`` may become ``target`` (same status counts as allowed: a no-op)."""
    return current == target or target in _TRANSITIONS[current]


def is_open(status: Status) -> bool:
    """Open means "still an incident": it dedups new alerts and may page someone."""
    return status != Status.RESOLVED


def urgency_for_severity(severity: str) -> Urgency:
    """PagerDuty-style severity to our urgency; raises ``ValueError`` for an unknown severity."""
    try:
        return _SEVERITY_URGENCY[severity.lower()]
    except KeyError:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}") from None
