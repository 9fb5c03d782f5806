"""Maintenance windows through HTTP: CRUD, validation, and suppression of incidents born inside one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.session import Database

T0 = datetime(2030, 1, 15, 10, 0, tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    return dict(expect_error(response, status, code)["details"])


def _service(org: OrgHandle) -> tuple[str, str]:
    """A service made over the API; returns (service_id, routing_key)."""
    response = org.post("/api/services", json={"name": "Payment API"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return data["id"], data["integrations"][0]["routing_key"]


def _window(org: OrgHandle, service_id: str, start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    response = org.post(
        f"/api/services/{service_id}/maintenance-windows",
        json={"start": _iso(start), "end": _iso(end), **extra},
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _timeline_types(org: OrgHandle, incident_id: str) -> list[str]:
    response = org.get(f"/api/incidents/{incident_id}/timeline")
    assert response.status_code == 200, response.text
    return [entry["type"] for entry in response.json()["data"]]


def _by_event(org: OrgHandle, routing_key: str, dedup_key: str) -> dict[str, Any]:
    response = org.trigger(routing_key, dedup_key=dedup_key)
    assert response.status_code == 202, response.text
    [incident] = [i for i in org.get("/api/incidents").json()["data"] if i["dedup_key"] == dedup_key]
    return dict(incident)


def _by_api(org: OrgHandle, service_id: str, title: str) -> dict[str, Any]:
    response = org.post("/api/incidents", json={"title": title, "service_id": service_id})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _in_maintenance(org: OrgHandle, service_id: str) -> bool:
    return bool(org.get(f"/api/services/{service_id}").json()["data"]["in_maintenance"])


# --- CRUD ---------------------------------------------------------------------------------------


def test_window_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = _service(org)
    base = f"/api/services/{service_id}/maintenance-windows"

    response = org.post(
        base,
        json={
            "start": "2030-03-01T12:30:00+02:00",
            "end": "2030-03-01T14:00:00+02:00",
            "description": "DB upgrade",
        },
    )
    assert response.status_code == 201, response.text
    later = response.json()["data"]
    assert set(later) == {"id", "start", "end", "description", "created_at"}
    assert later["id"].startswith("mw_")
    assert (later["start"], later["end"]) == ("2030-03-01T10:30:00Z", "2030-03-01T12:00:00Z")
    assert later["description"] == "DB upgrade"
    earlier = _window(org, service_id, datetime(2030, 2, 1, tzinfo=UTC), datetime(2030, 2, 2, tzinfo=UTC))
    assert earlier["description"] is None
    assert (earlier["start"], earlier["end"]) == ("2030-02-01T00:00:00Z", "2030-02-02T00:00:00Z")

    listed = org.get(base).json()
    assert listed["data"] == [earlier, later]  # by start
    assert listed["pagination"] == {"total": 2, "limit": 25, "offset": 0, "has_more": False}
    page = org.get(base, params={"limit": 1, "offset": 1}).json()
    assert page["data"] == [later]
    assert page["pagination"] == {"total": 2, "limit": 1, "offset": 1, "has_more": False}
    assert _error(org.get(base, params={"limit": 1000}), 400, "VALIDATION_ERROR")["field"] == "limit"
    service = org.get(f"/api/services/{service_id}").json()["data"]
    assert service["maintenance_windows"] == [earlier, later]
    assert service["in_maintenance"] is False  # both are in the future

    response = org.delete(f"{base}/{earlier['id']}")
    assert response.status_code == 204 and response.content == b""
    assert org.get(base).json()["data"] == [later]
    details = _error(org.delete(f"{base}/{earlier['id']}"), 404, "NOT_FOUND")
    assert details == {"resource": "maintenance_window", "id": earlier["id"]}


def test_a_window_is_deleted_only_under_its_own_service(orgs: OrgFactory) -> None:
    org = orgs.new()
    one, _ = _service(org)
    two, _ = _service(org)
    window = _window(org, one, T0, T0 + timedelta(hours=1))
    details = _error(org.delete(f"/api/services/{two}/maintenance-windows/{window['id']}"), 404, "NOT_FOUND")
    assert details == {"resource": "maintenance_window", "id": window["id"]}
    assert org.get(f"/api/services/{one}/maintenance-windows").json()["data"] == [window]


def test_windows_go_with_their_service(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = _service(org)
    window = _window(org, service_id, T0, T0 + timedelta(hours=1))
    assert org.delete(f"/api/services/{service_id}").status_code == 204
    _error(org.get(f"/api/services/{service_id}/maintenance-windows"), 404, "NOT_FOUND")
    _error(org.delete(f"/api/services/{service_id}/maintenance-windows/{window['id']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"start": "2030-01-15T12:00:00Z", "end": "2030-01-15T11:00:00Z"}, "end", "before_start"),
        ({"start": "2030-01-15T12:00:00Z", "end": "2030-01-15T12:00:00Z"}, "end", "before_start"),
        ({"start": "2030-01-15T12:00:00Z", "end": "2030-01-15T13:00:00+02:00"}, "end", "before_start"),
        ({"start": "2030-01-15T12:00:00", "end": "2030-01-15T13:00:00Z"}, "start", "timezone"),
        ({"start": "2030-01-15T12:00:00Z", "end": "2030-01-15T13:00:00"}, "end", "timezone"),
        ({"start": "2030-01-15T12:00:00", "end": "2030-01-15T13:00:00"}, "start", "timezone"),
        ({"end": "2030-01-15T13:00:00Z"}, "start", "required"),
        ({"start": "2030-01-15T12:00:00Z"}, "end", "required"),
        ({}, "start", "required"),
        ({"start": "tomorrow", "end": "2030-01-15T13:00:00Z"}, "start", "datetime_from_date_parsing"),
        ({"start": None, "end": "2030-01-15T13:00:00Z"}, "start", "datetime_type"),
        (
            {"start": "2030-01-15T12:00:00Z", "end": "2030-01-15T13:00:00Z", "description": "x" * 2001},
            "description",
            "string_too_long",
        ),
        (
            {"start": "2030-01-15T12:00:00Z", "end": "2030-01-15T13:00:00Z", "service_id": "svc_x"},
            "service_id",
            "unknown_field",
        ),
    ],
)
def test_window_validation(orgs: OrgFactory, body: dict[str, Any], field: str, reason: str) -> None:
    org = orgs.new()
    service_id, _ = _service(org)
    details = _error(
        org.post(f"/api/services/{service_id}/maintenance-windows", json=body), 400, "VALIDATION_ERROR"
    )
    assert details == {"field": field, "reason": reason}
    assert org.get(f"/api/services/{service_id}/maintenance-windows").json()["data"] == []


def test_windows_need_the_services_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = _service(org)
    window = _window(org, service_id, T0, T0 + timedelta(hours=1))
    base = f"/api/services/{service_id}/maintenance-windows"
    reader = org.make_key(["services:read"])
    assert org.get(base, key=reader).json()["data"] == [window]
    body = {"start": _iso(T0), "end": _iso(T0 + timedelta(hours=2))}
    _error(org.post(base, key=reader, json=body), 403, "FORBIDDEN")
    _error(org.delete(f"{base}/{window['id']}", key=reader), 403, "FORBIDDEN")
    incidents_only = org.make_key(["incidents:write"])
    assert _error(org.post(base, key=incidents_only, json=body), 403, "FORBIDDEN") == {
        "required_scope": "services:write"
    }
    assert org.get(base).json()["data"] == [window]


def test_test_mode_windows_are_separate(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_service, _ = _service(live)
    test_service, _ = _service(test)
    window = _window(test, test_service, T0, T0 + timedelta(hours=1))
    _error(live.get(f"/api/services/{test_service}/maintenance-windows"), 404, "NOT_FOUND")
    _error(live.delete(f"/api/services/{test_service}/maintenance-windows/{window['id']}"), 404, "NOT_FOUND")
    body = {"start": _iso(T0), "end": _iso(T0 + timedelta(hours=1))}
    _error(test.post(f"/api/services/{live_service}/maintenance-windows", json=body), 404, "NOT_FOUND")
    assert test.get(f"/api/services/{test_service}/maintenance-windows").json()["data"] == [window]


# --- suppression (wall clock, with hours of margin either side) ---------------------------------


def test_incidents_inside_a_window_are_suppressed(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, routing_key = _service(org)
    other_id, other_key = _service(org)
    now = datetime.now(UTC)
    _window(org, service_id, now - timedelta(hours=1), now + timedelta(hours=1), description="deploy")
    assert _in_maintenance(org, service_id) is True
    assert _in_maintenance(org, other_id) is False

    by_event = _by_event(org, routing_key, "cpu")
    assert by_event["status"] == "SUPPRESSED"
    assert by_event["service_id"] == service_id
    assert _timeline_types(org, by_event["id"]) == ["triggered", "suppressed"]

    by_api = _by_api(org, service_id, "made by hand")
    assert by_api["status"] == "SUPPRESSED"
    assert _timeline_types(org, by_api["id"]) == ["triggered", "suppressed"]

    # a repeat trigger dedups into the suppressed incident
    assert org.trigger(routing_key, dedup_key="cpu").status_code == 202
    again = org.get(f"/api/incidents/{by_event['id']}").json()["data"]
    assert (again["status"], again["alert_count"]) == ("SUPPRESSED", 2)

    # the window is per service
    elsewhere = _by_event(org, other_key, "other")
    assert elsewhere["status"] == "OPEN"
    assert _timeline_types(org, elsewhere["id"]) == ["triggered"]

    listed = org.get("/api/incidents", params={"status": "SUPPRESSED"}).json()["data"]
    assert {i["id"] for i in listed} == {by_event["id"], by_api["id"]}


def test_after_a_window_new_incidents_are_open(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, routing_key = _service(org)
    now = datetime.now(UTC)
    _window(org, service_id, now - timedelta(hours=3), now - timedelta(hours=2))
    _window(org, service_id, now + timedelta(hours=2), now + timedelta(hours=3))
    assert _in_maintenance(org, service_id) is False

    by_event = _by_event(org, routing_key, "after")
    assert by_event["status"] == "OPEN"
    assert _timeline_types(org, by_event["id"]) == ["triggered"]
    by_api = _by_api(org, service_id, "after, by hand")
    assert by_api["status"] == "OPEN"
    assert _timeline_types(org, by_api["id"]) == ["triggered"]


def test_deleting_the_window_ends_suppression(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, routing_key = _service(org)
    now = datetime.now(UTC)
    window = _window(org, service_id, now - timedelta(hours=1), now + timedelta(hours=1))
    assert _by_event(org, routing_key, "during")["status"] == "SUPPRESSED"
    assert org.delete(f"/api/services/{service_id}/maintenance-windows/{window['id']}").status_code == 204
    assert _in_maintenance(org, service_id) is False
    assert _by_event(org, routing_key, "later")["status"] == "OPEN"
    # the earlier incident stays suppressed, and still blocks deleting the service
    assert _by_event(org, routing_key, "during")["status"] == "SUPPRESSED"
    details = _error(org.delete(f"/api/services/{service_id}"), 409, "CONFLICT")
    assert details == {"service_id": service_id}


# --- exact boundaries, on an app with a clock the test controls ---------------------------------


@pytest.fixture
def clocked(
    orgs: OrgFactory, app_client: TestClient, database: Database
) -> Iterator[tuple[OrgHandle, FakeClock]]:
    clock = FakeClock(T0 - timedelta(minutes=1))
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield replace(orgs.new(), client=client), clock


def test_a_window_is_half_open(clocked: tuple[OrgHandle, FakeClock]) -> None:
    org, clock = clocked
    service_id, routing_key = _service(org)
    _window(org, service_id, T0, T0 + timedelta(hours=1))

    assert _in_maintenance(org, service_id) is False
    assert _by_event(org, routing_key, "before")["status"] == "OPEN"

    clock.set(T0)
    assert _in_maintenance(org, service_id) is True
    assert _by_event(org, routing_key, "at-start")["status"] == "SUPPRESSED"
    assert _by_api(org, service_id, "at start")["status"] == "SUPPRESSED"

    clock.set(T0 + timedelta(hours=1) - timedelta(microseconds=1))
    assert _by_event(org, routing_key, "last-instant")["status"] == "SUPPRESSED"

    clock.set(T0 + timedelta(hours=1))
    assert _in_maintenance(org, service_id) is False
    assert _by_event(org, routing_key, "at-end")["status"] == "OPEN"
    assert _by_api(org, service_id, "at end")["status"] == "OPEN"

    listed = org.get("/api/services").json()["data"]
    assert [s["in_maintenance"] for s in listed] == [False]
    clock.set(T0 + timedelta(minutes=30))
    assert [s["in_maintenance"] for s in org.get("/api/services").json()["data"]] == [True]


def test_overlapping_windows_suppress_until_the_last_one_ends(clocked: tuple[OrgHandle, FakeClock]) -> None:
    org, clock = clocked
    service_id, routing_key = _service(org)
    _window(org, service_id, T0, T0 + timedelta(hours=1))
    _window(org, service_id, T0 + timedelta(minutes=30), T0 + timedelta(hours=2))
    clock.set(T0 + timedelta(minutes=90))
    assert _in_maintenance(org, service_id) is True
    assert _by_event(org, routing_key, "overlap")["status"] == "SUPPRESSED"
    clock.set(T0 + timedelta(hours=2))
    assert _in_maintenance(org, service_id) is False
    assert _by_event(org, routing_key, "done")["status"] == "OPEN"
