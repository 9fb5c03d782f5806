"""/api/services/{id}/heartbeats through HTTP: CRUD, bad input (bounds, types, unknown or foreign
service) answered in the error envelope with nothing changed, and the beat URLs: ours by GET or
POST, and Grafana OnCall's ``/integrations/v1/{type}/{token}/heartbeat/`` answered as upstream does."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle, now
from tocsin.services.catalog import services as catalog


def _create(org: OrgHandle, service_id: str, **body: Any) -> dict[str, Any]:
    response = org.post(
        f"/api/services/{service_id}/heartbeats",
        json={"name": "prometheus-watchdog", "interval_seconds": 60, **body},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _listed(org: OrgHandle, service_id: str) -> list[dict[str, Any]]:
    response = org.get(f"/api/services/{service_id}/heartbeats")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = org.make_service()
    created = _create(org, service_id, timeout_seconds=300)
    assert created["beat_url"].startswith("http://127.0.0.1:8080/heartbeats/")
    assert (created["name"], created["interval_seconds"], created["timeout_seconds"]) == (
        "prometheus-watchdog",
        60,
        300,
    )
    assert (created["state"], created["last_beat_at"], created["service_id"]) == ("waiting", None, service_id)
    integrations = org.get(f"/api/services/{service_id}/integrations").json()["data"]
    assert created["integration_id"] in [integration["id"] for integration in integrations]

    path = f"/api/services/{service_id}/heartbeats/{created['id']}"
    got = org.get(path).json()["data"]
    assert "beat_url" not in got  # the secret is shown once
    assert got == {key: value for key, value in created.items() if key != "beat_url"}
    assert [item["id"] for item in _listed(org, service_id)] == [created["id"]]

    patched = org.patch(path, json={"name": "watchdog", "timeout_seconds": 120})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["data"]["name"], patched.json()["data"]["timeout_seconds"]) == ("watchdog", 120)

    assert org.delete(path).status_code == 204
    expect_error(org.get(path), 404, "NOT_FOUND")
    assert _listed(org, service_id) == []


def test_timeout_defaults_to_the_interval_and_an_integration_can_be_named(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, routing_key = org.make_service()
    [integration] = org.get(f"/api/services/{service_id}/integrations").json()["data"]
    created = _create(org, service_id, integration_id=integration["id"])
    assert (created["timeout_seconds"], created["integration_id"]) == (60, integration["id"])
    # One heartbeat per integration.
    second = org.post(
        f"/api/services/{service_id}/heartbeats",
        json={"name": "again", "interval_seconds": 60, "integration_id": integration["id"]},
    )
    expect_error(second, 409, "CONFLICT")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"interval_seconds": 7 * 24 * 3600 + 1}, "interval_seconds"),
        ({"interval_seconds": 60, "timeout_seconds": 30}, "timeout_seconds"),
        ({"interval_seconds": 60, "timeout_seconds": 0}, "timeout_seconds"),
        ({"interval_seconds": "60"}, "interval_seconds"),
        ({"interval_seconds": 60, "name": "  "}, "name"),
        ({"interval_seconds": 60, "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_validation_error_and_creates_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str
) -> None:
    org = orgs.new()
    service_id, _ = org.make_service()
    response = org.post(f"/api/services/{service_id}/heartbeats", json={"name": "watchdog", **body})
    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert field in str(error["details"])
    assert _listed(org, service_id) == []


def test_bad_update_changes_nothing(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = org.make_service()
    created = _create(org, service_id, timeout_seconds=120)
    path = f"/api/services/{service_id}/heartbeats/{created['id']}"
    expect_error(org.patch(path, json={"timeout_seconds": 10}), 400, "VALIDATION_ERROR")
    assert org.get(path).json()["data"]["timeout_seconds"] == 120


def test_unknown_and_foreign_services_and_heartbeats_are_404(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    their_service, _ = theirs.make_service()
    their_heartbeat = _create(theirs, their_service)
    body = {"name": "watchdog", "interval_seconds": 60}
    expect_error(mine.post("/api/services/svc_unknown/heartbeats", json=body), 404, "NOT_FOUND")
    expect_error(mine.post(f"/api/services/{their_service}/heartbeats", json=body), 404, "NOT_FOUND")
    expect_error(mine.get(f"/api/services/{their_service}/heartbeats"), 404, "NOT_FOUND")
    path = f"/api/services/{their_service}/heartbeats/{their_heartbeat['id']}"
    expect_error(mine.get(path), 404, "NOT_FOUND")
    expect_error(mine.delete(path), 404, "NOT_FOUND")
    assert theirs.get(path).status_code == 200
    # Another service of the same org does not reach it either.
    my_service, _ = mine.make_service()
    expect_error(mine.get(f"/api/services/{my_service}/heartbeats/{their_heartbeat['id']}"), 404, "NOT_FOUND")


def test_beat_by_get_and_post_without_a_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = org.make_service()
    created = _create(org, service_id)
    path = urlsplit(created["beat_url"]).path
    by_get = org.client.get(path)
    assert by_get.status_code == 200, by_get.text
    assert by_get.json()["data"]["state"] == "up"
    first = by_get.json()["data"]["last_beat_at"]
    by_post = org.client.post(path, content=b"anything at all")
    assert by_post.status_code == 200, by_post.text
    assert by_post.json()["data"]["last_beat_at"] >= first
    got = org.get(f"/api/services/{service_id}/heartbeats/{created['id']}").json()["data"]
    assert (got["state"], got["last_beat_at"]) == ("up", by_post.json()["data"]["last_beat_at"])


def test_beat_refusals(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, _ = org.make_service()
    created = _create(org, service_id)
    path = urlsplit(created["beat_url"]).path
    refused = org.client.put(path)
    expect_error(refused, 405, "METHOD_NOT_ALLOWED")
    assert refused.headers["allow"] == "GET, HEAD, POST"
    expect_error(org.client.get("/heartbeats/not-a-token"), 404, "NOT_FOUND")
    got = org.get(f"/api/services/{service_id}/heartbeats/{created['id']}").json()["data"]
    assert (got["state"], got["last_beat_at"]) == ("waiting", None)


def _grafana_integration(org: OrgHandle, kind: str = "alertmanager") -> tuple[str, str, str]:
    """A service with one integration of ``kind``: (service_id, integration_id, token)."""
    token = f"go-{uuid.uuid4().hex}"
    with org.database.write() as session:
        service = catalog.create_service(
            session=session,
            tenant=org.tenant,
            now=now(),
            name=f"svc-{uuid.uuid4().hex[:8]}",
            integrations=[{"name": "Prometheus", "type": kind, "routing_key": token}],
        )
        return service.id, service.integrations[0].id, token


def test_grafana_oncall_heartbeat_url(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, integration_id, token = _grafana_integration(org)
    url = f"/integrations/v1/alertmanager/{token}/heartbeat/"
    # No heartbeat configured yet: answered as upstream, nothing recorded.
    assert org.client.get(url).status_code == 200
    created = _create(org, service_id, integration_id=integration_id)

    by_get = org.client.get(url)
    assert (by_get.status_code, by_get.text) == (200, '":)"')
    after_get = org.get(f"/api/services/{service_id}/heartbeats/{created['id']}").json()["data"]
    assert after_get["state"] == "up" and after_get["last_beat_at"] is not None
    by_post = org.client.post(url.rstrip("/"), json={"status": "firing", "alerts": []})
    assert (by_post.status_code, by_post.content) == (200, b"")

    unknown = org.client.get(f"/integrations/v1/alertmanager/go-{uuid.uuid4().hex}/heartbeat/")
    assert (unknown.status_code, unknown.text) == (403, "Integration key was not found. Permission denied.")
    wrong_type = org.client.get(f"/integrations/v1/webhook/{token}/heartbeat/")
    assert wrong_type.status_code == 400
    assert wrong_type.text == "This url is for integration with Webhook. Key is for Alertmanager"
