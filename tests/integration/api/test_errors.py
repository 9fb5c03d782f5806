"""The error envelope on every error: unknown routes, wrong methods, big bodies, bad JSON, crashes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.errors import expect_error as _envelope
from tests.factories.orgs import OrgFactory
from tocsin.api.app import create_app
from tocsin.db.session import Database


def test_unknown_route_and_wrong_method(orgs: OrgFactory, app_client: TestClient) -> None:
    org = orgs.new()
    _envelope(org.get("/api/nothing-here"), 404, "NOT_FOUND")
    _envelope(app_client.get("/nothing-at-all"), 404, "NOT_FOUND")
    _envelope(org.delete("/api/incidents"), 405, "METHOD_NOT_ALLOWED")
    _envelope(org.get("/api/events"), 405, "METHOD_NOT_ALLOWED")


def test_body_over_the_limit_is_413(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    huge = b'{"routing_key": "' + rk.encode() + b'", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    error = _envelope(
        org.post("/api/events", content=huge, headers={"Content-Type": "application/json"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert error["details"] == {"max_bytes": 1024 * 1024}

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    _envelope(org.post("/api/incidents", content=chunks()), 413, "PAYLOAD_TOO_LARGE")
    assert org.get("/api/incidents").json()["pagination"]["total"] == 0


def test_a_small_chunked_body_still_works(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()

    def chunks() -> Iterator[bytes]:
        yield b'{"title": "chunked", '
        yield b'"service_id": "' + svc.encode() + b'"}'

    response = org.post("/api/incidents", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_malformed_json_is_a_validation_error(orgs: OrgFactory) -> None:
    org = orgs.new()
    error = _envelope(
        org.post("/api/incidents", content=b"{oops", headers={"Content-Type": "application/json"}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "body", "reason": "invalid_json"}
    error = _envelope(org.post("/api/incidents", json=[1, 2]), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": "body", "reason": "invalid_json"}


def test_unexpected_exceptions_are_500_without_a_trace_and_logged(
    db_url: str, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings_for(db_url), database=database)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get("/api/boom", headers={"X-API-Key": "sk_live_whatever"})
        assert response.status_code == 401  # the gate runs first
        from tests.factories.orgs import OrgFactory as Factory

        org = Factory(database, client).new()
        response = org.get("/api/boom")
    error = _envelope(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert error["message"]
    assert any("secret internals" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


def test_no_framework_422_anywhere(orgs: OrgFactory) -> None:
    org = orgs.new()
    for method, path, body in (
        ("POST", "/api/incidents", {"title": None}),
        ("PATCH", "/api/incidents/inc_x", {"urgency": 5}),
        ("POST", "/api/incidents/inc_x/snooze", {"until": 5}),
        ("POST", "/api/keys", {"name": 5}),
    ):
        response = org.request(method, path, json=body)
        assert response.status_code != 422
        assert "detail" not in response.json()


def test_health_endpoints(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "rate_limiter": "ok"}}


def test_metrics_exposes_requests_events_and_incidents(orgs: OrgFactory, app_client: TestClient) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    org.trigger(rk, dedup_key="m")
    text = app_client.get("/metrics").text
    assert 'tocsin_http_requests_total{method="POST",route="/api/events",status="202"}' in text
    assert 'tocsin_events_ingested_total{action="trigger",outcome="created"}' in text
    assert 'tocsin_incidents{livemode="true",status="OPEN"}' in text
    assert "tocsin_http_request_duration_seconds_bucket" in text


def test_openapi_and_docs(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    assert "/api/events" in spec["paths"] and "/api/incidents" in spec["paths"]
    assert spec["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert app_client.get("/docs").status_code == 200


def test_a_value_the_database_cannot_store_is_a_400_not_a_500(orgs: OrgFactory, db_url: str) -> None:
    """PostgreSQL cannot store NUL in text; SQLite can. Either way the client never sees a 500."""
    org = orgs.new()
    response = org.post("/api/teams", json={"name": "Pay\x00ments"})
    if db_url.startswith("postgresql"):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert org.get("/api/teams").json()["pagination"]["total"] == 0
    else:
        assert response.status_code == 201, response.text
