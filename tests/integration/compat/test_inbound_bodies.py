"""Every inbound URL, fed bodies that are not what it expects (``{}``, a JSON array, a string, an
object missing the key fields): each either records something (an incident) or answers an error in
its product's own shape; never a success that records nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest

from tests.factories.orgs import OrgFactory, OrgHandle, now
from tocsin.services.catalog import services as catalog

Send = Callable[[OrgHandle, str, Any], httpx.Response]


def _integration(org: OrgHandle, kind: str) -> str:
    """A service with one integration of ``kind``; returns its key (a UUID, as Opsgenie and VictorOps
    keys are)."""
    key = str(uuid.uuid4())
    with org.database.write() as session:
        catalog.create_service(
            session=session,
            tenant=org.tenant,
            now=now(),
            name=f"svc-{key[:8]}",
            integrations=[{"name": f"{kind} in", "type": kind, "routing_key": key}],
        )
    return key


def _grafana(kind: str) -> tuple[str, Send]:
    return kind, lambda org, key, body: org.client.post(f"/integrations/v1/{kind}/{key}/", json=body)


def _with_key(body: Any, name: str, key: str) -> Any:
    """The body with the routing key put in, when it is an object: the key fields stay missing."""
    return {**body, name: key} if isinstance(body, dict) else body


DOORS: dict[str, tuple[str, Send]] = {
    "grafana alertmanager": _grafana("alertmanager"),
    "grafana grafana_alerting": _grafana("grafana_alerting"),
    "grafana webhook": _grafana("webhook"),
    "grafana formatted_webhook": _grafana("formatted_webhook"),
    "pagerduty v2": (
        "events_api_v2",
        lambda org, key, body: org.client.post("/v2/enqueue", json=_with_key(body, "routing_key", key)),
    ),
    "pagerduty v1": (
        "pagerduty",
        lambda org, key, body: org.client.post(
            "/generic/2010-04-15/create_event.json", json=_with_key(body, "service_key", key)
        ),
    ),
    "opsgenie": (
        "opsgenie",
        lambda org, key, body: org.client.post(
            "/v2/alerts", headers={"Authorization": f"GenieKey {key}"}, json=body
        ),
    ),
    "splunk on-call": (
        "victorops",
        lambda org, key, body: org.client.post(
            f"/integrations/generic/20131114/alert/{key}/database", json=body
        ),
    ),
    "native events": (
        "events_api_v2",
        lambda org, key, body: org.post("/api/events", json=_with_key(body, "routing_key", key)),
    ),
}

BODIES: dict[str, Any] = {
    "empty object": {},
    "array": [{"title": "Disk full"}],
    "string": "Disk full",
    "foreign object": {"title": "Disk full"},
}


def _error_shape(door: str, response: httpx.Response) -> None:
    """The refusal is in the product's own shape (the shapes its own tests pin in detail)."""
    if door.startswith("grafana"):
        if response.headers["content-type"].startswith("application/json"):
            assert isinstance(response.json(), dict) and response.json()
        else:
            assert response.text
    elif door.startswith("pagerduty"):
        body = response.json()
        assert body["status"] and body["message"]
    elif door == "opsgenie":
        body = response.json()
        assert body["message"] and "requestId" in body
    elif door == "splunk on-call":
        body = response.json()
        assert body["result"] == "failure" and body["message"]
    else:
        error = response.json()["error"]
        assert error["code"] and error["message"]


@pytest.mark.parametrize("body_name", list(BODIES))
@pytest.mark.parametrize("door", list(DOORS))
def test_a_body_is_recorded_or_refused_never_dropped(orgs: OrgFactory, door: str, body_name: str) -> None:
    org = orgs.new()
    kind, send = DOORS[door]
    key = _integration(org, kind)
    response = send(org, key, BODIES[body_name])
    incidents = org.get("/api/incidents").json()["data"]
    if response.status_code < 300:
        assert len(incidents) == 1, (response.status_code, response.text)
    else:
        assert 400 <= response.status_code < 500, response.text
        assert incidents == []
        _error_shape(door, response)
