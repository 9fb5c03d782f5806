"""Opsgenie's Alert API through HTTP: ``/v2/alerts`` with a GenieKey answers with Opsgenie's own
codes and bodies and lands in the same incidents as ``POST /api/events``."""

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

ALERTS = "/v2/alerts"
ACCEPTED = "Request will be processed"
NOT_PROCESSABLE = "Request body is not processable. Please check the errors."


def _service(org: OrgHandle, kind: str = "opsgenie", name: str = "Payments") -> tuple[str, str]:
    """A service whose one integration has ``kind``; returns (service_id, key). GenieKeys are UUIDs."""
    key = str(uuid.uuid4())
    with org.database.write() as session:
        service = catalog.create_service(
            session=session,
            tenant=org.tenant,
            now=now(),
            name=f"{name} {key[:8]}",
            integrations=[{"name": "Opsgenie", "type": kind, "routing_key": key}],
        )
        return service.id, key


def _post(
    org: OrgHandle,
    path: str,
    key: str | None,
    body: Any = None,
    *,
    content: bytes | None = None,
    identifierType: str | None = None,  # Opsgenie's query parameter
) -> httpx.Response:
    headers = {"Authorization": f"GenieKey {key}"} if key is not None else {}
    params = {"identifierType": identifierType} if identifierType is not None else {}
    if content is not None:
        return org.client.post(path, headers=headers, content=content, params=params)
    return org.client.post(path, headers=headers, json=body, params=params)


