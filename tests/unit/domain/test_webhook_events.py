"""The webhook body: the spec's shape, RFC 3339 ``Z`` timestamps and stable bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.webhook_events import (
    EVENTS,
    TEST_EVENT,
    IncidentFacts,
    Person,
    encode,
    payload,
    rfc3339,
    sample_incident,
    unknown_events,
    wants,
)

AT = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def _facts(**changes: object) -> IncidentFacts:
    values: dict[str, object] = {
        "id": "inc_abc123",
        "number": 42,
        "title": "High CPU on web-01",
        "status": "OPEN",
        "urgency": "HIGH",
        "service_id": "svc_xyz",
        "service_name": "Payment API",
        "dedup_key": "cpu-web-01",
        "created_at": AT - timedelta(minutes=5),
        "assignee": Person("usr_123", "Alice Smith"),
    }
    values.update(changes)
    return IncidentFacts(**values)  # type: ignore[arg-type]


def test_the_five_events() -> None:
    assert EVENTS == (
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
        "incident.escalated",
        "incident.assigned",
    )
    assert TEST_EVENT not in EVENTS
    assert unknown_events(["incident.resolved", "incident.closed", TEST_EVENT]) == [
        "incident.closed",
        TEST_EVENT,
    ]


def test_the_spec_payload_with_extras() -> None:
    body = payload(
        "incident.triggered", _facts(html_url="https://oncall.example.com/incidents/inc_abc123"), AT
    )
    assert body == {
        "event": "incident.triggered",
        "timestamp": "2024-01-15T10:30:00Z",
        "incident": {
            "id": "inc_abc123",
            "number": 42,
            "title": "High CPU on web-01",
            "status": "OPEN",
            "urgency": "HIGH",
            "priority": None,
            "service": {"id": "svc_xyz", "name": "Payment API"},
            "assignee": {"id": "usr_123", "name": "Alice Smith"},
            "dedup_key": "cpu-web-01",
            "html_url": "https://oncall.example.com/incidents/inc_abc123",
            "created_at": "2024-01-15T10:25:00Z",
        },
    }
    assert list(body) == ["event", "timestamp", "incident"]


def test_no_assignee_is_null() -> None:
    assert payload("incident.resolved", _facts(assignee=None), AT)["incident"]["assignee"] is None


def test_timestamps_are_utc_with_z() -> None:
    berlin = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2024, 1, 15, 11, 30, tzinfo=berlin)) == "2024-01-15T10:30:00Z"
    assert rfc3339(datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)) == "2024-01-15T10:30:00.123Z"
    with pytest.raises(ValueError):
        rfc3339(datetime(2024, 1, 15, 10, 30))


def test_encoding_is_compact_utf8_json() -> None:
    body = payload("incident.acknowledged", _facts(title="Disque plein sur « db-01 »"), AT)
    raw = encode(body)
    assert raw == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert b'","' in raw and b'", "' not in raw and b'": ' not in raw
    assert "« db-01 »".encode() in raw
    assert raw.startswith(b'{"event":"incident.acknowledged","timestamp":"2024-01-15T10:30:00Z","incident":{')
    assert json.loads(raw)["incident"]["title"] == "Disque plein sur « db-01 »"


@given(
    title=st.text(max_size=80),
    name=st.text(max_size=40),
    number=st.integers(1, 10**9),
    event=st.sampled_from(EVENTS),
    seconds=st.integers(0, 10**9),
)
def test_encoding_is_deterministic_and_round_trips(
    title: str, name: str, number: int, event: str, seconds: int
) -> None:
    at = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    facts = _facts(title=title, number=number, assignee=Person("usr_1", name))
    first = encode(payload(event, facts, at))
    assert first == encode(payload(event, facts, at))
    decoded = json.loads(first)
    assert decoded == payload(event, facts, at)
    assert decoded["timestamp"].endswith("Z") and decoded["incident"]["assignee"]["name"] == name


def test_filters() -> None:
    assert wants([], "incident.triggered")
    assert wants(["incident.resolved"], "incident.resolved")
    assert not wants(["incident.resolved"], "incident.triggered")


def test_sample_incident_is_a_full_body() -> None:
    body = payload(TEST_EVENT, sample_incident(AT), AT)
    assert body["event"] == TEST_EVENT and body["incident"]["service"]["name"]
