"""``POST /api/events`` goes through ``api.ingest.fastlane``, ahead of the generic middleware: what that
stack gives every other route (request ids, rate-limit headers, body limit, metrics, usage tally,
the envelope for crashes) must hold on the lane too."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory
from tocsin.api.app import create_app
from tocsin.db.session import Database

LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
OK = {"summary": "s", "severity": "info", "source": "x"}


def _event(rk: str, **extra: Any) -> dict[str, Any]:
    return {"routing_key": rk, "event_action": "trigger", "payload": OK, **extra}


def test_request_id_is_echoed_or_made(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    sent = org.post("/api/events", json=_event(rk), headers={"X-Request-Id": "req-42"})
    assert sent.status_code == 202 and sent.headers["X-Request-Id"] == "req-42"
    made = {org.post("/api/events", json=_event(rk)).headers["X-Request-Id"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made)
    refused = org.post("/api/events", key="sk_live_nope", json=_event(rk))
    assert refused.status_code == 401 and re.fullmatch(r"[0-9a-f]{32}", refused.headers["X-Request-Id"])


def test_every_answer_carries_the_events_limit(orgs: OrgFactory, app_client: TestClient) -> None:
    org = orgs.new(rate_limits={"events": "50/minute"})
    _, rk = org.make_service()
    first = org.post("/api/events", json=_event(rk))
    second = org.post("/api/events", json={"routing_key": rk, "event_action": "explode"})
    assert (first.status_code, second.status_code) == (202, 400)
    for response in (first, second):
        assert all(name in response.headers for name in LIMIT_HEADERS)
        assert response.headers["X-RateLimit-Limit"] == "50"
        assert response.headers["Content-Type"] == "application/json"
    assert int(first.headers["X-RateLimit-Remaining"]) > int(second.headers["X-RateLimit-Remaining"])
    anonymous = app_client.post("/api/events", json=_event(rk))
    assert anonymous.status_code == 401 and all(name in anonymous.headers for name in LIMIT_HEADERS)
    assert anonymous.json()["error"] == {
        "code": "UNAUTHORIZED",
        "message": "Missing API key: send Authorization: Bearer sk_...",
        "details": {},
    }


def test_a_streamed_body_over_the_limit_is_413(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()

    def chunks() -> Iterator[bytes]:
        yield b'{"routing_key": "' + rk.encode() + b'", "pad": "'
        for _ in range(20):
            yield b"x" * 65536

    response = org.post("/api/events", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"max_bytes": 1024 * 1024}
    assert org.get("/api/incidents").json()["pagination"]["total"] == 0


def test_a_small_streamed_event_is_accepted(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()

    def chunks() -> Iterator[bytes]:
        yield b'{"routing_key": "' + rk.encode() + b'", "event_action": "trigger", '
        yield b'"payload": {"summary": "s", "severity": "info", "source": "x"}}'

    response = org.post("/api/events", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


def test_metrics_and_usage_count_lane_requests(orgs: OrgFactory, app_client: TestClient) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    key = org.make_key(["events:write"], name="alertmanager")
    for _ in range(2):
        assert org.post("/api/events", key=key, json=_event(rk)).status_code == 202
    assert org.post("/api/events", key=key, json={"routing_key": rk}).status_code == 400
    text = app_client.get("/metrics").text
    assert 'tocsin_http_requests_total{method="POST",route="/api/events",status="400"}' in text
    app_client.app.state.usage.flush()  # type: ignore[attr-defined]
    listed = {k["name"]: k for k in org.get("/api/keys").json()["data"]}
    assert listed["alertmanager"]["call_count"] == 3


def test_other_methods_and_paths_still_reach_the_app(orgs: OrgFactory) -> None:
    org = orgs.new()
    assert org.get("/api/events").status_code == 405
    assert org.request("PUT", "/api/events", json={}).status_code == 405
    assert org.post("/api/events/extra", json={}).status_code == 404


def test_a_crash_is_a_logged_500_envelope(
    db_url: str, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings_for(db_url), database=database)

    class Broken:
        async def resolve(self, routing_key: str) -> None:
            raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        org = OrgFactory(database, client).new()
        _, rk = org.make_service()
        app.state.routes = Broken()
        response = org.post("/api/events", json=_event(rk))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in response.text
    assert all(name in response.headers for name in (*LIMIT_HEADERS, "X-Request-Id"))
    assert any("secret internals" in (r.exc_text or str(r.exc_info)) for r in caplog.records)
