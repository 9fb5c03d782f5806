"""Outbound webhook events and the body each one carries (spec 003, "Webhooks (Outbound)").

The body is built once, from plain values, when the event happens; its exact bytes are stored and
sent on every retry, so a receiver sees the incident as it was at the event, and a redelivery is
byte-for-byte the same message."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

WebhookEvent = Literal[
    "incident.triggered",
    "incident.acknowledged",
    "incident.resolved",
    "incident.escalated",
    "incident.assigned",
]
EVENTS: Final[tuple[str, ...]] = get_args(WebhookEvent)

# Sent only by "send a test delivery", whatever a subscription's filter says.
TEST_EVENT: Final = "webhook.test"


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What a webhook says about an incident, read when the event happened."""

    id: str
    number: int
    title: str
    status: str
    urgency: str
    service_id: str
    service_name: str
    dedup_key: str
    created_at: datetime
    assignee: Person | None = None
    priority: str | None = None
    html_url: str | None = None


def rfc3339(value: datetime) -> str:
    """UTC with ``Z``, milliseconds only when there are any (the API's own timestamp form)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: webhook timestamps must be timezone-aware")
    value = value.astimezone(UTC)
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def unknown_events(names: Iterable[str]) -> list[str]:
    """The names a subscription may not filter on (anything but the five incident events)."""
    return [name for name in names if name not in EVENTS]


def wants(event_filter: Iterable[str], event: str) -> bool:
    """Whether a subscription with ``event_filter`` receives ``event``; an empty filter takes all."""
    names = list(event_filter)
    return not names or event in names


def payload(event: str, incident: IncidentFacts, at: datetime) -> dict[str, Any]:
    """The spec's body ``{event, timestamp, incident{id, title, status, urgency, service, assignee}}``
    plus ``number``, ``priority``, ``dedup_key``, ``html_url`` and ``created_at``."""
    assignee = (
        None if incident.assignee is None else {"id": incident.assignee.id, "name": incident.assignee.name}
    )
    return {
        "event": event,
        "timestamp": rfc3339(at),
        "incident": {
            "id": incident.id,
            "number": incident.number,
            "title": incident.title,
            "status": incident.status,
            "urgency": incident.urgency,
            "priority": incident.priority,
            "service": {"id": incident.service_id, "name": incident.service_name},
            "assignee": assignee,
            "dedup_key": incident.dedup_key,
            "html_url": incident.html_url,
            "created_at": rfc3339(incident.created_at),
        },
    }


def encode(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON in the dict's own key order: the same dict always gives the same bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def sample_incident(at: datetime) -> IncidentFacts:
    """A made-up incident for test deliveries, so a receiver can be checked before a real page."""
    return IncidentFacts(
        id="inc_test",
        number=0,
        title="Test delivery from Tocsin",
        status="OPEN",
        urgency="HIGH",
        service_id="svc_test",
        service_name="Test service",
        dedup_key="webhook-test",
        created_at=at,
        assignee=Person(id="usr_test", name="Test User"),
    )