def _incidents(org: OrgHandle, **params: Any) -> list[dict[str, Any]]:
    response = org.get("/api/incidents", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _notes(org: OrgHandle, incident_id: str) -> list[dict[str, Any]]:
    return list(org.get(f"/api/incidents/{incident_id}/notes").json()["data"])


def _expect(response: httpx.Response, status: int, **fields: Any) -> dict[str, Any]:
    """Opsgenie's envelope: the given fields, ``took`` (seconds, a number) and a UUID ``requestId``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {*fields, "took", "requestId"}
    assert {name: body[name] for name in fields} == fields
    assert isinstance(body["took"], float) and 0 < body["took"] < 60
    assert str(uuid.UUID(body["requestId"])) == body["requestId"]
    assert uuid.UUID(response.headers["X-Request-Id"]) == uuid.UUID(body["requestId"])
    assert float(response.headers["X-Response-Time"]) == body["took"]
    return body


def test_create_answers_opsgenies_202_and_opens_an_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, key = _service(org)
    alert = {
        "message": "An example alert message",
        "alias": "Life is too short for no alias",
        "description": "Every alert needs a description",
        "responders": [{"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "type": "team"}],
        "visibleTo": [{"name": "rocket_team", "type": "team"}],
        "actions": ["Restart", "AnExampleAction"],
        "tags": ["OverwriteQuietHours", "Critical"],
        "details": {"key1": "value1", "key2": "value2"},
        "entity": "An example entity",
        "priority": "P1",
        "source": "Nagios",
        "user": "Monitoring Script",
    }
    response = _post(org, ALERTS, key, alert)
    _expect(response, 202, result=ACCEPTED)
    assert response.headers["X-RateLimit-State"] == "OK"
    [incident] = _incidents(org)
    assert incident["service_id"] == service_id
    assert incident["title"] == "An example alert message"
    assert incident["description"] == "Every alert needs a description"
    assert incident["dedup_key"] == "Life is too short for no alias"
    assert (incident["priority"], incident["urgency"], incident["severity"]) == ("P1", "HIGH", "critical")
    assert incident["source"] == "Nagios"
    assert incident["custom_details"] == {"key1": "value1", "key2": "value2"}
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert timeline[0]["actor_name"] == "Monitoring Script via Opsgenie"


def test_the_whole_request_stays_on_the_alert(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    _, key = _service(org)
    body = {"message": "m", "tags": ["a"], "entity": "web-01", "actions": ["Restart"], "details": {"n": 3}}
    assert _post(org, ALERTS, key, body).status_code == 202
    [incident] = _incidents(org)
    assert incident["custom_details"] == {"n": "3"}  # Opsgenie's details are strings
    with database.read() as session:
        [alert] = session.scalars(select(Alert).where(Alert.incident_id == incident["id"])).all()
        assert alert.payload == body


@pytest.mark.parametrize(
    ("priority", "urgency", "severity"),
    [
        ("P1", "HIGH", "critical"),
        ("P2", "HIGH", "critical"),
        ("P3", "MEDIUM", "warning"),
        ("P4", "LOW", "info"),
        ("P5", "LOW", "info"),
        (None, "MEDIUM", "warning"),
        ("", "MEDIUM", "warning"),
        ("p4", "LOW", "info"),
    ],
)
def test_priority_sets_urgency_and_is_kept(
    orgs: OrgFactory, priority: str | None, urgency: str, severity: str
) -> None:
    org = orgs.new()
    _, key = _service(org)
    body: dict[str, Any] = {"message": "Disk full"}
    if priority is not None:
        body["priority"] = priority
    assert _post(org, ALERTS, key, body).status_code == 202
    [incident] = _incidents(org)
    assert incident["priority"] == (priority or "P3").upper()
    assert (incident["urgency"], incident["severity"]) == (urgency, severity)


def test_one_alias_one_incident_and_the_create_note_is_added_once(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    for _ in range(3):
        body = {"message": "CPU high", "alias": "cpu-web-01", "note": "first seen by the script"}
        _expect(_post(org, ALERTS, key, body), 202, result=ACCEPTED)
    [incident] = _incidents(org)
    assert incident["alert_count"] == 3
    [note] = _notes(org, incident["id"])
    assert note["content"] == "first seen by the script"
    assert note["author_name"] == "Opsgenie"


def test_without_an_alias_nothing_is_deduplicated(orgs: OrgFactory) -> None:
    """Opsgenie gives an alias-less alert a unique alias of its own."""
    org = orgs.new()
    _, key = _service(org)
    for _ in range(2):
        assert _post(org, ALERTS, key, {"message": "Same text"}).status_code == 202
    incidents = _incidents(org)
    assert len(incidents) == 2
    assert len({incident["dedup_key"] for incident in incidents}) == 2


def test_create_acknowledge_close_by_alias(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "Queue backlog", "alias": "queue/backlog"}).status_code == 202
    ack = _post(
        org,
        f"{ALERTS}/queue/backlog/acknowledge",
        key,
        {"user": "alice", "note": "on it"},
        identifierType="alias",
    )
    _expect(ack, 202, result=ACCEPTED)
    [incident] = _incidents(org)
    assert incident["status"] == "ACKNOWLEDGED"
    close = _post(org, f"{ALERTS}/queue/backlog/close", key, {"source": "script"}, identifierType="alias")
    _expect(close, 202, result=ACCEPTED)
    [incident] = _incidents(org)
    assert incident["status"] == "RESOLVED"
    [note] = _notes(org, incident["id"])
    assert (note["content"], note["author_name"]) == ("on it", "alice via Opsgenie")
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert [(entry["type"], entry["actor_name"]) for entry in timeline if entry["type"] != "note_added"][
        :3
    ] == [
        ("triggered", "Opsgenie"),
        ("acknowledged", "alice via Opsgenie"),
        ("resolved", "Opsgenie"),
    ]


def test_id_is_the_incident_id_and_is_the_default(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "m", "alias": "a"}).status_code == 202
    [incident] = _incidents(org)
    assert _post(org, f"{ALERTS}/{incident['id']}/acknowledge", key).status_code == 202
    assert _incidents(org)[0]["status"] == "ACKNOWLEDGED"
    response = _post(org, f"{ALERTS}/{incident['id']}/close", key, {"note": "fixed"}, identifierType="id")
    _expect(response, 202, result=ACCEPTED)
    assert _incidents(org)[0]["status"] == "RESOLVED"
    assert [note["content"] for note in _notes(org, incident["id"])] == ["fixed"]


def test_tiny_is_the_incident_number(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    for alias in ("one", "two"):
        assert _post(org, ALERTS, key, {"message": alias, "alias": alias}).status_code == 202
    assert _post(org, f"{ALERTS}/2/close", key, identifierType="tiny").status_code == 202
    statuses = {incident["number"]: incident["status"] for incident in _incidents(org)}
    assert statuses == {1: "OPEN", 2: "RESOLVED"}


def test_only_open_incidents_of_the_integrations_service_are_acted_on(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    _, other_key = _service(org, name="Other")
    assert _post(org, ALERTS, other_key, {"message": "elsewhere", "alias": "x"}).status_code == 202
    [theirs] = _incidents(org)
    for path, params in (
        (f"{ALERTS}/{theirs['id']}/close", {}),
        (f"{ALERTS}/{theirs['number']}/close", {"identifierType": "tiny"}),
        (f"{ALERTS}/x/close", {"identifierType": "alias"}),
        (f"{ALERTS}/{theirs['id']}/notes", {}),
    ):
        _expect(
            _post(org, path, key, {"note": "n"}, identifierType=params.get("identifierType")),
            202,
            result=ACCEPTED,
        )
    [theirs] = _incidents(org)
    assert theirs["status"] == "OPEN"
    assert _notes(org, theirs["id"]) == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"{ALERTS}/no-such-alias/close", {"identifierType": "alias"}),
        (f"{ALERTS}/no-such-alias/acknowledge", {"identifierType": "alias"}),
        (f"{ALERTS}/no-such-alias/notes", {"identifierType": "alias"}),
        (f"{ALERTS}/inc_01J000000000000000000000/close", {}),
        (f"{ALERTS}/4242/acknowledge", {"identifierType": "tiny"}),
        (f"{ALERTS}/not-a-number/close", {"identifierType": "tiny"}),
        (f"{ALERTS}/42/close", {"identifierType": "id"}),
        (f"{ALERTS}/99999999999999999999/close", {"identifierType": "tiny"}),
        (f"{ALERTS}/²/close", {"identifierType": "tiny"}),
        (f"{ALERTS}/²/close", {}),
    ],
)
def test_unknown_identifiers_are_accepted_and_ignored(
    orgs: OrgFactory, path: str, params: dict[str, str]
) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "m", "alias": "known"}).status_code == 202
    _expect(
        _post(org, path, key, {"note": "n"}, identifierType=params.get("identifierType")),
        202,
        result=ACCEPTED,
    )
    [incident] = _incidents(org)
    assert incident["status"] == "OPEN"
    assert _notes(org, incident["id"]) == []


def test_resolved_incidents_are_not_acted_on_by_id(orgs: OrgFactory) -> None:
    """Closing #1 again must not close #2, the incident that reused its alias."""
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "m", "alias": "flappy"}).status_code == 202
    assert _post(org, f"{ALERTS}/flappy/close", key, identifierType="alias").status_code == 202
    assert _post(org, ALERTS, key, {"message": "m", "alias": "flappy"}).status_code == 202
    assert _post(org, f"{ALERTS}/1/acknowledge", key, identifierType="tiny").status_code == 202
    statuses = {incident["number"]: incident["status"] for incident in _incidents(org)}
    assert statuses == {1: "RESOLVED", 2: "OPEN"}


