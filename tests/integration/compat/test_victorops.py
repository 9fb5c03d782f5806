"""Splunk On-Call (VictorOps) REST endpoint through HTTP:
``/integrations/generic/20131114/alert/{api_key}/{routing_key}`` answers with VictorOps' own codes
and bodies and lands in the same incidents as ``POST /api/events``."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle, now
from tocsin.api.app import create_app
from tocsin.db.models import Alert
from tocsin.db.session import Database
from tocsin.services.catalog import services as catalog

BASE = "/integrations/generic/20131114/alert"


def _service(org: OrgHandle, kind: str = "victorops") -> tuple[str, str]:
    """A service whose one integration has ``kind``; returns (service_id, the URL's api key)."""
    key = str(uuid.uuid4())
    with org.database.write() as session:
        service = catalog.create_service(
            session=session,
            tenant=org.tenant,
            now=now(),
            name=f"Database {key[:8]}",
            integrations=[{"name": "Splunk On-Call", "type": kind, "routing_key": key}],
        )
        return service.id, key


def _send(org: OrgHandle, key: str, body: Any, routing_key: str | None = "database") -> httpx.Response:
    """No API key header: the key in the URL is the only credential, as at VictorOps."""
    path = f"{BASE}/{key}/{routing_key}" if routing_key is not None else f"{BASE}/{key}"
    return org.client.post(path, json=body)


def _incidents(org: OrgHandle) -> list[dict[str, Any]]:
    response = org.get("/api/incidents")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _failure(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"result", "message"} and body["result"] == "failure"
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def test_critical_opens_a_high_incident_and_answers_success(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    service_id, key = _service(org)
    alert = {
        "message_type": "CRITICAL",
        "entity_id": "diskspace/db01.mycompany.com",
        "entity_display_name": "Disk almost full on db01",
        "state_message": "Free space below 5% on /var",
        "state_start_time": 1713897600,
        "monitoring_tool": "nagios",
        "host_name": "db01",
    }
    response = _send(org, key, alert)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"result": "success", "entity_id": "diskspace/db01.mycompany.com"}
    [incident] = _incidents(org)
    assert incident["service_id"] == service_id
    assert incident["title"] == "Disk almost full on db01"
    assert incident["description"] == "Free space below 5% on /var"
    assert incident["dedup_key"] == "diskspace/db01.mycompany.com"
    assert (incident["urgency"], incident["severity"], incident["priority"]) == ("HIGH", "critical", None)
    assert incident["source"] == "nagios"
    assert incident["custom_details"] == {
        "state_start_time": 1713897600,
        "host_name": "db01",
        "routing_key": "database",
    }
    with database.read() as session:
        [stored] = session.scalars(select(Alert).where(Alert.incident_id == incident["id"])).all()
        assert stored.payload == {**alert, "routing_key": "database"}


@pytest.mark.parametrize(
    ("message_type", "urgency", "severity"),
    [
        ("CRITICAL", "HIGH", "critical"),
        ("critical", "HIGH", "critical"),
        ("WARNING", "MEDIUM", "warning"),
        ("Warning", "MEDIUM", "warning"),
        ("INFO", "LOW", "info"),
    ],
)
def test_message_type_sets_urgency(orgs: OrgFactory, message_type: str, urgency: str, severity: str) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _send(org, key, {"message_type": message_type, "entity_id": "e"}).status_code == 200
    [incident] = _incidents(org)
    assert (incident["urgency"], incident["severity"], incident["title"]) == (urgency, severity, "e")


def test_critical_acknowledgement_recovery(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    for _ in range(2):
        assert _send(org, key, {"message_type": "CRITICAL", "entity_id": "web/cpu"}).status_code == 200
    [incident] = _incidents(org)
    assert (incident["status"], incident["alert_count"]) == ("OPEN", 2)
    ack = {
        "message_type": "ACKNOWLEDGEMENT",
        "entity_id": "web/cpu",
        "ack_msg": "looking",
        "ack_author": "carol",
    }
    response = _send(org, key, ack)
    assert response.json() == {"result": "success", "entity_id": "web/cpu"}
    assert _incidents(org)[0]["status"] == "ACKNOWLEDGED"
    response = _send(org, key, {"message_type": "recovery", "entity_id": "web/cpu"})
    assert response.json() == {"result": "success", "entity_id": "web/cpu"}
    [incident] = _incidents(org)
    assert incident["status"] == "RESOLVED"
    [note] = org.get(f"/api/incidents/{incident['id']}/notes").json()["data"]
    assert (note["content"], note["author_name"]) == ("looking", "carol via Splunk On-Call")
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert [(entry["type"], entry["actor_name"]) for entry in timeline if entry["type"] != "note_added"] == [
        ("triggered", "Splunk On-Call"),
        ("alerts_added", "Tocsin"),  # the second CRITICAL: "1 more alert (total 2)"
        ("acknowledged", "carol via Splunk On-Call"),
        ("resolved", "Splunk On-Call"),
    ]


def test_without_entity_id_one_is_assigned_and_returned(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    first = _send(org, key, {"message_type": "CRITICAL", "state_message": "Something broke"})
    second = _send(org, key, {"message_type": "CRITICAL", "state_message": "Something broke"})
    entity_ids = {first.json()["entity_id"], second.json()["entity_id"]}
    assert len(entity_ids) == 2
    incidents = _incidents(org)
    assert {incident["dedup_key"] for incident in incidents} == entity_ids
    assert {incident["title"] for incident in incidents} == {"Something broke"}


@pytest.mark.parametrize("message_type", ["RECOVERY", "ACKNOWLEDGEMENT"])
def test_unknown_entities_are_accepted_and_ignored(orgs: OrgFactory, message_type: str) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _send(org, key, {"message_type": "CRITICAL", "entity_id": "known"}).status_code == 200
    response = _send(org, key, {"message_type": message_type, "entity_id": "never-seen"})
    assert response.json() == {"result": "success", "entity_id": "never-seen"}
    response = _send(org, key, {"message_type": message_type})
    assert response.status_code == 200
    assert response.json()["result"] == "success" and response.json()["entity_id"]
    [incident] = _incidents(org)
    assert incident["status"] == "OPEN"


def test_the_routing_key_segment_is_optional(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert (
        _send(org, key, {"message_type": "CRITICAL", "entity_id": "a"}, routing_key=None).status_code == 200
    )
    assert (
        org.client.post(f"{BASE}/{key}/", json={"message_type": "CRITICAL", "entity_id": "b"}).status_code
        == 200
    )
    incidents = _incidents(org)
    assert sorted(incident["dedup_key"] for incident in incidents) == ["a", "b"]
    assert all(incident["custom_details"] is None for incident in incidents)
    with database.read() as session:
        payloads = [
            alert.payload for alert in session.scalars(select(Alert).where(Alert.org_id == org.org_id))
        ]
    assert all("routing_key" not in payload for payload in payloads)


def test_a_long_entity_id_is_hashed_and_still_resolves(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    entity = "host/" + "x" * 400
    response = _send(org, key, {"message_type": "CRITICAL", "entity_id": entity})
    assert response.json() == {"result": "success", "entity_id": entity}
    assert _incidents(org)[0]["dedup_key"] == "sha256:" + hashlib.sha256(entity.encode()).hexdigest()
    assert _send(org, key, {"message_type": "RECOVERY", "entity_id": entity}).status_code == 200
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_what_alertmanager_sends(orgs: OrgFactory) -> None:
    """Alertmanager's victorops notifier: all fields strings, custom fields beside them, the group
    key's hash as entity id, RECOVERY when resolved."""
    org = orgs.new()
    _, key = _service(org)
    entity = hashlib.sha256(b'{}:{alertname="DiskFull"}').hexdigest()
    firing = {
        "message_type": "CRITICAL",
        "entity_id": entity,
        "entity_display_name": "[FIRING:1] DiskFull (db-1 critical)",
        "state_message": "Alerts Firing:\nLabels:\n - alertname = DiskFull\n",
        "monitoring_tool": "Alertmanager",
        "team": "dba",
    }
    assert _send(org, key, firing, routing_key="dba").json() == {"result": "success", "entity_id": entity}
    assert _send(org, key, {**firing, "message_type": "RECOVERY"}, routing_key="dba").status_code == 200
    [incident] = _incidents(org)
    assert (incident["status"], incident["title"]) == ("RESOLVED", "[FIRING:1] DiskFull (db-1 critical)")
    assert incident["custom_details"] == {"team": "dba", "routing_key": "dba"}


def test_unknown_or_wrong_api_key_is_404(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, events_key = _service(org, kind="events_api_v2")
    for key in (str(uuid.uuid4()), "x", "no such key"):
        message = _failure(_send(org, key, {"message_type": "CRITICAL"}), 404)
        assert message.startswith("Unknown API key")
    message = _failure(_send(org, events_key, {"message_type": "CRITICAL"}), 404)
    assert "events_api_v2" in message and "victorops" in message
    assert _incidents(org) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "message_type is required: one of CRITICAL, WARNING, INFO, ACKNOWLEDGEMENT, RECOVERY"),
        (
            {"message_type": ""},
            "message_type is required: one of CRITICAL, WARNING, INFO, ACKNOWLEDGEMENT, RECOVERY",
        ),
        (
            {"message_type": 3},
            "message_type is required: one of CRITICAL, WARNING, INFO, ACKNOWLEDGEMENT, RECOVERY",
        ),
        (
            {"message_type": "PANIC"},
            "message_type 'PANIC' is not one of CRITICAL, WARNING, INFO, ACKNOWLEDGEMENT, RECOVERY",
        ),
        ({"message_type": "CRITICAL", "entity_id": {"a": 1}}, "entity_id must be a string"),
        ({"message_type": "CRITICAL", "state_message": ["x"]}, "state_message must be a string"),
        (
            {"message_type": "CRITICAL", "state_start_time": "yesterday"},
            "state_start_time must be a number of seconds since the epoch",
        ),
        (
            {"message_type": "CRITICAL", "timestamp": True},
            "timestamp must be a number of seconds since the epoch",
        ),
    ],
)
def test_invalid_bodies_are_400(orgs: OrgFactory, body: dict[str, Any], message: str) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _failure(_send(org, key, body), 400) == message
    assert _incidents(org) == []


def test_numbers_are_taken_where_victorops_takes_them(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    body = {"message_type": "WARNING", "entity_id": 42, "state_start_time": "1713897600", "timestamp": 1.5}
    assert _send(org, key, body).json() == {"result": "success", "entity_id": "42"}
    assert _incidents(org)[0]["dedup_key"] == "42"


@pytest.mark.parametrize("raw", [b"{not json", b"[1]", b"", b"\xff"])
def test_malformed_json_is_400(orgs: OrgFactory, raw: bytes) -> None:
    org = orgs.new()
    _, key = _service(org)
    response = org.client.post(f"{BASE}/{key}/database", content=raw)
    assert _failure(response, 400).startswith("Invalid JSON body")


def test_bodies_over_512_kb_are_refused(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    response = _send(org, key, {"message_type": "CRITICAL", "state_message": "x" * (512 * 1024)})
    assert _failure(response, 413) == "Request body is larger than the 512 KB limit"
    assert _incidents(org) == []


def test_only_post(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert org.client.get(f"{BASE}/{key}/database").status_code == 405


@pytest.fixture
def limited(db_url: str, database: Database) -> Iterator[OrgFactory]:
    """An app whose integrations may send two alerts a minute."""
    app = create_app(settings_for(db_url, ratelimit_integration="2/minute"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield OrgFactory(database, client)


def test_the_alert_limit_answers_429_with_retry_after(limited: OrgFactory) -> None:
    org = limited.new()
    _, key = _service(org)
    codes = [_send(org, key, {"message_type": "CRITICAL", "entity_id": str(n)}).status_code for n in range(3)]
    assert codes == [200, 200, 429]
    throttled = _send(org, key, {"message_type": "CRITICAL", "entity_id": "x"})
    assert _failure(throttled, 429).startswith("Too many alerts from this integration.")
    assert int(throttled.headers["Retry-After"]) > 0
    assert throttled.headers["X-RateLimit-Limit"] == "2"
    # Recovering what is open is never throttled.
    assert _send(org, key, {"message_type": "RECOVERY", "entity_id": "0"}).status_code == 200
    assert sorted(incident["status"] for incident in _incidents(org)) == ["OPEN", "RESOLVED"]
