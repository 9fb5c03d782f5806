"""PagerDuty Events API v2 through HTTP: ``/v2/enqueue`` and ``/v2/change/enqueue`` answer with
PagerDuty's own codes and bodies, and land in the same incidents as ``POST /api/events``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.models import Alert, ChangeEvent
from tocsin.db.session import Database

ENQUEUE = "/v2/enqueue"
CHANGE = "/v2/change/enqueue"
OK = {"summary": "Disk 99% on db-1", "source": "db-1.example.com", "severity": "critical"}
INVALID = {"status": "invalid event", "message": "Event object is invalid"}


def _send(org: OrgHandle, body: Any, path: str = ENQUEUE) -> httpx.Response:
    """No API key: at PagerDuty the routing key in the body is the only credential."""
    return org.client.post(path, json=body)


def _incidents(org: OrgHandle, **params: Any) -> list[dict[str, Any]]:
    response = org.get("/api/incidents", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _trigger(rk: str, dedup_key: str | None = None, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": rk, "event_action": "trigger", "payload": {**OK, **payload}}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    return body


def test_trigger_answers_pagerdutys_202_and_opens_an_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    response = _send(org, _trigger(rk, "srv01/mysql"))
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"}
    [incident] = _incidents(org)
    assert incident["title"] == "Disk 99% on db-1"
    assert incident["status"] == "OPEN"
    assert incident["urgency"] == "HIGH"
    assert incident["severity"] == "critical"
    assert incident["source"] == "db-1.example.com"
    assert incident["dedup_key"] == "srv01/mysql"
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert (timeline[0]["actor_type"], timeline[0]["actor_name"]) == ("api_key", "Events API v2")


def test_the_documented_full_event_keeps_everything(orgs: OrgFactory, database: Database) -> None:
    """The example event of PagerDuty's docs: links go onto the incident; images, client and
    client_url stay in the alert's raw payload; the routing key (a secret) is not stored."""
    org = orgs.new()
    _, rk = org.make_service()
    event = {
        "payload": {
            "summary": "Example alert on host1.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
            "severity": "info",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "deploy",
            "custom_details": {"ping time": "1500ms", "load avg": 0.75},
        },
        "routing_key": rk,
        "dedup_key": "samplekeyhere",
        "images": [
            {"src": "https://example.com/logo.png", "href": "https://example.com/", "alt": "Example text"}
        ],
        "links": [{"href": "https://example.com/", "text": "Link text"}],
        "event_action": "trigger",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com",
    }
    assert _send(org, event).status_code == 202
    [incident] = _incidents(org)
    assert incident["urgency"] == "LOW"
    assert incident["custom_details"] == {"ping time": "1500ms", "load avg": 0.75}
    assert incident["links"] == [{"href": "https://example.com/", "text": "Link text"}]
    with database.read() as session:
        [alert] = session.scalars(select(Alert).where(Alert.incident_id == incident["id"])).all()
        payload = alert.payload
    assert payload["images"] == event["images"]
    assert payload["links"] == event["links"]
    assert payload["client"] == "Sample Monitoring Service"
    assert payload["client_url"] == "https://monitoring.example.com"
    assert payload["payload"]["class"] == "deploy"
    assert "routing_key" not in payload


@pytest.mark.parametrize(
    ("severity", "urgency"), [("critical", "HIGH"), ("error", "HIGH"), ("warning", "MEDIUM"), ("info", "LOW")]
)
def test_severity_sets_urgency_as_the_native_api(orgs: OrgFactory, severity: str, urgency: str) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    assert _send(org, _trigger(rk, severity=severity)).status_code == 202
    [incident] = _incidents(org)
    assert (incident["urgency"], incident["severity"]) == (urgency, severity)