def test_notes(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "m", "alias": "n"}).status_code == 202
    [incident] = _incidents(org)
    response = _post(
        org,
        f"{ALERTS}/n/notes",
        key,
        {"note": "Rolled back", "user": "bob", "source": "chat"},
        identifierType="alias",
    )
    _expect(response, 202, result=ACCEPTED)
    long_note = _post(
        org, f"{ALERTS}/{incident['number']}/notes", key, {"note": "x" * 20_000}, identifierType="tiny"
    )
    assert long_note.status_code == 202
    [first, second] = _notes(org, incident["id"])
    assert (first["content"], first["author_name"]) == ("Rolled back", "bob via Opsgenie")
    assert len(second["content"]) == 10_000 and second["content"].endswith("…")  # Tocsin keeps 10,000
    empty = _post(org, f"{ALERTS}/n/notes", key, {"note": " "}, identifierType="alias")
    _expect(empty, 422, message=NOT_PROCESSABLE, errors={"note": "Note can not be empty."})
    missing = _post(org, f"{ALERTS}/n/notes", key, {}, identifierType="alias")
    _expect(missing, 422, message=NOT_PROCESSABLE, errors={"note": "Note can not be empty."})
    too_long = _post(org, f"{ALERTS}/n/notes", key, {"note": "x" * 25_001}, identifierType="alias")
    _expect(
        too_long,
        422,
        message=NOT_PROCESSABLE,
        errors={"note": "note can not be longer than 25000 characters"},
    )


def test_update_message_and_description_as_alertmanagers_update_alerts(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "Old", "alias": "am", "description": "old"}).status_code == 202
    headers = {"Authorization": f"GenieKey {key}"}
    params = {"identifierType": "alias"}
    message = org.client.put(f"{ALERTS}/am/message", headers=headers, params=params, json={"message": "New"})
    _expect(message, 202, result=ACCEPTED)
    description = org.client.put(
        f"{ALERTS}/am/description", headers=headers, params=params, json={"description": "new"}
    )
    _expect(description, 202, result=ACCEPTED)
    [incident] = _incidents(org)
    assert (incident["title"], incident["description"]) == ("New", "new")
    unknown = org.client.put(f"{ALERTS}/nope/message", headers=headers, params=params, json={"message": "X"})
    _expect(unknown, 202, result=ACCEPTED)
    empty = org.client.put(f"{ALERTS}/am/message", headers=headers, params=params, json={})
    _expect(empty, 422, message=NOT_PROCESSABLE, errors={"message": "Message can not be empty."})
    long = org.client.put(f"{ALERTS}/am/message", headers=headers, params=params, json={"message": "m" * 131})
    _expect(
        long,
        422,
        message=NOT_PROCESSABLE,
        errors={"message": "message can not be longer than 130 characters"},
    )
    assert _incidents(org)[0]["title"] == "New"


