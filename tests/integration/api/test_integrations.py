"""/api/services/{id}/integrations through HTTP: every inbound type, per-type config checks, PATCH,
and the ready-to-paste URL and snippet each integration shows, built from TOCSIN_BASE_URL."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import pytest
import yaml  # PyYAML comes with uvicorn[standard]
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database

BASE = "https://oncall.example.com/tocsin"
TYPES = (
    "events_api_v2",
    "pagerduty",
    "alertmanager",
    "grafana_alerting",
    "webhook",
    "formatted_webhook",
    "opsgenie",
    "victorops",
)
TEMPLATES = {
    "title_template": "{{ payload.title }}",
    "dedup_key_template": "{{ payload.alert_uid }}",
    "resolve_condition": '{{ payload.state == "ok" }}',
    "severity_template": "{{ payload.level }}",
}


@pytest.fixture(scope="module")
def hosted(db_url: str, database: Database) -> Iterator[OrgFactory]:
    """Orgs on an app whose public URL has a path and a trailing slash, as behind a proxy."""
    app = create_app(settings_for(db_url, base_url=BASE + "/"), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield OrgFactory(database, client)


def _service(org: OrgHandle, **extra: Any) -> dict[str, Any]:
    response = org.post("/api/services", json={"name": "Payment API", "integrations": [], **extra})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _add(org: OrgHandle, service_id: str, **body: Any) -> dict[str, Any]:
    response = org.post(f"/api/services/{service_id}/integrations", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _blocks(snippet: str) -> list[str]:
    return snippet.split("\n\n")


def _receiver(snippet: str) -> tuple[str, dict[str, Any]]:
    """The Alertmanager receiver in a snippet's first block: (kind, its one config)."""
    document = yaml.safe_load(_blocks(snippet)[0])
    [receiver] = document["receivers"]
    assert receiver["name"] == "tocsin"
    [(kind, configs)] = [(k, v) for k, v in receiver.items() if k != "name"]
    [config] = configs
    return kind, config


# --- URLs and snippets --------------------------------------------------------------------------


def test_each_type_has_its_url_and_snippet(hosted: OrgFactory) -> None:
    org = hosted.new()
    service = _service(org)
    made = {kind: _add(org, service["id"], type=kind, routing_key=f"{kind[:8]}-{org.slug}") for kind in TYPES}
    keys = {kind: item["routing_key"] for kind, item in made.items()}
    assert {kind: item["url"] for kind, item in made.items()} == {
        "events_api_v2": f"{BASE}/v2/enqueue",
        "pagerduty": f"{BASE}/v2/enqueue",
        "alertmanager": f"{BASE}/integrations/v1/alertmanager/{keys['alertmanager']}/",
        "grafana_alerting": f"{BASE}/integrations/v1/grafana_alerting/{keys['grafana_alerting']}/",
        "webhook": f"{BASE}/integrations/v1/webhook/{keys['webhook']}/",
        "formatted_webhook": f"{BASE}/integrations/v1/formatted_webhook/{keys['formatted_webhook']}/",
        "opsgenie": f"{BASE}/v2/alerts",
        "victorops": f"{BASE}/integrations/generic/20131114/alert/{keys['victorops']}/default",
    }
    snippets = {kind: item["config_snippet"] for kind, item in made.items()}

    # Alertmanager's own receivers, with the field names of its config/notifiers.go.
    for kind in ("events_api_v2", "pagerduty"):
        assert _receiver(snippets[kind]) == (
            "pagerduty_configs",
            {"url": f"{BASE}/v2/enqueue", "routing_key": keys[kind]},
        )
    assert _receiver(snippets["alertmanager"]) == (
        "webhook_configs",
        {"url": made["alertmanager"]["url"], "send_resolved": True},
    )
    assert _receiver(snippets["opsgenie"]) == (
        "opsgenie_configs",
        {"api_url": f"{BASE}/", "api_key": keys["opsgenie"]},
    )
    assert _receiver(snippets["victorops"]) == (
        "victorops_configs",
        {
            "api_url": f"{BASE}/integrations/generic/20131114/alert/",
            "api_key": keys["victorops"],
            "routing_key": "default",
        },
    )

    # curl lines: the URL, the key where the format carries it in the body or a header.
    curl = {kind: next(b for b in _blocks(s) if "curl -X POST" in b) for kind, s in snippets.items()}
    assert f"curl -X POST {BASE}/v2/enqueue" in curl["events_api_v2"]
    assert f'"routing_key": "{keys["events_api_v2"]}"' in curl["events_api_v2"]
    assert f"{BASE}/generic/2010-04-15/create_event.json" in snippets["pagerduty"]
    assert f'"service_key": "{keys["pagerduty"]}"' in snippets["pagerduty"]
    assert f"Authorization: GenieKey {keys['opsgenie']}" in curl["opsgenie"]
    assert f"curl -X POST {BASE}/v2/alerts" in curl["opsgenie"]
    assert f"curl -X POST {made['victorops']['url']}" in curl["victorops"]
    assert '"message_type": "CRITICAL"' in curl["victorops"]
    for kind in ("webhook", "formatted_webhook"):
        assert f"curl -X POST {made[kind]['url']}" in curl[kind]
    for kind in ("alertmanager", "grafana_alerting"):
        assert f"curl -X POST {made[kind]['url']}" in curl[kind]
        assert '"status": "firing"' in curl[kind]
    assert f"URL: {made['grafana_alerting']['url']}" in snippets["grafana_alerting"]
    assert "Contact points" in snippets["grafana_alerting"]


