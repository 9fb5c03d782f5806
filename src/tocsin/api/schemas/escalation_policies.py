"""Escalation policy shapes on the wire: a policy with its ordered rules and their targets.

Ranges, references and duplicates are checked by the service, which answers VALIDATION_ERROR naming
the field (``rules.1.targets.0.id``), so the rules live in one place; these models fix the types.
Integers are strict: ``"5"`` and ``true`` are not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from tocsin.api.schemas.common import Timestamp, WriteModel

TargetType = Literal["user", "schedule", "team"]
RuleKind = Literal["notify", "wait", "repeat", "resolve"]
StrictInt = Annotated[int, Field(strict=True)]


class TargetBody(WriteModel):
    """Who a rule pages: a user; whoever is on call in a schedule; or a team (every member, or with
    ``schedule_id``, whoever is on call in that schedule of the team)."""

    type: TargetType
    id: str
    schedule_id: str | None = None


class RuleBody(WriteModel):
    """One level: ``targets`` are paged ``delay_minutes`` (0-1440) after the previous level (the first
    level: after the trigger). In a PATCH, ``id`` keeps an existing rule's id.

    ``kind`` is ``notify`` by default. A ``wait`` rule pages nobody: its delay only delays what
    follows. ``repeat`` goes back to the first rule (at most 5 times per escalation run, then on to
    the next rule). ``resolve`` resolves the incident. Only notify rules take targets. An
    ``important`` notify rule pages through its people's high-urgency notification rules, whatever
    the incident's urgency."""

    id: str | None = None
    kind: RuleKind | None = None
    delay_minutes: StrictInt = 0
    targets: list[TargetBody] = Field(
        default_factory=list, max_length=20, description="1-20 targets, no duplicates (notify rules)"
    )
    important: bool | None = None


REPEAT_DELAY = (
    "Minutes from the last rule of a pass to the first rule of the next (0-1440; 0 repeats at once). "
    "null, the default, waits the last rule's delay_minutes, so a repeat keeps the pace of the levels "
    "(as PagerDuty waits the last rule's timeout before it repeats a policy)."
)


class EscalationPolicyCreate(WriteModel):
    name: str
    description: str | None = Field(default=None, max_length=2000)
    team_id: str | None = None
    repeat_count: StrictInt = Field(default=0, description="Run the rules again this many times (0-9)")
    repeat_delay_minutes: StrictInt | None = Field(default=None, description=REPEAT_DELAY)
    rules: list[RuleBody] = Field(max_length=20, description="1-20 rules, paged in order")


class EscalationPolicyUpdate(WriteModel):
    """``rules`` replaces the whole list: a rule sent with its ``id`` keeps it, one without gets a new
    id, and rules left out are deleted."""

    name: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    team_id: str | None = None
    repeat_count: StrictInt | None = None
    repeat_delay_minutes: StrictInt | None = Field(default=None, description=REPEAT_DELAY)
    rules: list[RuleBody] | None = Field(default=None, max_length=20)


class TargetRead(BaseModel):
    type: TargetType
    id: str
    name: str | None = Field(description="null when the target was deleted since; it is then skipped")
    schedule_id: str | None = Field(description="For a team target paged through one of its schedules")


class RuleRead(BaseModel):
    id: str
    position: int
    kind: RuleKind
    delay_minutes: int
    targets: list[TargetRead]
    important: bool


class ServiceRef(BaseModel):
    id: str
    name: str


class EscalationPolicyRead(BaseModel):
    id: str
    name: str
    description: str | None
    team_id: str | None
    repeat_count: int
    repeat_delay_minutes: int | None = Field(description=REPEAT_DELAY)
    rules: list[RuleRead]
    services: list[ServiceRef] = Field(description="The services that page through this policy")
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(
        cls, policy: Any, targets: Mapping[tuple[str, str], Any], services: Mapping[str, list[Any]]
    ) -> EscalationPolicyRead:
        def target(stored: Mapping[str, Any]) -> TargetRead:
            found = targets.get((stored["type"], stored["id"]))
            return TargetRead(
                type=stored["type"],
                id=stored["id"],
                name=None if found is None else found.name,
                schedule_id=stored.get("schedule_id"),
            )

        return cls(
            id=policy.id,
            name=policy.name,
            description=policy.description,
            team_id=policy.team_id,
            repeat_count=policy.repeat_count,
            repeat_delay_minutes=policy.repeat_delay_minutes,
            rules=[
                RuleRead(
                    id=rule.id,
                    position=rule.position,
                    kind=rule.kind,
                    delay_minutes=rule.delay_minutes,
                    targets=[target(t) for t in rule.targets],
                    important=rule.important,
                )
                for rule in policy.rules
            ],
            services=[ServiceRef(id=s.id, name=s.name) for s in services.get(policy.id, [])],
            livemode=policy.livemode,
            created_at=policy.created_at,
            updated_at=policy.updated_at,
        )