def test_an_alias_longer_than_a_dedup_key_is_hashed_and_still_works(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    alias = "a" * 512
    assert _post(org, ALERTS, key, {"message": "m", "alias": alias}).status_code == 202
    assert _post(org, ALERTS, key, {"message": "m", "alias": alias}).status_code == 202
    [incident] = _incidents(org)
    assert incident["dedup_key"] == "sha256:" + hashlib.sha256(alias.encode()).hexdigest()
    assert incident["alert_count"] == 2
    assert _post(org, f"{ALERTS}/{alias}/close", key, identifierType="alias").status_code == 202
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_message_of_130_characters_is_taken_and_description_is_cut_at_15000(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    body = {"message": "é" * 130, "description": "d" * 20_000}
    assert _post(org, ALERTS, key, body).status_code == 202
    [incident] = _incidents(org)
    assert incident["title"] == "é" * 130
    assert len(incident["description"]) == 15_000


def test_source_defaults_to_the_callers_address(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "m"}).status_code == 202
    assert _incidents(org)[0]["source"] == "testclient"


def test_what_alertmanager_sends(orgs: OrgFactory) -> None:
    """The bodies of Alertmanager's opsgenie notifier: string details, an empty description left out,
    the group key's hash as alias, and close by alias with only ``source``."""
    org = orgs.new()
    _, key = _service(org)
    alias = hashlib.sha256(b'{}:{alertname="DiskFull"}').hexdigest()
    firing = {
        "alias": alias,
        "message": "[FIRING:1] DiskFull (db-1 critical)",
        "description": "Alerts Firing:\nLabels:\n - alertname = DiskFull\n",
        "details": {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"},
        "source": "http://alertmanager:9093/#/alerts?receiver=ops",
        "tags": ["db", "prod"],
        "priority": "P2",
    }
    assert _post(org, ALERTS, key, firing).status_code == 202
    assert _post(org, ALERTS, key, firing).status_code == 202  # repeat_interval: same alias
    resolved = _post(
        org, f"{ALERTS}/{alias}/close", key, {"source": firing["source"]}, identifierType="alias"
    )
    _expect(resolved, 202, result=ACCEPTED)
    [incident] = _incidents(org)
    assert (incident["status"], incident["alert_count"], incident["urgency"]) == ("RESOLVED", 2, "HIGH")
    assert incident["custom_details"] == firing["details"]


def test_missing_or_unknown_genie_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    _service(org)
    for path in (ALERTS, f"{ALERTS}/x/close"):
        for headers in ({}, {"Authorization": "Bearer " + org.key}, {"Authorization": "GenieKey "}):
            response = org.client.post(path, headers=headers, json={"message": "m"})
            _expect(response, 401, message="Could not authenticate")
        response = _post(org, path, str(uuid.uuid4()), {"message": "m"})
        _expect(response, 401, message="Could not authenticate")
        response = _post(org, path, "not a key!", {"message": "m"})
        _expect(response, 422, message="Key format is not valid!")
    assert _incidents(org) == []


def test_the_key_of_another_integration_type_is_forbidden(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org, kind="events_api_v2")
    response = _post(org, ALERTS, key, {"message": "m"})
    body = _expect(response, 403, code=40301, message=response.json()["message"])
    assert "integration of type opsgenie" in body["message"]
    assert _incidents(org) == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff"])
def test_malformed_json_is_400(orgs: OrgFactory, raw: bytes) -> None:
    org = orgs.new()
    _, key = _service(org)
    for path in (ALERTS, f"{ALERTS}/x/close", f"{ALERTS}/x/notes"):
        response = _post(org, path, key, content=raw)
        body = _expect(response, 400, message=response.json()["message"])
        assert body["message"].startswith("Invalid JSON body")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"message": "Message can not be empty."}),
        ({"message": "   "}, {"message": "Message can not be empty."}),
        ({"message": "m" * 131}, {"message": "message can not be longer than 130 characters"}),
        ({"message": 5}, {"message": "message must be a string"}),
        ({"message": "m", "alias": "a" * 513}, {"alias": "alias can not be longer than 512 characters"}),
        ({"message": "m", "alias": ["a"]}, {"alias": "alias must be a string"}),
        ({"message": "m", "priority": "P9"}, {"priority": "Priority should be one of P1, P2, P3, P4, P5"}),
        ({"message": "m", "priority": 1}, {"priority": "priority must be a string"}),
        ({"message": "m", "description": {"a": 1}}, {"description": "description must be a string"}),
        ({"message": "m", "tags": "a,b"}, {"tags": "tags must be a list of strings"}),
        ({"message": "m", "tags": ["a", 1]}, {"tags": "tags must be a list of strings"}),
        ({"message": "m", "actions": [None]}, {"actions": "actions must be a list of strings"}),
        ({"message": "m", "details": ["a"]}, {"details": "details must be an object of string values"}),
        ({"message": "m", "details": {"a": {"b": 1}}}, {"details#a": "details values must be strings"}),
        (
            {"message": "m", "responders": [{"type": "bb"}]},
            {"responders#type": "Invalid recipient type 'bb'"},
        ),
        (
            {"message": "m", "responders": {"type": "team"}},
            {"responders": "responders must be a list of objects"},
        ),
        ({"message": "m", "note": "n" * 25_001}, {"note": "note can not be longer than 25000 characters"}),
        (
            {"message": 1, "priority": "P0", "source": 2},
            {
                "message": "message must be a string",
                "priority": "Priority should be one of P1, P2, P3, P4, P5",
                "source": "source must be a string",
            },
        ),
    ],
)
def test_invalid_alerts_are_422_with_the_errors_map(
    orgs: OrgFactory, body: dict[str, Any], errors: dict[str, str]
) -> None:
    org = orgs.new()
    _, key = _service(org)
    _expect(_post(org, ALERTS, key, body), 422, message=NOT_PROCESSABLE, errors=errors)
    assert _incidents(org) == []


