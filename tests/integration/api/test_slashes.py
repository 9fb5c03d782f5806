"""Repeated slashes in a path are merged before routing (``api.slashes``), as nginx does in front
of the hosted services our URL spaces stand in for: the native API and its events lane, Grafana
OnCall's API, Splunk On-Call's public and reporting APIs, PagerDuty's and Opsgenie's ``/v2`` and the
inbound integration URLs all answer a ``//`` path as the single-slash one. The query string is
never touched; ``raw_path`` is merged with ``path``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.slashes import merge_slashes
from tocsin.services.catalog import services as catalog


def _splunk_headers(org: OrgHandle) -> dict[str, str]:
    api_id = org.get("/api/org").json()["data"]["api_id"]
    return {"X-VO-Api-Id": api_id, "X-VO-Api-Key": org.key}


def test_native_reads_and_the_events_lane(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {"summary": "Disk full", "severity": "critical", "source": "db-01"},
    }
    accepted = org.post("/api//events", json=event)
    assert accepted.status_code == 202, accepted.text
    listed = org.get("/api///incidents")
    assert listed.status_code == 200, listed.text
    assert [incident["title"] for incident in listed.json()["data"]] == ["Disk full"]


@pytest.mark.parametrize(
    "path", ["/api/v1//alert_groups/", "/api/v1/alert_groups//", "/api//v1//alert_groups//"]
)
def test_grafana_oncall_api(orgs: OrgFactory, path: str) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    org.trigger(routing_key, summary="CPU hot")
    response = org.client.get(path, headers={"Authorization": org.key})
    assert response.status_code == 200, response.text
    assert [group["title"] for group in response.json()["results"]] == ["CPU hot"]


def test_grafana_oncall_action(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    org.trigger(routing_key)
    incident_id = org.get("/api/incidents").json()["data"][0]["id"]
    response = org.client.post(
        f"/api/v1//alert_groups/{incident_id}/acknowledge/", headers={"Authorization": org.key}
    )
    assert response.status_code == 200, response.text
    assert org.get(f"/api/incidents/{incident_id}").json()["data"]["status"] == "ACKNOWLEDGED"


@pytest.mark.parametrize("path", ["/api-public//v1/user", "/api-reporting//v2//incidents"])
def test_splunk_public_and_reporting(orgs: OrgFactory, path: str) -> None:
    org = orgs.new()
    response = org.client.get(path, headers=_splunk_headers(org))
    assert response.status_code == 200, response.text


def _service_with(org: OrgHandle, kind: str) -> str:
    """A service whose one integration is of ``kind``; returns its key (a UUID, as GenieKeys are)."""
    key = str(uuid.uuid4())
    with org.database.write() as session:
        catalog.create_service(
            session=session,
            tenant=org.tenant,
            now=datetime.now(UTC),
            name=f"{kind} {key[:8]}",
            integrations=[{"name": kind, "type": kind, "routing_key": key}],
        )
    return key


def test_pagerduty_opsgenie_and_integration_urls(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    pagerduty = org.client.post(
        "/v2//enqueue",
        json={
            "routing_key": routing_key,
            "event_action": "trigger",
            "payload": {"summary": "From PagerDuty", "severity": "error", "source": "web-01"},
        },
    )
    assert pagerduty.status_code == 202, pagerduty.text
    genie_key = _service_with(org, "opsgenie")
    opsgenie = org.client.post(
        "/v2//alerts", json={"message": "From Opsgenie"}, headers={"Authorization": f"GenieKey {genie_key}"}
    )
    assert opsgenie.status_code == 202, opsgenie.text
    token = _service_with(org, "webhook")
    grafana = org.client.post(f"/integrations//v1/webhook//{token}/", json={"title": "From a webhook"})
    assert grafana.status_code == 200, grafana.text
    titles = {incident["title"] for incident in org.get("/api/incidents").json()["data"]}
    assert titles == {"From PagerDuty", "From Opsgenie", "From a webhook"}


def test_the_query_string_is_untouched(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = org.get("/api//incidents?status=open//x")
    assert response.status_code == 400
    assert "'open//x'" in response.json()["error"]["message"]


def test_merge_slashes_on_the_scope() -> None:
    scope = {
        "type": "http",
        "path": "/api/v1//alert_groups///x/",
        "raw_path": b"/api/v1//alert_groups///x%2F/",
    }
    merged = merge_slashes(scope)
    assert merged["path"] == "/api/v1/alert_groups/x/"
    assert merged["raw_path"] == b"/api/v1/alert_groups/x%2F/"
    assert scope["path"] == "/api/v1//alert_groups///x/"  # the caller's scope is left as it was
    plain = {"type": "http", "path": "/api/incidents", "raw_path": b"/api/incidents"}
    assert merge_slashes(plain) is plain
