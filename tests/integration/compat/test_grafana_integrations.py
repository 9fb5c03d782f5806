"""Grafana OnCall's integration URLs through HTTP: ``/integrations/v1/{type}/{token}/`` answers as
Grafana OnCall does, an Alertmanager group is one incident with one alert per firing alert, and the
webhook types read any JSON object through the integration's templates."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select

from tests.factories.orgs import OrgFactory, OrgHandle, now
from tocsin.db.models import Alert
from tocsin.services.catalog import services as catalog

UNKNOWN = "Integration key was not found. Permission denied."
GROUP_KEY = '{}/{severity="critical"}:{alertname="HighCPU"}'


def _integration(org: OrgHandle, kind: str, config: dict[str, Any] | None = None) -> tuple[str, str]:
    """A service with one integration of ``kind``; returns (service_id, token)."""
    token = f"go-{uuid.uuid4().hex}"
    spec: dict[str, Any] = {"name": f"{kind} in", "type": kind, "routing_key": token}
    if config:
        spec["config"] = config
    with org.database.write() as session:
        service = catalog.create_service(
            session=session,
            tenant=org.tenant,
            now=now(),
            name=f"svc-{uuid.uuid4().hex[:8]}",
            integrations=[spec],
        )
        return service.id, token


def _post(org: OrgHandle, kind: str, token: str, body: Any, slash: bool = True) -> httpx.Response:
    """No API key: the token in the URL is the only credential."""
    path = f"/integrations/v1/{kind}/{token}" + ("/" if slash else "")
    return org.client.post(path, json=body)


def _incidents(org: OrgHandle, **params: Any) -> list[dict[str, Any]]:
    response = org.get("/api/incidents", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _alerts(org: OrgHandle, incident_id: str) -> list[Alert]:
    with org.database.read() as session:
        rows = session.scalars(
            select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.created_at)
        )
        return list(rows)


def _am_alert(instance: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighCPU", "instance": instance, "severity": "critical", **labels},
        "annotations": {"runbook_url": "https://runbooks.example.com/cpu"},
        "startsAt": "2024-01-15T10:30:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=cpu",
        "fingerprint": uuid.uuid4().hex[:16],
    }


def _notification(*alerts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "tocsin",
        "groupLabels": {"alertname": "HighCPU"},
        "commonLabels": {"alertname": "HighCPU", "severity": "critical"},
        "commonAnnotations": {"runbook_url": "https://runbooks.example.com/cpu"},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }
    body.update(fields)
    return body


# Alertmanager and Grafana Alerting


def test_a_firing_group_opens_one_incident_with_an_alert_per_alert(orgs: OrgFactory) -> None:
    org = orgs.new()
    service_id, token = _integration(org, "alertmanager")
    alerts = [_am_alert("web-01"), _am_alert("web-02")]
    response = _post(org, "alertmanager", token, _notification(*alerts))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'"Ok."'
    [incident] = _incidents(org)
    assert incident["service_id"] == service_id
    assert incident["alert_count"] == 2
    assert incident["dedup_key"] == GROUP_KEY
    assert incident["title"] == "[FIRING:2] HighCPU (severity=critical)"
    assert (incident["severity"], incident["urgency"], incident["status"]) == ("critical", "HIGH", "OPEN")
    assert incident["links"] == [
        {"href": "https://runbooks.example.com/cpu", "text": "Runbook"},
        {"href": "http://prometheus:9090/graph?g0.expr=cpu", "text": "Source"},
        {"href": "http://alertmanager:9093", "text": "Alertmanager"},
    ]
    assert incident["custom_details"]["groupLabels"] == {"alertname": "HighCPU"}
    stored = _alerts(org, incident["id"])
    assert sorted(alert.payload["labels"]["instance"] for alert in stored) == ["web-01", "web-02"]
    assert stored[0].payload["annotations"] == {"runbook_url": "https://runbooks.example.com/cpu"}
    assert {alert.summary for alert in stored} == {incident["title"]}
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert (timeline[0]["actor_type"], timeline[0]["actor_name"]) == ("api_key", "alertmanager in")


def test_a_repeated_notification_adds_alerts_not_incidents(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    first = _notification(_am_alert("web-01"))
    assert _post(org, "alertmanager", token, first).status_code == 200
    again = _notification(_am_alert("web-01"), _am_alert("web-02"), _am_alert("web-03", status="resolved"))
    assert _post(org, "alertmanager", token, again, slash=False).status_code == 200
    [incident] = _incidents(org)
    assert incident["alert_count"] == 3  # one, then the two still firing
    # The title follows the group, as Alertmanager's own template re-renders it per notification.
    assert incident["title"] == "[FIRING:2] HighCPU (severity=critical)"
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    [more] = [entry for entry in timeline if entry["type"] == "alerts_added"]
    assert (more["message"], more["data"]) == ("2 more alerts (total 3)", {"more": 2, "total": 3})
    # A third notification rewrites that one entry rather than adding another.
    assert _post(org, "alertmanager", token, _notification(_am_alert("web-01"))).status_code == 200
    [incident] = _incidents(org)
    assert (incident["alert_count"], incident["title"]) == (4, "[FIRING:1] HighCPU (severity=critical)")
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    [more] = [entry for entry in timeline if entry["type"] == "alerts_added"]
    assert (more["message"], more["data"]) == ("3 more alerts (total 4)", {"more": 3, "total": 4})
    assert [entry["type"] for entry in timeline] == ["triggered", "alerts_added"]


def test_a_resolved_group_resolves_its_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    assert _post(org, "alertmanager", token, _notification(_am_alert("web-01"))).status_code == 200
    resolved = _notification(_am_alert("web-01", status="resolved"), status="resolved")
    response = _post(org, "alertmanager", token, resolved)
    assert (response.status_code, response.content) == (200, b'"Ok."')
    [incident] = _incidents(org)
    assert incident["status"] == "RESOLVED"
    assert incident["alert_count"] == 1
    # Firing again later is a new incident.
    assert _post(org, "alertmanager", token, _notification(_am_alert("web-01"))).status_code == 200
    statuses = [i["status"] for i in sorted(_incidents(org), key=lambda i: int(i["number"]))]
    assert statuses == ["RESOLVED", "OPEN"]


def test_resolving_an_unknown_group_is_accepted_and_ignored(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    resolved = _notification(_am_alert("web-01", status="resolved"), status="resolved", groupKey="{}:{a=b}")
    assert _post(org, "alertmanager", token, resolved).status_code == 200
    assert _incidents(org) == []


def test_two_groups_are_two_incidents(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    cpu = _notification(_am_alert("web-01"))
    disk = _notification(
        _am_alert("db-01", alertname="DiskFull"),
        groupKey='{}:{alertname="DiskFull"}',
        groupLabels={"alertname": "DiskFull"},
        commonLabels={"alertname": "DiskFull", "instance": "db-01", "severity": "critical"},
        commonAnnotations={"summary": "Disk 98% full on db-01", "description": "/var is nearly full"},
    )
    assert _post(org, "alertmanager", token, cpu).status_code == 200
    assert _post(org, "alertmanager", token, disk).status_code == 200
    incidents = {i["dedup_key"]: i for i in _incidents(org)}
    assert set(incidents) == {GROUP_KEY, '{}:{alertname="DiskFull"}'}
    disk_incident = incidents['{}:{alertname="DiskFull"}']
    assert disk_incident["title"] == "[FIRING:1] Disk 98% full on db-01"
    assert disk_incident["description"] == "/var is nearly full"
    assert disk_incident["source"] == "db-01"


@pytest.mark.parametrize(
    ("label", "severity", "urgency"),
    [
        ("page", "critical", "HIGH"),
        ("warning", "warning", "MEDIUM"),
        ("info", "info", "LOW"),
        (None, "critical", "HIGH"),
    ],
)
def test_severity_comes_from_the_severity_label(
    orgs: OrgFactory, label: str | None, severity: str, urgency: str
) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    common = {"alertname": "HighCPU"} if label is None else {"alertname": "HighCPU", "severity": label}
    alert = _am_alert("web-01")
    alert["labels"] = dict(common)
    assert _post(org, "alertmanager", token, _notification(alert, commonLabels=common)).status_code == 200
    [incident] = _incidents(org)
    assert (incident["severity"], incident["urgency"]) == (severity, urgency)


def test_a_long_group_key_is_hashed(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    key = "{}:{" + ",".join(f'label{n}="{"v" * 20}"' for n in range(20)) + "}"
    assert _post(org, "alertmanager", token, _notification(_am_alert("a"), groupKey=key)).status_code == 200
    assert _post(org, "alertmanager", token, _notification(_am_alert("b"), groupKey=key)).status_code == 200
    [incident] = _incidents(org)
    assert incident["dedup_key"].startswith("sha256:")
    assert incident["alert_count"] == 2


def test_grafana_alerting_sends_the_same_shape(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "grafana_alerting")
    grafana = _notification(
        _am_alert("web-01") | {"values": {"B": 93.2}, "valueString": "[ var='B' value=93.2 ]"},
        version="1",
        orgId=1,
        title="[FIRING:1] HighCPU (critical)",
        state="alerting",
        message="**Firing**",
    )
    assert _post(org, "grafana_alerting", token, grafana).status_code == 200
    [incident] = _incidents(org)
    assert incident["alert_count"] == 1
    assert _alerts(org, incident["id"])[0].payload["values"] == {"B": 93.2}


def test_alertmanager_bad_shapes_are_400(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    response = _post(org, "alertmanager", token, _notification(_am_alert("x"), alerts={"not": "a list"}))
    assert response.status_code == 400
    assert response.json() == {"alerts": ['Expected a list of items but got type "dict".']}
    bad_labels = _am_alert("x")
    bad_labels["labels"] = ["alertname"]
    response = _post(org, "alertmanager", token, _notification(bad_labels))
    assert response.json() == {"alerts.0.labels": ['Expected a dictionary of items but got type "list".']}
    response = _post(org, "alertmanager", token, _notification(status="burning"))
    assert response.json() == {"status": ['"burning" is not a valid choice.']}
    assert _incidents(org) == []


def test_an_alertmanager_body_without_alerts_opens_an_incident(orgs: OrgFactory) -> None:
    """As Grafana OnCall does (one alert of any body), never "Ok." with nothing recorded."""
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    response = org.client.post(f"/integrations/v1/alertmanager/{token}/", content=b"")
    assert (response.status_code, response.content) == (200, b'"Ok."')
    assert [incident["title"] for incident in _incidents(org)] == ["[FIRING] Alert"]
    response = _post(org, "alertmanager", token, {"title": "Disk full", "groupKey": "disk"})
    assert (response.status_code, response.content) == (200, b'"Ok."')
    assert sorted(incident["title"] for incident in _incidents(org)) == ["Disk full", "[FIRING] Alert"]


# Webhook and formatted webhook


def test_webhook_defaults(orgs: OrgFactory, database: Any) -> None:
    org = orgs.new()
    _, token = _integration(org, "webhook")
    body = {"id": "evt-1", "title": "Queue backlog", "message": "12k jobs waiting", "severity": "warning"}
    response = _post(org, "webhook", token, body)
    assert (response.status_code, response.content) == (200, b'"Ok."')
    [incident] = _incidents(org)
    assert (incident["title"], incident["dedup_key"], incident["severity"]) == (
        "Queue backlog",
        "evt-1",
        "warning",
    )
    assert incident["description"] == "12k jobs waiting"
    assert _alerts(org, incident["id"])[0].payload == body
    assert _post(org, "webhook", token, {"id": "evt-1", "status": "resolved"}).status_code == 200
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_webhook_without_an_id_groups_identical_bodies(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "webhook")
    for _ in range(2):
        assert _post(org, "webhook", token, {"message": "disk full\non db-01"}).status_code == 200
    assert _post(org, "webhook", token, {"message": "other"}).status_code == 200
    incidents = {i["title"]: i for i in _incidents(org)}
    assert set(incidents) == {"disk full", "other"}
    assert incidents["disk full"]["alert_count"] == 2


def test_webhook_json_path_templates(orgs: OrgFactory) -> None:
    org = orgs.new()
    config = {
        "title_template": "$.alert.name",
        "dedup_key_template": "$.alert.fingerprint",
        "resolve_condition": "$.alert.cleared",
        "severity_template": "$.alert.level",
    }
    _, token = _integration(org, "webhook", config)
    body = {"alert": {"name": "Backlog high", "fingerprint": "fp-9", "cleared": False, "level": "page"}}
    assert _post(org, "webhook", token, body).status_code == 200
    [incident] = _incidents(org)
    assert (incident["title"], incident["dedup_key"], incident["severity"]) == (
        "Backlog high",
        "fp-9",
        "critical",
    )
    body["alert"]["cleared"] = True
    assert _post(org, "webhook", token, body).status_code == 200
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_webhook_jinja_templates(orgs: OrgFactory) -> None:
    org = orgs.new()
    config = {
        "title_template": "{{ payload.check }} failed on {{ payload.host | upper }}",
        "dedup_key_template": "{{ payload.check }}/{{ payload.host }}",
        "resolve_condition": '{{ payload.result == "pass" }}',
        "severity_template": "{% if payload.host.startswith('prod') %}critical{% else %}warning{% endif %}",
    }
    _, token = _integration(org, "webhook", config)
    assert (
        _post(org, "webhook", token, {"check": "http", "host": "stage-1", "result": "fail"}).status_code
        == 200
    )
    assert (
        _post(org, "webhook", token, {"check": "http", "host": "stage-1", "result": "fail"}).status_code
        == 200
    )
    [incident] = _incidents(org)
    assert (incident["title"], incident["dedup_key"]) == ("http failed on STAGE-1", "http/stage-1")
    assert (incident["severity"], incident["alert_count"]) == ("warning", 2)
    assert (
        _post(org, "webhook", token, {"check": "http", "host": "stage-1", "result": "pass"}).status_code
        == 200
    )
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_a_broken_template_falls_back_to_the_default(orgs: OrgFactory) -> None:
    org = orgs.new()
    config = {
        "title_template": "{{ payload.title",
        "dedup_key_template": "{{ payload.nested.missing.key }}",
        "resolve_condition": "{{ payload.__class__.__init__.__globals__ }}",
        "severity_template": "$.[[[",
    }
    _, token = _integration(org, "webhook", config)
    body = {"id": "x-1", "title": "Plain title", "severity": "info"}
    assert _post(org, "webhook", token, body).status_code == 200
    [incident] = _incidents(org)
    assert (incident["title"], incident["dedup_key"], incident["severity"]) == ("Plain title", "x-1", "info")
    assert "Template" not in incident["title"]


def test_formatted_webhook(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "formatted_webhook")
    body = {
        "alert_uid": "08d6891a-835c-e661-39fa-96b6a9e26552",
        "title": "TestAlert: The whole system is down",
        "image_url": "https://example.com/graph.png",
        "state": "alerting",
        "link_to_upstream_details": "https://en.wikipedia.org/wiki/Downtime",
        "message": "Smth happened. Oh no!",
    }
    assert _post(org, "formatted_webhook", token, body).status_code == 200
    [incident] = _incidents(org)
    assert incident["title"] == "TestAlert: The whole system is down"
    assert incident["dedup_key"] == "08d6891a-835c-e661-39fa-96b6a9e26552"
    assert incident["description"] == "Smth happened. Oh no!"
    assert incident["links"] == [
        {"href": "https://en.wikipedia.org/wiki/Downtime", "text": "Source"},
        {"href": "https://example.com/graph.png", "text": "Image"},
    ]
    assert _post(org, "formatted_webhook", token, {**body, "state": "ok"}).status_code == 200
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_webhook_body_must_be_an_object(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "webhook")
    response = _post(org, "webhook", token, ["a", "list"])
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    response = org.client.post(f"/integrations/v1/webhook/{token}/", content=b"null")
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got NoneType."]}


def test_unstorable_characters_are_dropped_not_a_500(orgs: OrgFactory) -> None:
    """PostgreSQL refuses U+0000 and lone surrogates; both are valid JSON escapes."""
    org = orgs.new()
    _, token = _integration(org, "webhook")
    body = rb'{"id": "n\u0000ul", "title": "a\u0000b", "x": {"k\u0000": "\ud800"}}'
    response = org.client.post(f"/integrations/v1/webhook/{token}/", content=body)
    assert response.status_code == 200
    [incident] = _incidents(org)
    assert (incident["title"], incident["dedup_key"]) == ("ab", "nul")
    assert _alerts(org, incident["id"])[0].payload["x"] == {"k": "?"}


# Errors, in Grafana OnCall's words


@pytest.mark.parametrize("kind", ["alertmanager", "grafana_alerting", "webhook", "formatted_webhook"])
def test_an_unknown_token_is_403(orgs: OrgFactory, kind: str) -> None:
    org = orgs.new()
    response = _post(org, kind, "no-such-token", {"alerts": []})
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == UNKNOWN


def test_a_token_of_another_type_is_400(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, webhook_token = _integration(org, "webhook")
    response = _post(org, "alertmanager", webhook_token, _notification(_am_alert("x")))
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "This url is for integration with Alertmanager. Key is for Webhook"
    _, events_key = org.make_service()  # an Events API v2 key may not be used here
    response = _post(org, "grafana_alerting", events_key, _notification(_am_alert("x")))
    assert (response.status_code, response.text) == (
        400,
        "This url is for integration with Grafana Alerting. Key is for Events API v2",
    )
    assert _incidents(org) == []


def test_a_type_this_door_does_not_serve_is_403(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, events_key = org.make_service()
    response = _post(org, "events_api_v2", events_key, {"summary": "x"})
    assert (response.status_code, response.text) == (403, UNKNOWN)


def test_malformed_json_is_drfs_parse_error(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    response = org.client.post(
        f"/integrations/v1/alertmanager/{token}/",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    }
    response = org.client.post(
        f"/integrations/v1/webhook/{_integration(org, 'webhook')[1]}/", content=b"[1, NaN]"
    )
    assert response.json()["detail"].startswith("JSON parse error - Out of range float values")
    response = org.client.post(
        f"/integrations/v1/webhook/{_integration(org, 'webhook')[1]}/", content=b"[1e400]"
    )
    assert response.json()["detail"].startswith("JSON parse error - Out of range float values")


def test_integers_past_64_bits_are_read_as_numbers(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "webhook")
    body = b'{"id": 18446744073709551615, "n": 123456789012345678901234567890}'
    response = org.client.post(f"/integrations/v1/webhook/{token}/", content=body)
    assert response.status_code == 200
    [incident] = _incidents(org)
    assert incident["dedup_key"] == "18446744073709551615"
    assert _alerts(org, incident["id"])[0].payload["n"] == pytest.approx(1.2345678901234568e29)


def test_an_oversized_body_is_413(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "webhook")
    response = _post(org, "webhook", token, {"blob": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 413
    assert _incidents(org) == []


def test_only_post(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, token = _integration(org, "alertmanager")
    assert org.client.get(f"/integrations/v1/alertmanager/{token}/").status_code == 405


def test_the_integration_alert_limit_answers_429_and_writes_nothing(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"integration": "3/5 minutes"})
    _, token = _integration(org, "alertmanager")
    group = _notification(_am_alert("a"), _am_alert("b"))
    assert _post(org, "alertmanager", token, group).status_code == 200
    response = _post(org, "alertmanager", token, group)  # 2 more alerts than the 1 left
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith(
        "Rate-limiting has been applied to your account because too many alerts were sent from your "
        "alertmanager in integration."
    )
    [incident] = _incidents(org)
    assert incident["alert_count"] == 2
    # Resolving is never limited.
    resolved = _notification(_am_alert("a", status="resolved"), status="resolved")
    assert _post(org, "alertmanager", token, resolved).status_code == 200
    assert _incidents(org)[0]["status"] == "RESOLVED"


def test_the_org_alert_limit_answers_429_with_its_own_text(orgs: OrgFactory) -> None:
    org = orgs.new(rate_limits={"org_alerts": "1/5 minutes"})
    _, first = _integration(org, "webhook")
    _, second = _integration(org, "webhook")
    assert _post(org, "webhook", first, {"id": "1"}).status_code == 200
    response = _post(org, "webhook", second, {"id": "2"})
    assert response.status_code == 429
    assert "too many alerts were sent from multiple integrations" in response.text
    assert "Retry-After" in response.headers