def test_urls_show_wherever_integrations_are_read(hosted: OrgFactory) -> None:
    org = hosted.new()
    service = _service(org, integrations=[{"type": "alertmanager"}, {}])
    alertmanager, events = service["integrations"]
    assert alertmanager["url"] == f"{BASE}/integrations/v1/alertmanager/{alertmanager['routing_key']}/"
    assert events["url"] == f"{BASE}/v2/enqueue"
    assert (events["type"], events["config"]) == ("events_api_v2", {})
    base = f"/api/services/{service['id']}/integrations"
    assert org.get(base).json()["data"] == [alertmanager, events]
    assert org.get(f"{base}/{alertmanager['id']}").json() == {"data": alertmanager}
    assert org.get(f"/api/services/{service['id']}").json()["data"]["integrations"] == [alertmanager, events]
    listed = org.get("/api/services").json()["data"]
    assert [s["integrations"] for s in listed] == [[alertmanager, events]]


def test_the_default_base_url_is_the_local_server(orgs: OrgFactory) -> None:
    org = orgs.new()
    [integration] = _service(org, integrations=[{"type": "opsgenie"}])["integrations"]
    assert integration["url"] == "http://127.0.0.1:8080/v2/alerts"
    assert _receiver(integration["config_snippet"])[1]["api_url"] == "http://127.0.0.1:8080/"


