"""A body over ``TOCSIN_MAX_BODY_BYTES`` is refused before any route reads it, and each URL space
answers in the shape its senders' clients read (``api.oversize``): PagerDuty's invalid-event body,
Opsgenie's message with ``took`` and ``requestId``, VictorOps' failure, Grafana OnCall's plain
text on its integration URLs and ``{"detail"}`` on its API, Splunk's ``{"error"}``, and the native
envelope everywhere else. Declared and streamed (chunked) bodies alike; nothing is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory
from tocsin.api.app import create_app
from tocsin.db.session import Database

LIMIT = 4096
MESSAGE = f"Request body is larger than {LIMIT} bytes"


@pytest.fixture
def small(db_url: str, database: Database) -> Iterator[TestClient]:
    """An app whose server-wide limit is below every dialect's own (512 KB)."""
    with TestClient(create_app(settings_for(db_url, max_body_bytes=LIMIT), database=database)) as client:
        yield client


def _huge(declared: bool) -> dict[str, Any]:
    body = b'{"pad": "' + b"x" * (LIMIT + 1) + b'"}'
    if declared:
        return {"content": body, "headers": {"Content-Type": "application/json"}}

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    return {"content": chunks(), "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    "path", ["/v2/enqueue", "/v2/change/enqueue", "/generic/2010-04-15/create_event.json"]
)
def test_pagerduty_urls_answer_as_pagerduty(small: TestClient, path: str, declared: bool) -> None:
    response = small.post(path, **_huge(declared))
    assert response.status_code == 413
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [MESSAGE],
    }


@pytest.mark.parametrize("path", ["/v2/alerts", "/v2/alerts/some-alias/close"])
def test_opsgenie_urls_answer_as_opsgenie(small: TestClient, path: str) -> None:
    request = _huge(True)
    request["headers"]["X-Request-Id"] = "0f8fad5b-d9cb-469f-a165-70867728950e"
    response = small.post(path, **request)
    assert response.status_code == 413
    body = response.json()
    assert body["message"] == MESSAGE and isinstance(body["took"], float)
    assert body["requestId"] == "0f8fad5b-d9cb-469f-a165-70867728950e"  # the request's own id
    assert response.headers["X-Response-Time"] and response.headers["X-RateLimit-State"] == "OK"


def test_splunk_rest_urls_answer_as_victorops(small: TestClient) -> None:
    response = small.post("/integrations/generic/20131114/alert/key/routing", **_huge(False))
    assert response.status_code == 413
    assert response.json() == {"result": "failure", "message": MESSAGE}


def test_grafana_integration_urls_answer_in_plain_text(small: TestClient) -> None:
    response = small.post("/integrations/v1/alertmanager/token/", **_huge(True))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html") and response.text == MESSAGE


def test_foreign_apis_answer_in_their_dialect(small: TestClient) -> None:
    grafana = small.post("/api/v1/integrations/", **_huge(True))
    assert (grafana.status_code, grafana.json()) == (413, {"detail": MESSAGE})
    splunk = small.post("/api-public/v1/incidents", **_huge(True))
    assert (splunk.status_code, splunk.json()) == (413, {"error": MESSAGE})


@pytest.mark.parametrize("path", ["/api/incidents", "/api/events", "/integrations/twilio/sms", "/v2/alertsx"])
def test_everything_else_gets_the_native_envelope(small: TestClient, path: str) -> None:
    response = small.post(path, **_huge(True))
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "PAYLOAD_TOO_LARGE", "message": MESSAGE, "details": {"max_bytes": LIMIT}}
    }


def test_a_refused_body_records_nothing(orgs: OrgFactory, small: TestClient) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {"summary": "x" * LIMIT, "severity": "critical", "source": "db-1"},
    }
    assert small.post("/v2/enqueue", json=body).status_code == 413
    assert org.get("/api/incidents").json()["pagination"]["total"] == 0
    body["payload"]["summary"] = "small"  # type: ignore[index]
    assert small.post("/v2/enqueue", json=body).status_code == 202  # the same URL, within the limit
    assert org.get("/api/incidents").json()["pagination"]["total"] == 1
