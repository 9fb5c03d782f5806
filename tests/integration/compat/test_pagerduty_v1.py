"""PagerDuty Events API v1 through HTTP: ``/generic/2010-04-15/create_event.json`` answers 200 with
``incident_key``, PagerDuty v1's error bodies, and 403 when throttled (as v1 does)."""

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
from tocsin.db.models import Alert
from tocsin.db.session import Database

V1 = "/generic/2010-04-15/create_event.json"
INVALID = {"status": "invalid event", "message": "Event object is invalid"}


def _send(org: OrgHandle, body: Any) -> httpx.Response:
    return org.client.post(V1, json=body)


def _incidents(org: OrgHandle) -> list[dict[str, Any]]:
    response = org.get("/api/incidents")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_trigger_acknowledge_resolve(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = org.make_service()
    trigger = {
        "service_key": key,
        "incident_key": "srv01/HTTP",
        "event_type": "trigger",
        "description": "FAILURE for production/HTTP on machine srv01.acme.com",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
        "details": {"ping time": "1500ms", "load avg": 0.75},
        "contexts": [
            {"type": "link", "href": "http://acme.pagerduty.com", "text": "View in custom tool"},
            {"type": "image", "src": "https://chart.example.com/chart.png"},
        ],
    }
    response = _send(org, trigger)
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "incident_key": "srv01/HTTP",
    }
    [incident] = _incidents(org)
    assert incident["title"] == "FAILURE for production/HTTP on machine srv01.acme.com"
    assert incident["dedup_key"] == "srv01/HTTP"
    assert incident["urgency"] == "HIGH"  # v1 has no severity
    assert incident["severity"] is None
    assert incident["source"] == "Sample Monitoring Service"
    assert incident["custom_details"] == {"ping time": "1500ms", "load avg": 0.75}
    assert incident["links"] == [{"href": "http://acme.pagerduty.com", "text": "View in custom tool"}]
    for action, status in (("acknowledge", "ACKNOWLEDGED"), ("resolve", "RESOLVED")):
        body = {"service_key": key, "event_type": action, "incident_key": "srv01/HTTP"}
        answer = _send(org, body)
        assert answer.status_code == 200
        assert answer.json() == {
            "status": "success",
            "message": "Event processed",
            "incident_key": "srv01/HTTP",
        }
        assert _incidents(org)[0]["status"] == status


def test_the_raw_event_is_kept_without_the_service_key(orgs: OrgFactory, database: Database) -> None:
    org = orgs.new()
    _, key = org.make_service()
    contexts = [{"type": "image", "src": "https://chart.example.com/chart.png"}]
    body = {"service_key": key, "event_type": "trigger", "description": "d", "contexts": contexts}
    assert _send(org, body).status_code == 200
    with database.read() as session:
        [alert] = session.scalars(select(Alert).where(Alert.incident_id == _incidents(org)[0]["id"])).all()
    assert alert.payload == {"event_type": "trigger", "description": "d", "contexts": contexts}


def test_trigger_without_incident_key_gets_one_and_repeats_dedup(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = org.make_service()
    first = _send(org, {"service_key": key, "event_type": "trigger", "description": "down"})
    assert first.status_code == 200
    incident_key = first.json()["incident_key"]
    assert len(incident_key) >= 16
    again = {"service_key": key, "event_type": "trigger", "description": "down", "incident_key": incident_key}
    assert _send(org, again).json()["incident_key"] == incident_key
    [incident] = _incidents(org)
    assert incident["alert_count"] == 2


def test_resolving_an_unknown_incident_key_is_accepted(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = org.make_service()
    response = _send(org, {"service_key": key, "event_type": "resolve", "incident_key": "ghost"})
    assert response.status_code == 200
    assert response.json()["incident_key"] == "ghost"
    assert _incidents(org) == []


def test_unknown_service_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = _send(
        org, {"service_key": "e93facc04764012d7bfb002500d5d1a6", "event_type": "trigger", "description": "d"}
    )
    assert response.status_code == 400
    assert response.json() == {**INVALID, "errors": ["Invalid service key"]}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"event_type": "trigger", "description": "d"}, ["Service key is missing or blank"]),
        ({"service_key": "KEY", "description": "d"}, ["Event type is missing or blank"]),
        ({"service_key": "KEY", "event_type": "explode", "description": "d"}, ["event_type is invalid (must be one of: trigger acknowledge resolve)"]),
        ({"service_key": "KEY", "event_type": "trigger"}, ["Description is missing or blank"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": ""}, ["Description is missing or blank"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": 3}, ["Description must be a string"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": "d" * 1025}, ["Description is too long (maximum is 1024 characters)"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": "d", "incident_key": "k" * 256}, ["Incident key is too long (maximum is 255 characters)"]),
        ({"service_key": "KEY", "event_type": "acknowledge"}, ["Incident key is missing or blank"]),
        ({"service_key": "KEY", "event_type": "resolve", "incident_key": " "}, ["Incident key is missing or blank"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": "d", "contexts": [{"type": "link"}]}, ["contexts[0].href is missing or blank"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": "d", "contexts": [{"type": "image"}]}, ["contexts[0].src is missing or blank"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": "d", "contexts": [{"href": "x"}]}, ["contexts[0].type is invalid (must be one of: link image)"]),
        ({"service_key": "KEY", "event_type": "trigger", "description": "d", "contexts": "x"}, ["Contexts must be an array"]),
        ({"service_key": "KEY"}, ["Event type is missing or blank"]),
    ],
)  # fmt: skip
def test_invalid_events(orgs: OrgFactory, body: dict[str, Any], errors: list[str]) -> None:
    org = orgs.new()
    _, key = org.make_service()
    body = {k: (key if v == "KEY" else v) for k, v in body.items()}
    response = _send(org, body)
    assert response.status_code == 400, response.text
    assert response.json() == {**INVALID, "errors": errors}
    assert _incidents(org) == []


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]"])
def test_malformed_json(orgs: OrgFactory, raw: bytes) -> None:
    org = orgs.new()
    response = org.client.post(V1, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "status": "unrecognized object",
        "message": "Event object format is unrecognized",
        "errors": ["JSON parse error"],
    }


def test_events_over_512_kb_are_refused(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, key = org.make_service()
    body = {"service_key": key, "event_type": "trigger", "description": "d", "details": {"x": "y" * 600_000}}
    response = _send(org, body)
    assert response.status_code == 413
    assert response.json() == {**INVALID, "errors": ["Event is larger than the 512 KB limit"]}


@pytest.fixture
def limited(db_url: str, database: Database) -> Iterator[OrgFactory]:
    app = create_app(settings_for(db_url, ratelimit_integration="1/minute"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield OrgFactory(database, client)


def test_throttled_is_403_as_pagerduty_v1(limited: OrgFactory) -> None:
    org = limited.new()
    _, key = org.make_service()
    codes = [
        _send(
            org, {"service_key": key, "event_type": "trigger", "description": "d", "incident_key": str(n)}
        ).status_code
        for n in range(2)
    ]
    assert codes == [200, 403]
    throttled = _send(org, {"service_key": key, "event_type": "trigger", "description": "d"})
    assert throttled.status_code == 403
    assert int(throttled.headers["Retry-After"]) > 0
    assert throttled.json()["message"] == "Request Limit Exceeded"
