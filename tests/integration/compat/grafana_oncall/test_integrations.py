"""Grafana OnCall ``integrations`` over our integrations and services: CRUD, link, templates, the
default route's escalation chain, and maintenance."""

from __future__ import annotations

from typing import Any

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.compat.grafana_oncall.conftest import Grafana

FIELDS = [
    "maintenance_mode",
    "maintenance_started_at",
    "maintenance_end_at",
    "id",
    "name",
    "description_short",
    "team_id",
    "link",
    "inbound_email",
    "type",
    "default_route",
    "templates",
    "heartbeat",
]


def _policy(org: OrgHandle) -> str:
    created = org.post(
        "/api/escalation-policies",
        json={
            "name": "Primary",
            "rules": [{"delay_minutes": 0, "targets": [{"type": "user", "id": org.make_user()}]}],
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


def test_create_makes_a_service_and_answers_the_ready_url(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = org.make_team("Payments")
    policy = _policy(org)
    grafana = Grafana(org)
    created = grafana.post(
        "/integrations",
        json={
            "type": "alertmanager",
            "name": "Prometheus",
            "team_id": team,
            "description_short": "prod cluster",
            "default_route": {"escalation_chain_id": policy},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert list(body) == FIELDS
    routing_key = body["link"].rstrip("/").rsplit("/", 1)[1]
    assert body["link"] == f"http://127.0.0.1:8080/integrations/v1/alertmanager/{routing_key}/"
    assert (body["name"], body["type"], body["team_id"], body["description_short"]) == (
        "Prometheus",
        "alertmanager",
        team,
        "prod cluster",
    )
    assert body["default_route"] == {
        "id": "rt_" + body["id"].removeprefix("int_"),
        "escalation_chain_id": policy,
        "slack": {"channel_id": None, "enabled": False},
        "telegram": {"id": None, "enabled": False},
    }
    assert body["heartbeat"] == {"link": body["link"] + "heartbeat/"}
    assert (body["maintenance_mode"], body["inbound_email"]) == (None, None)

    services = org.get("/api/services").json()["data"]
    service = next(item for item in services if item["name"] == "Prometheus")
    assert (service["team_id"], service["escalation_policy_id"]) == (team, policy)
    assert grafana.get(f"/integrations/{body['id']}").json() == body

    # the link works: Alertmanager's webhook opens an incident on that service
    alert = {"status": "firing", "labels": {"alertname": "DiskFull"}, "annotations": {"summary": "Disk full"}}
    sent = org.client.post(body["link"], json={"version": "4", "status": "firing", "alerts": [alert]})
    assert sent.status_code in (200, 202), sent.text
    groups = grafana.get("/alert_groups", params={"integration_id": body["id"]}).json()
    assert groups["count"] == 1


def test_create_on_an_existing_service(orgs: OrgFactory) -> None:
    org = orgs.new()
    service, _ = org.make_service("Checkout")
    created = Grafana(org).post(
        "/integrations", json={"type": "webhook", "name": "Hooks", "service_id": service}
    )
    assert created.status_code == 201, created.text
    names = [item["name"] for item in org.get(f"/api/services/{service}").json()["data"]["integrations"]]
    assert names == ["Events API v2", "Hooks"]


def test_create_validation(orgs: OrgFactory) -> None:
    org = orgs.new()
    grafana = Grafana(org)
    grafana.post("/integrations", json={"type": "webhook", "name": "Taken"})
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"name": "x"}, {"type": ["This field is required."]}),
        ({"type": 5}, {"detail": "Invalid integration type"}),
        (
            {"type": "webhook", "name": "Taken"},
            {"detail": "An integration with this name already exists for this team"},
        ),
        ({"type": "webhook", "team_id": "tm_missing"}, None),
        ({"type": "webhook", "default_route": {"escalation_chain_id": "ep_missing"}}, None),
        ({"type": "webhook", "service_id": "svc_missing"}, None),
        ({"type": "webhook", "templates": {"slack": {"title": "x"}}}, None),
        ({"type": "webhook", "templates": {"nonsense": "x"}}, {"detail": "Invalid template data"}),
        ({"type": "alertmanager", "templates": {"grouping_key": "{{ x }}"}}, None),
    ]
    for body, error in cases:
        response = grafana.post("/integrations", json=body)
        assert response.status_code == 400, body
        if error is not None:
            assert response.json() == error, body
    zabbix = grafana.post("/integrations", json={"type": "zabbix"})
    assert "zabbix" in zabbix.json()["detail"]
    assert set(grafana.post("/integrations", json={"type": "webhook", "team_id": "tm_x"}).json()) == {
        "team_id"
    }
    chain = grafana.post(
        "/integrations", json={"type": "webhook", "default_route": {"escalation_chain_id": "ep_x"}}
    )
    assert set(chain.json()) == {"escalation_chain_id"}
    assert grafana.get("/integrations").json()["count"] == 1


def test_templates_map_onto_the_webhook_config(orgs: OrgFactory) -> None:
    grafana = Grafana(orgs.new())
    created = grafana.post(
        "/integrations",
        json={
            "type": "webhook",
            "templates": {
                "grouping_key": "{{ payload.id }}",
                "resolve_signal": "{{ payload.state == 'ok' }}",
                "web": {"title": "{{ payload.title }}", "message": None},
                "slack": None,
                "acknowledge_signal": None,
            },
        },
    ).json()
    templates = created["templates"]
    assert (templates["grouping_key"], templates["resolve_signal"], templates["web"]["title"]) == (
        "{{ payload.id }}",
        "{{ payload.state == 'ok' }}",
        "{{ payload.title }}",
    )
    assert templates["slack"] == {"title": None, "message": None, "image_url": None}
    assert list(templates) == [
        "grouping_key",
        "resolve_signal",
        "acknowledge_signal",
        "source_link",
        "slack",
        "web",
        "sms",
        "phone_call",
        "telegram",
    ]
    reset = grafana.patch(f"/integrations/{created['id']}", json={"templates": {"grouping_key": None}}).json()
    assert reset["templates"]["grouping_key"] is None
    assert reset["templates"]["web"]["title"] == "{{ payload.title }}"


def test_update_list_filters_and_delete(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = org.make_team()
    policy = _policy(org)
    grafana = Grafana(org)
    first = grafana.post("/integrations", json={"type": "webhook", "name": "One"}).json()
    second = grafana.post("/integrations", json={"type": "grafana_alerting", "name": "Two"}).json()

    updated = grafana.put(
        f"/integrations/{first['id']}",
        json={
            "name": "Uno",
            "team_id": team,
            "type": "alertmanager",
            "default_route": {"escalation_chain_id": policy},
        },
    ).json()
    assert (updated["name"], updated["team_id"], updated["type"]) == ("Uno", team, "webhook")
    assert updated["default_route"]["escalation_chain_id"] == policy
    cleared = grafana.patch(
        f"/integrations/{first['id']}", json={"default_route": {"escalation_chain_id": None}}
    )
    assert cleared.json()["default_route"]["escalation_chain_id"] is None
    assert grafana.patch(f"/integrations/{first['id']}", json={"name": None}).json() == {
        "name": ["This field may not be null."]
    }

    def names(**params: str) -> list[str]:
        return [item["name"] for item in grafana.get("/integrations", params=params).json()["results"]]

    assert names() == ["Uno", "Two"]  # oldest first
    assert names(name="Two") == ["Two"]
    assert names(team_id=team) == ["Uno"]

    assert grafana.delete(f"/integrations/{second['id']}").status_code == 204
    assert grafana.get(f"/integrations/{second['id']}").status_code == 404
    assert names() == ["Uno"]
    assert any(service["name"] == "Two" for service in org.get("/api/services").json()["data"])


def test_maintenance_start_and_stop(orgs: OrgFactory) -> None:
    org = orgs.new()
    grafana = Grafana(org)
    integration = grafana.post("/integrations", json={"type": "webhook", "name": "Hooks"}).json()
    path = f"/integrations/{integration['id']}"

    for body, error in (
        ({"mode": "party", "duration": 60}, {"mode": ["Unknown mode"]}),
        ({"mode": "maintenance", "duration": "long"}, {"duration": ["Invalid duration"]}),
        ({"mode": "maintenance"}, {"duration": ["Invalid duration"]}),
        ({"mode": "maintenance", "duration": 0}, {"duration": ["Invalid duration"]}),
    ):
        response = grafana.post(f"{path}/maintenance_start", json=body)
        assert (response.status_code, response.json()) == (400, error), body
    debug = grafana.post(f"{path}/maintenance_start", json={"mode": "debug", "duration": 60})
    assert debug.status_code == 400 and "debug" in debug.json()["mode"][0]

    started = grafana.post(f"{path}/maintenance_start", json={"mode": "maintenance", "duration": 3600}).json()
    assert started["maintenance_mode"] == "maintenance"
    assert started["maintenance_started_at"].endswith("Z") and started["maintenance_end_at"].endswith("Z")
    again = grafana.post(f"{path}/maintenance_start", json={"mode": "MAINTENANCE", "duration": 60})
    assert again.status_code == 400 and "already" in again.json()["detail"]

    stopped = grafana.post(f"{path}/maintenance_stop").json()
    assert (stopped["maintenance_mode"], stopped["maintenance_end_at"]) == (None, None)
    assert grafana.get(path).json()["maintenance_mode"] is None


def test_another_orgs_integration_is_not_found(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    theirs = Grafana(other).post("/integrations", json={"type": "webhook"}).json()["id"]
    grafana = Grafana(org)
    for method, path in (
        ("GET", f"/integrations/{theirs}"),
        ("PATCH", f"/integrations/{theirs}"),
        ("DELETE", f"/integrations/{theirs}"),
        ("POST", f"/integrations/{theirs}/maintenance_stop"),
    ):
        assert grafana.request(method, path, json={}).status_code == 404, (method, path)
    assert Grafana(other).get(f"/integrations/{theirs}").status_code == 200