@pytest.mark.parametrize(
    ("body", "params", "errors"),
    [
        ({"user": 1}, {"identifierType": "alias"}, {"user": "user must be a string"}),
        ({"note": ["x"]}, {}, {"note": "note must be a string"}),
        ({}, {"identifierType": "name"}, {"identifierType": "identifierType must be one of id, alias, tiny"}),
    ],
)
def test_invalid_actions_are_422(
    orgs: OrgFactory, body: dict[str, Any], params: dict[str, str], errors: dict[str, str]
) -> None:
    org = orgs.new()
    _, key = _service(org)
    assert _post(org, ALERTS, key, {"message": "m", "alias": "x"}).status_code == 202
    for action in ("acknowledge", "close"):
        response = _post(org, f"{ALERTS}/x/{action}", key, body, identifierType=params.get("identifierType"))
        _expect(response, 422, message=NOT_PROCESSABLE, errors=errors)
    assert _incidents(org)[0]["status"] == "OPEN"


def test_bodies_over_512_kb_are_refused(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    big = {"message": "m", "details": {"blob": "x" * (512 * 1024)}}
    response = _post(org, ALERTS, key, big)
    _expect(response, 413, message="Request body is larger than the 512 KB limit")
    assert _incidents(org) == []


def test_a_test_mode_key_opens_a_test_mode_incident(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    _, key = _service(test)
    assert _post(test, ALERTS, key, {"message": "m", "alias": "tm"}).status_code == 202
    assert [incident["dedup_key"] for incident in _incidents(test)] == ["tm"]
    assert _incidents(live) == []


def test_only_post(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = _service(org)
    response = org.client.get(ALERTS, headers={"Authorization": f"GenieKey {key}"})
    assert response.status_code == 405


@pytest.fixture
def limited(db_url: str, database: Database) -> Iterator[OrgFactory]:
    """An app whose integrations may send two alerts a minute."""
    app = create_app(settings_for(db_url, ratelimit_integration="2/minute"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield OrgFactory(database, client)


def test_the_alert_limit_answers_opsgenies_429(limited: OrgFactory) -> None:
    org = limited.new()
    _, key = _service(org)
    codes = [_post(org, ALERTS, key, {"message": "m", "alias": str(n)}).status_code for n in range(3)]
    assert codes == [202, 202, 429]
    throttled = _post(org, ALERTS, key, {"message": "m", "alias": "x"})
    body = _expect(throttled, 429, message=throttled.json()["message"])
    assert body["message"].startswith(
        "You are making too many requests! Too many alerts from this integration."
    )
    assert int(throttled.headers["Retry-After"]) > 0
    assert throttled.headers["X-RateLimit-Limit"] == "2"
    assert throttled.headers["X-RateLimit-State"] == "THROTTLED"
    # Closing what is open is never throttled.
    assert _post(org, f"{ALERTS}/0/close", key, identifierType="alias").status_code == 202
    assert sorted(incident["status"] for incident in _incidents(org)) == ["OPEN", "RESOLVED"]