# --- type and config validation -----------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_every_type_is_accepted_and_named(orgs: OrgFactory, kind: str) -> None:
    org = orgs.new()
    service = _service(org)
    made = _add(org, service["id"], type=kind)
    assert (made["type"], made["config"]) == (kind, {})
    assert made["name"] == kind.replace("_", " ").title()
    assert made["url"] and made["config_snippet"]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"type": "carrier-pigeon"}, "type", "unknown"),
        ({"type": "events_api_v1"}, "type", "unknown"),
        ({"type": None}, "type", "string_type"),
        ({"type": "alertmanager", "config": {"title_template": "x"}}, "config.title_template", "unknown"),
        ({"type": "events_api_v2", "config": {"url": "x"}}, "config.url", "unknown"),
        ({"config": {"dedup_key_template": "x"}}, "config.dedup_key_template", "unknown"),
        ({"type": "webhook", "config": {"title": "x"}}, "config.title", "unknown"),
        ({"type": "webhook", "config": {"title_template": 5}}, "config.title_template", "string_type"),
        (
            {"type": "webhook", "config": {"resolve_condition": ["x"]}},
            "config.resolve_condition",
            "string_type",
        ),
        (
            {"type": "formatted_webhook", "config": {"severity_template": "x" * 2001}},
            "config.severity_template",
            "too_long",
        ),
        ({"type": "webhook", "config": "templates"}, "config", "dict_type"),
        ({"type": "webhook", "url": "https://example.com"}, "url", "unknown_field"),
    ],
)
def test_bad_type_or_config_is_a_validation_error_naming_the_field(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    service = _service(org)
    error = expect_error(
        org.post(f"/api/services/{service['id']}/integrations", json=body), 400, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": field, "reason": reason}
    if reason == "unknown" and field == "type":
        assert "alertmanager" in error["message"] and "victorops" in error["message"]
    assert org.get(f"/api/services/{service['id']}/integrations").json()["data"] == []


def test_nested_integrations_are_checked_the_same_way(orgs: OrgFactory) -> None:
    org = orgs.new()
    for integration, field in (
        ({"type": "nagios"}, "type"),
        ({"type": "opsgenie", "config": {"title_template": "x"}}, "config.title_template"),
    ):
        response = org.post("/api/services", json={"name": "x", "integrations": [{}, integration]})
        assert expect_error(response, 400, "VALIDATION_ERROR")["details"]["field"] == field
    assert org.get("/api/services").json()["data"] == []


def test_webhook_templates_are_kept(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _service(org)
    longest = {"title_template": "x" * 2000}
    for kind in ("webhook", "formatted_webhook"):
        made = _add(org, service["id"], type=kind, config=TEMPLATES)
        assert made["config"] == TEMPLATES
        assert _add(org, service["id"], type=kind, config=longest)["config"] == longest
    # A null template is the same as leaving it out.
    made = _add(org, service["id"], type="webhook", config={"title_template": None, "resolve_condition": "x"})
    assert made["config"] == {"resolve_condition": "x"}


# --- PATCH --------------------------------------------------------------------------------------


def test_patch_changes_name_config_and_type_but_never_the_key(hosted: OrgFactory) -> None:
    org = hosted.new()
    service = _service(org)
    made = _add(org, service["id"], type="webhook", name="Jenkins")
    path = f"/api/services/{service['id']}/integrations/{made['id']}"

    response = org.patch(path, json={"config": TEMPLATES})
    assert response.status_code == 200, response.text
    patched = response.json()["data"]
    assert (patched["name"], patched["type"], patched["config"]) == ("Jenkins", "webhook", TEMPLATES)
    assert {k: patched[k] for k in ("id", "routing_key", "url", "created_at")} == {
        k: made[k] for k in ("id", "routing_key", "url", "created_at")
    }

    patched = org.patch(path, json={"name": "Jenkins CI", "config": {"title_template": "{{ payload.job }}"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["config"] == {"title_template": "{{ payload.job }}"}  # replaced whole
    assert patched.json()["data"]["name"] == "Jenkins CI"

    # Retyping to a type that takes no templates needs the config cleared in the same request.
    refused = expect_error(org.patch(path, json={"type": "alertmanager"}), 400, "VALIDATION_ERROR")
    assert refused["details"] == {"field": "config.title_template", "reason": "unknown"}
    assert org.get(path).json()["data"]["type"] == "webhook"
    patched = org.patch(path, json={"type": "alertmanager", "config": {}})
    assert patched.status_code == 200, patched.text
    retyped = patched.json()["data"]
    assert (retyped["type"], retyped["config"], retyped["routing_key"]) == (
        "alertmanager",
        {},
        made["routing_key"],
    )
    assert retyped["url"] == f"{BASE}/integrations/v1/alertmanager/{made['routing_key']}/"
    assert "webhook_configs" in retyped["config_snippet"]
    assert org.get(path).json() == {"data": retyped}

    # An empty PATCH changes nothing; a null config clears it.
    assert org.patch(path, json={}).json() == {"data": retyped}
    webhook = _add(org, service["id"], type="formatted_webhook", config=TEMPLATES)
    webhook_path = f"/api/services/{service['id']}/integrations/{webhook['id']}"
    assert org.patch(webhook_path, json={"config": None}).json()["data"]["config"] == {}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"type": "smoke-signal"}, "type", "unknown"),
        ({"type": None}, "type", "unknown"),
        ({"name": ""}, "name", "required"),
        ({"name": None}, "name", "required"),
        ({"config": {"title_template": "x" * 2001}}, "config.title_template", "too_long"),
        ({"config": {"priority": "P1"}}, "config.priority", "unknown"),
        ({"routing_key": "new-key-123"}, "routing_key", "unknown_field"),
        ({"id": "int_other"}, "id", "unknown_field"),
    ],
)
def test_patch_validation_changes_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    service = _service(org)
    made = _add(org, service["id"], type="webhook", config={"title_template": "{{ payload.title }}"})
    path = f"/api/services/{service['id']}/integrations/{made['id']}"
    error = expect_error(org.patch(path, json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}
    assert org.get(path).json() == {"data": made}


def test_patch_and_get_only_under_the_owning_service_and_org(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    one, two = _service(org), _service(org)
    made = _add(org, one["id"], type="opsgenie")
    for handle, service_id in ((org, two["id"]), (other, one["id"])):
        path = f"/api/services/{service_id}/integrations/{made['id']}"
        expect_error(handle.get(path), 404, "NOT_FOUND")
        expect_error(handle.patch(path, json={"name": "mine"}), 404, "NOT_FOUND")
    theirs = _service(other)
    expect_error(
        other.patch(f"/api/services/{theirs['id']}/integrations/int_nope", json={}), 404, "NOT_FOUND"
    )
    assert org.get(f"/api/services/{one['id']}/integrations/{made['id']}").json() == {"data": made}


def test_patch_needs_services_write(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _service(org)
    made = _add(org, service["id"], type="victorops")
    path = f"/api/services/{service['id']}/integrations/{made['id']}"
    reader = org.make_key(["services:read"])
    assert org.get(path, key=reader).json() == {"data": made}
    expect_error(org.patch(path, key=reader, json={"name": "x"}), 403, "FORBIDDEN")
    assert org.get(path).json() == {"data": made}


# --- the snippets work as printed ---------------------------------------------------------------


def _curls(snippet: str) -> list[tuple[str, dict[str, str], str]]:
    """Each curl line of a snippet as (url, headers, body), read the way a shell would."""
    found = []
    for block in _blocks(snippet):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        if not lines or not lines[0].startswith("curl "):
            continue
        words = shlex.split(" ".join(lines).replace("\\ ", " "))
        assert words[:3] == ["curl", "-X", "POST"]
        url, rest = words[3], words[4:]
        headers: dict[str, str] = {}
        body = ""
        for flag, value in zip(rest[::2], rest[1::2], strict=True):
            if flag == "-H":
                name, _, text = value.partition(": ")
                headers[name] = text
            else:
                assert flag == "-d"
                body = value
        found.append((url, headers, body))
    return found


@pytest.mark.parametrize("kind", TYPES)
def test_each_snippet_curl_opens_an_incident_as_printed(orgs: OrgFactory, kind: str) -> None:
    org = orgs.new()
    service = _service(org, integrations=[{"type": kind}])
    [integration] = service["integrations"]
    curls = _curls(integration["config_snippet"])
    assert curls
    for url, headers, body in curls:
        assert url.startswith("http://127.0.0.1:8080/")
        response = org.client.post(url.removeprefix("http://127.0.0.1:8080"), headers=headers, content=body)
        assert response.status_code < 300, (url, response.status_code, response.text)
    response = org.get("/api/incidents", params={"service_id": service["id"]})
    [incident] = response.json()["data"]  # PagerDuty's v1 line names the same incident as its v2 line
    assert "Disk full on db-01" in incident["title"]
    assert incident["status"] == "OPEN"