def test_trigger_without_dedup_key_gets_one_back(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    response = _send(org, _trigger(rk))
    assert response.status_code == 202
    dedup_key = response.json()["dedup_key"]
    assert len(dedup_key) >= 16
    assert _incidents(org)[0]["dedup_key"] == dedup_key


def test_two_triggers_one_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    assert [_send(org, _trigger(rk, "same")).status_code for _ in range(2)] == [202, 202]
    [incident] = _incidents(org)
    assert incident["alert_count"] == 2


def test_trigger_acknowledge_resolve_by_dedup_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    assert _send(org, _trigger(rk, "k1")).status_code == 202
    ack = _send(org, {"routing_key": rk, "dedup_key": "k1", "event_action": "acknowledge"})
    assert ack.status_code == 202
    assert ack.json() == {"status": "success", "message": "Event processed", "dedup_key": "k1"}
    assert _incidents(org)[0]["status"] == "ACKNOWLEDGED"
    resolve = _send(org, {"routing_key": rk, "dedup_key": "k1", "event_action": "resolve"})
    assert resolve.status_code == 202
    [incident] = _incidents(org)
    assert incident["status"] == "RESOLVED" and incident["resolved_at"]
    types = [e["type"] for e in org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]]
    assert types == ["triggered", "acknowledged", "resolved"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acting_on_an_unknown_dedup_key_is_accepted_and_ignored(orgs: OrgFactory, action: str) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    response = _send(org, {"routing_key": rk, "dedup_key": "ghost", "event_action": action})
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "ghost"}
    assert _incidents(org) == []


def test_unknown_routing_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = _send(org, _trigger("R0000000000000000000000000000000"))
    assert response.status_code == 400
    assert response.json() == {**INVALID, "errors": ["Invalid routing key"]}


def test_a_non_events_api_integration_key_is_unknown_here(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = org.make_service()
    created = org.post(f"/api/services/{service_id}/integrations", json={"type": "alertmanager"})
    assert created.status_code == 201, created.text
    response = _send(org, _trigger(created.json()["data"]["routing_key"]))
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key"]
    assert _incidents(org) == []


def test_a_test_mode_routing_key_opens_a_test_mode_incident(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    _, rk = test.make_service()
    assert _send(test, _trigger(rk, "tm")).status_code == 202
    assert [i["dedup_key"] for i in _incidents(test)] == ["tm"]
    assert _incidents(live) == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"event_action": "trigger", "payload": OK}, ["'routing_key' is missing or blank"]),
        ({"routing_key": "RK", "payload": OK}, ["'event_action' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "explode", "payload": OK}, ["'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"]),
        ({"routing_key": "RK", "event_action": "Trigger", "payload": OK}, ["'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"]),
        ({"routing_key": "RK", "event_action": "trigger"}, ["'payload' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": "text"}, ["'payload' must be an object"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {"source": "x", "severity": "info"}}, ["'payload.summary' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "summary": "  "}}, ["'payload.summary' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "summary": 5}}, ["'payload.summary' must be a string"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "summary": "s" * 1025}}, ["'payload.summary' is too long (maximum is 1024 characters)"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {"summary": "s", "source": "x"}}, ["'payload.severity' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "severity": "none"}}, ["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "severity": "Critical"}}, ["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "component": 1}}, ["'payload.component' must be a string"]),
        ({"routing_key": "RK", "event_action": "trigger", "dedup_key": "d" * 256, "payload": OK}, ["'dedup_key' is too long (maximum is 255 characters)"]),
        ({"routing_key": "RK", "event_action": "trigger", "dedup_key": 7, "payload": OK}, ["'dedup_key' must be a string"]),
        ({"routing_key": "RK", "event_action": "acknowledge"}, ["'dedup_key' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "resolve", "dedup_key": ""}, ["'dedup_key' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": OK, "links": [{"text": "no href"}]}, ["'links[0].href' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": OK, "links": {"href": "x"}}, ["'links' must be an array"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": OK, "images": [{"alt": "no src"}]}, ["'images[0].src' is missing or blank"]),
        ({"routing_key": "RK", "event_action": "trigger", "payload": OK, "client": ["x"]}, ["'client' must be a string"]),
        (
            {"routing_key": "RK", "event_action": "trigger", "payload": {"summary": ""}},
            ["'payload.summary' is missing or blank", "'payload.source' is missing or blank", "'payload.severity' is missing or blank"],
        ),
    ],
)  # fmt: skip
def test_invalid_events_answer_pagerdutys_400_with_every_error(
    orgs: OrgFactory, body: dict[str, Any], errors: list[str]
) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    body = {k: (rk if v == "RK" else v) for k, v in body.items()}
    response = _send(org, body)
    assert response.status_code == 400, response.text
    assert response.json() == {**INVALID, "errors": errors}
    assert _incidents(org) == []


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"trigger"', b"null"])
def test_malformed_json_is_pagerdutys_unrecognized_object(orgs: OrgFactory, raw: bytes) -> None:
    org = orgs.new()
    for path in (ENQUEUE, CHANGE):
        response = org.client.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == {
            "status": "Unrecognized object",
            "message": "Event object format is unrecognized",
            "errors": ["JSON parse error"],
        }


