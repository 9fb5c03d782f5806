"""The access line (``api.access_log``), through the real app: one per request on the generic
stack and on the events lane, naming the route template (never the raw path, which may carry a
secret), the status, the duration and the admitting key's id (never the key); and a refused key
logged once however often it is sent (``api.auth.RejectedKeys``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tests.factories.waiting import eventually
from tocsin.api.app import create_app
from tocsin.db.session import Database
from tocsin.services.access import keys as key_service


@pytest.fixture
def client(db_url: str, database: Database) -> Iterator[TestClient]:
    """An app of its own, so the refused-key log's windows start empty."""
    with TestClient(create_app(settings_for(db_url), database=database)) as client:
        yield client


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    # INFO for both: set_level also sets the capturing handler's level, last call wins.
    caplog.set_level(logging.INFO, logger="tocsin.auth")
    caplog.set_level(logging.INFO, logger="tocsin.access")
    return caplog


def _lines(
    caplog: pytest.LogCaptureFixture, logger: str, count: int | None = None
) -> list[logging.LogRecord]:
    """The records of ``logger``; with ``count``, once there are that many: the app's thread
    writes the access line after the answer has reached the test."""

    def found() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == logger]

    if count is not None:
        assert eventually(lambda: len(found()) >= count), found()
    return found()


def _fields(record: logging.LogRecord) -> dict[str, object]:
    names = ("method", "route", "status", "key_id", "request_id")
    return {name: getattr(record, name) for name in names}


def _key_id(org: OrgHandle) -> str:
    with org.database.read() as session:
        record = key_service.authenticate(session=session, secret=org.key)
    assert record is not None
    return record.id


def test_a_line_per_request_with_the_template_and_the_key_id(
    database: Database, client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    org = OrgFactory(database, client).new()
    service_id, routing_key = org.make_service()
    access.clear()
    response = org.get(f"/api/services/{service_id}", headers={"X-Request-Id": "req-1"})
    assert response.status_code == 200
    [line] = _lines(access, "tocsin.access", 1)
    assert _fields(line) == {
        "method": "GET",
        "route": "/api/services/{service_id}",
        "status": 200,
        "key_id": _key_id(org),
        "request_id": "req-1",
    }
    duration = line.duration_ms
    assert isinstance(duration, float) and duration >= 0
    assert line.getMessage() == f"GET /api/services/{{service_id}} 200 {duration:.2f} ms"
    assert service_id not in str(vars(line)) and org.key not in str(vars(line))


def test_the_events_lane_writes_its_own_line(
    database: Database, client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    org = OrgFactory(database, client).new()
    _, routing_key = org.make_service()
    access.clear()
    assert org.trigger(routing_key, dedup_key="logged").status_code == 202
    assert client.post("/api/events", json={}).status_code == 401
    accepted, refused = _lines(access, "tocsin.access", 2)
    assert {**_fields(accepted), "request_id": None} == {
        "method": "POST",
        "route": "/api/events",
        "status": 202,
        "key_id": _key_id(org),
        "request_id": None,
    }
    assert len(str(accepted.request_id)) == 32
    assert (refused.status, refused.key_id) == (401, None)
    assert org.key not in str(vars(accepted))


def test_unmatched_and_unauthenticated_requests_are_logged_without_their_path(
    client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    assert client.get("/no/such/secret-looking/path").status_code == 404
    assert client.get("/api/incidents").status_code == 401
    unmatched, unauthenticated = _lines(access, "tocsin.access", 2)
    assert (unmatched.route, unmatched.status) == ("unmatched", 404)
    assert "secret-looking" not in str(vars(unmatched))
    assert (unauthenticated.route, unauthenticated.key_id) == ("unmatched", None)


def test_a_flood_of_one_bad_key_is_one_line(client: TestClient, access: pytest.LogCaptureFixture) -> None:
    bad = f"sk_live_{uuid.uuid4().hex}"
    for path in ("/api/incidents", "/api/services") * 15:
        assert client.get(path, headers={"Authorization": f"Bearer {bad}"}).status_code in (401, 429)
    for _ in range(15):
        assert client.post(
            "/api/events", json={}, headers={"Authorization": f"Bearer {bad}"}
        ).status_code in (401, 429)
    [line] = _lines(access, "tocsin.auth")
    assert line.getMessage() == f"rejected API key {bad[:12]} from testclient: unknown or revoked key"
    assert bad not in str(vars(line))
    assert len(_lines(access, "tocsin.access", 45)) == 45  # every request still has its access line


def test_a_real_key_on_a_url_that_does_not_take_it_is_logged_with_why(
    database: Database, client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    """Splunk's API takes a key only with its org's API id: another id is a refusal too."""
    org = OrgFactory(database, client).new()
    headers = {"X-VO-Api-Id": "not-this-org", "X-VO-Api-Key": org.key}
    assert client.get("/api-public/v1/user", headers=headers).status_code == 403
    [line] = _lines(access, "tocsin.auth", 1)
    assert (
        line.getMessage() == f"rejected API key {org.key[:12]} from testclient: key not accepted on this URL"
    )
    assert org.key not in str(vars(line))
