"""Incident shapes on the wire (spec 003)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel
from tocsin.domain.incident import Status, Urgency


class IncidentRead(ReadModel):
    id: str
    number: int
    title: str
    description: str | None
    status: Status
    urgency: Urgency
    priority: str | None
    service_id: str
    team_id: str | None
    assignee_ids: list[str]
    escalation_policy_id: str | None
    escalation_level: int = Field(
        description=(
            "The escalation level reached, as the 0-based index of the policy's rule (its position): "
            "0 is level 1. The timeline, the CLI and pages count levels from 1."
        )
    )
    dedup_key: str
    alert_count: int
    source: str | None
    severity: str | None
    custom_details: dict[str, Any] | None
    links: list[dict[str, Any]]
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp
    acknowledged_at: Timestamp | None
    resolved_at: Timestamp | None
    snoozed_until: Timestamp | None


class IncidentCreate(WriteModel):
    title: str = Field(min_length=1, max_length=1024)
    service_id: str
    urgency: Urgency = Urgency.HIGH
    description: str | None = Field(default=None, max_length=65_536)
    assignee_ids: list[str] = Field(default_factory=list, max_length=50)
    priority: str | None = None
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)


class IncidentUpdate(WriteModel):
    title: str | None = Field(default=None, max_length=1024)
    description: str | None = Field(default=None, max_length=65_536)
    urgency: Urgency | None = None
    priority: str | None = None
    assignee_ids: list[str] | None = Field(default=None, max_length=50)
    status: Status | None = None


class SnoozeRequest(WriteModel):
    until: Timestamp | None = None
    duration_minutes: int | None = None


class EscalateRequest(WriteModel):
    """An empty body escalates to the next level; ``level`` (1-based) jumps to that level."""

    level: int | None = Field(default=None, ge=1, le=20)


class ReassignRequest(WriteModel):
    """Either people (paged at once) or an escalation policy (escalating from its first level)."""

    user_ids: list[str] | None = Field(default=None, min_length=1, max_length=20)
    escalation_policy_id: str | None = Field(default=None, max_length=40)


class NoteCreate(WriteModel):
    content: str = Field(min_length=1, max_length=10_000)


class NoteRead(ReadModel):
    id: str
    incident_id: str
    content: str
    author_type: str
    author_id: str | None
    author_name: str
    created_at: Timestamp


class TimelineEntryRead(ReadModel):
    id: str
    incident_id: str
    type: str
    message: str
    actor_type: str
    actor_id: str | None
    actor_name: str
    data: dict[str, Any]
    created_at: Timestamp