def test_events_over_512_kb_are_refused(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    big = _trigger(rk, custom_details={"blob": "x" * (512 * 1024)})
    response = _send(org, big)
    assert response.status_code == 413
    assert response.json() == {**INVALID, "errors": ["Event is larger than the 512 KB limit"]}
    just_under = _trigger(rk, custom_details={"blob": "x" * (500 * 1024)})
    assert _send(org, just_under).status_code == 202
    assert len(_incidents(org)) == 1


def test_only_post(orgs: OrgFactory) -> None:
    org = orgs.new()
    assert org.client.get(ENQUEUE).status_code == 405


@pytest.fixture
def limited(db_url: str, database: Database) -> Iterator[OrgFactory]:
    """An app whose integrations may send two alerts a minute."""
    app = create_app(settings_for(db_url, ratelimit_integration="2/minute"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield OrgFactory(database, client)


def test_the_integration_limit_answers_429_with_retry_after(limited: OrgFactory) -> None:
    org = limited.new()
    _, rk = org.make_service()
    codes = [_send(org, _trigger(rk, str(n))).status_code for n in range(3)]
    assert codes == [202, 202, 429]
    throttled = _send(org, _trigger(rk, "x"))
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert throttled.headers["X-RateLimit-Limit"] == "2"
    body = throttled.json()
    assert (body["status"], body["message"]) == ("throttled", "Request Limit Exceeded")
    assert body["errors"][0].startswith("Too many alerts from this integration.")
    # Resolving what is already open is never throttled.
    assert _send(org, {"routing_key": rk, "dedup_key": "0", "event_action": "resolve"}).status_code == 202
    assert len(_incidents(org)) == 2


def test_change_event_is_stored_never_an_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, rk = org.make_service()
    event = {
        "routing_key": rk,
        "payload": {
            "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
            "timestamp": "2020-07-17T08:42:58.315+0000",
            "source": "acme-build-pipeline-tool-default-i-9999",
            "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"},
        },
        "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}],
    }
    response = _send(org, event, CHANGE)
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Change event processed"}
    assert _incidents(org) == []
    listed = org.get(f"/api/services/{service_id}/change-events")
    assert listed.status_code == 200, listed.text
    [change] = listed.json()["data"]
    assert change["id"].startswith("chg_")
    assert change["service_id"] == service_id
    assert change["summary"] == "Build Success: Increase snapshot create timeout to 30 seconds"
    assert change["source"] == "acme-build-pipeline-tool-default-i-9999"
    assert change["timestamp"] == "2020-07-17T08:42:58.315Z"
    assert change["custom_details"] == {"build_state": "passed", "build_number": "2", "run_time": "1236s"}
    assert change["links"] == [
        {"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}
    ]
    assert change["integration_id"].startswith("int_")
    assert change["livemode"] is True
    assert listed.json()["pagination"] == {"total": 1, "limit": 25, "offset": 0, "has_more": False}


def test_change_events_list_newest_first_and_paginates(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, rk = org.make_service()
    other_service, other_rk = org.make_service("Other")
    for summary, at in (
        ("middle", "2024-05-02T00:00:00Z"),
        ("oldest", "2024-05-01T00:00:00Z"),
        ("newest", None),
    ):
        payload = {"summary": summary, **({"timestamp": at} if at else {})}
        assert _send(org, {"routing_key": rk, "payload": payload}, CHANGE).status_code == 202
    assert (
        _send(org, {"routing_key": other_rk, "payload": {"summary": "elsewhere"}}, CHANGE).status_code == 202
    )
    page = org.get(f"/api/services/{service_id}/change-events", params={"limit": 2}).json()
    assert [c["summary"] for c in page["data"]] == ["newest", "middle"]
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 0, "has_more": True}
    rest = org.get(f"/api/services/{service_id}/change-events", params={"limit": 2, "offset": 2}).json()
    assert [c["summary"] for c in rest["data"]] == ["oldest"]
    assert [c["summary"] for c in org.get(f"/api/services/{other_service}/change-events").json()["data"]] == [
        "elsewhere"
    ]


def test_change_events_are_read_with_services_read_and_stay_in_their_org(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    service_id, rk = theirs.make_service()
    assert _send(theirs, {"routing_key": rk, "payload": {"summary": "deploy"}}, CHANGE).status_code == 202
    assert mine.get(f"/api/services/{service_id}/change-events").status_code == 404
    assert theirs.get("/api/services/svc_nope/change-events").status_code == 404
    reader = theirs.make_key(["services:read"])
    assert theirs.get(f"/api/services/{service_id}/change-events", key=reader).status_code == 200
    no_scope = theirs.make_key(["incidents:read"])
    denied = theirs.get(f"/api/services/{service_id}/change-events", key=no_scope)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "FORBIDDEN"
    assert theirs.client.get(f"/api/services/{service_id}/change-events").status_code == 401


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"payload": {"summary": "s"}}, ["'routing_key' is missing or blank"]),
        ({"routing_key": "RK"}, ["'payload' is missing or blank"]),
        ({"routing_key": "RK", "payload": {"source": "ci"}}, ["'payload.summary' is missing or blank"]),
        ({"routing_key": "RK", "payload": {"summary": "s" * 1025}}, ["'payload.summary' is too long (maximum is 1024 characters)"]),
        ({"routing_key": "RK", "payload": {"summary": "s", "timestamp": "yesterday"}}, ["'payload.timestamp' is invalid (must be an ISO 8601 date and time)"]),
        ({"routing_key": "RK", "payload": {"summary": "s"}, "links": [{}]}, ["'links[0].href' is missing or blank"]),
        ({"routing_key": "R0000000000000000000000000000000", "payload": {"summary": "s"}}, ["Invalid routing key"]),
    ],
)  # fmt: skip
def test_invalid_change_events(orgs: OrgFactory, body: dict[str, Any], errors: list[str]) -> None:
    org = orgs.new()
    service_id, rk = org.make_service()
    body = {k: (rk if v == "RK" else v) for k, v in body.items()}
    response = _send(org, body, CHANGE)
    assert response.status_code == 400, response.text
    assert response.json() == {**INVALID, "errors": errors}
    assert org.get(f"/api/services/{service_id}/change-events").json()["data"] == []


def test_deleting_the_service_deletes_its_change_events(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    service_id, rk = org.make_service()
    assert _send(org, {"routing_key": rk, "payload": {"summary": "deploy"}}, CHANGE).status_code == 202
    assert org.delete(f"/api/services/{service_id}").status_code == 204
    assert org.get(f"/api/services/{service_id}/change-events").status_code == 404
    with database.read() as session:
        assert session.scalars(select(ChangeEvent).where(ChangeEvent.service_id == service_id)).all() == []
