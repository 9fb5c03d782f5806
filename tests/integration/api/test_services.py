"""/api/services through HTTP: CRUD, nested integrations and routing keys, filters, pagination,
scopes, tenancy and test/live separation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database

SERVICE_FIELDS = {
    "id",
    "name",
    "description",
    "team_id",
    "escalation_policy_id",
    "ack_timeout_minutes",
    "integrations",
    "maintenance_windows",
    "in_maintenance",
    "livemode",
    "created_at",
    "updated_at",
}


def _create(org: OrgHandle, name: str = "Payment API", **extra: Any) -> dict[str, Any]:
    response = org.post("/api/services", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    return dict(expect_error(response, status, code)["details"])


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["data"]]


def _incidents(org: OrgHandle) -> list[dict[str, Any]]:
    response = org.get("/api/incidents")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


# --- create, read, update, delete ---------------------------------------------------------------


def test_create_without_integrations_gets_one_events_api_v2_integration(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = _create(org, "Payment API")
    assert set(created) == SERVICE_FIELDS
    assert created["id"].startswith("svc_")
    assert created["name"] == "Payment API"
    assert created["description"] is None
    assert created["team_id"] is None
    assert created["escalation_policy_id"] is None
    assert created["ack_timeout_minutes"] is None
    assert created["maintenance_windows"] == []
    assert created["in_maintenance"] is False
    assert created["livemode"] is True
    assert created["created_at"] == created["updated_at"]
    assert created["created_at"].endswith("Z")
    [integration] = created["integrations"]
    assert set(integration) == {
        "id", "name", "type", "routing_key", "config", "url", "config_snippet", "created_at"
    }  # fmt: skip
    assert integration["id"].startswith("int_")
    assert integration["name"] == "Events API v2"
    assert integration["type"] == "events_api_v2"
    assert re.fullmatch(r"[0-9a-f]{32}", integration["routing_key"])

    assert org.get(f"/api/services/{created['id']}").json() == {"data": created}

    sent = org.trigger(integration["routing_key"], dedup_key="first")
    assert sent.status_code == 202, sent.text
    [incident] = _incidents(org)
    assert incident["service_id"] == created["id"]
    assert incident["status"] == "OPEN"


def test_each_generated_routing_key_is_different(orgs: OrgFactory) -> None:
    org = orgs.new()
    keys = {_create(org, f"svc {i}")["integrations"][0]["routing_key"] for i in range(3)}
    assert len(keys) == 3


def test_create_with_every_field(orgs: OrgFactory) -> None:
    org = orgs.new()
    team_id = org.make_team("Payments")
    created = _create(
        org,
        "  Checkout  ",
        description="Takes the money",
        team_id=team_id,
        ack_timeout_minutes=15,
        integrations=[
            {"name": "Prometheus", "type": "alertmanager", "routing_key": "prom.prod-1"},
            {"type": "grafana_alerting"},
            {},
        ],
    )
    assert created["name"] == "Checkout"
    assert created["description"] == "Takes the money"
    assert created["team_id"] == team_id
    assert created["ack_timeout_minutes"] == 15
    got = [(i["name"], i["type"]) for i in created["integrations"]]
    assert got == [
        ("Prometheus", "alertmanager"),
        ("Grafana Alerting", "grafana_alerting"),
        ("Events Api V2", "events_api_v2"),
    ]
    assert created["integrations"][0]["routing_key"] == "prom.prod-1"
    assert len({i["routing_key"] for i in created["integrations"]}) == 3


def test_an_empty_integration_list_means_none(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = _create(org, integrations=[])
    assert created["integrations"] == []
    listed = org.get(f"/api/services/{created['id']}/integrations").json()
    assert listed == {"data": [], "pagination": {"total": 0, "limit": 25, "offset": 0, "has_more": False}}


def test_patch_changes_only_the_fields_sent(orgs: OrgFactory) -> None:
    org = orgs.new()
    team_a, team_b = org.make_team("A"), org.make_team("B")
    created = _create(org, "Old", description="keep me", team_id=team_a, ack_timeout_minutes=5)

    response = org.patch(f"/api/services/{created['id']}", json={"name": "New", "ack_timeout_minutes": 30})
    assert response.status_code == 200, response.text
    patched = response.json()["data"]
    assert patched["name"] == "New"
    assert patched["ack_timeout_minutes"] == 30
    assert patched["description"] == "keep me"
    assert patched["team_id"] == team_a
    assert patched["integrations"] == created["integrations"]
    assert patched["created_at"] == created["created_at"]
    assert patched["updated_at"] >= created["updated_at"]

    patched = org.patch(
        f"/api/services/{created['id']}", json={"team_id": team_b, "description": None}
    ).json()
    assert (patched["data"]["team_id"], patched["data"]["description"]) == (team_b, None)
    patched = org.patch(f"/api/services/{created['id']}", json={"team_id": None, "ack_timeout_minutes": None})
    assert patched.json()["data"]["team_id"] is None
    assert patched.json()["data"]["ack_timeout_minutes"] is None
    assert patched.json()["data"]["name"] == "New"

    unchanged = org.patch(f"/api/services/{created['id']}", json={})
    assert unchanged.status_code == 200
    assert org.get(f"/api/services/{created['id']}").json() == unchanged.json()


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "name", "required"),
        ({"name": ""}, "name", "required"),
        ({"name": "   "}, "name", "required"),
        ({"name": None}, "name", "string_type"),
        ({"name": "x" * 201}, "name", "too_long"),
        ({"name": "ok", "description": "x" * 2001}, "description", "string_too_long"),
        ({"name": "ok", "ack_timeout_minutes": 0}, "ack_timeout_minutes", "range"),
        ({"name": "ok", "ack_timeout_minutes": 10081}, "ack_timeout_minutes", "range"),
        ({"name": "ok", "ack_timeout_minutes": "soon"}, "ack_timeout_minutes", "int_parsing"),
        ({"name": "ok", "integrations": [{"type": "carrier-pigeon"}]}, "type", "unknown"),
        ({"name": "ok", "integrations": [{"name": "x" * 201}]}, "name", "too_long"),
        ({"name": "ok", "integrations": [{"token": "x"}]}, "integrations.0.token", "unknown_field"),
        ({"name": "ok", "integrations": "all"}, "integrations", "list_type"),
        ({"name": "ok", "escalation_policy_id": "ep_1"}, "escalation_policy_id", "not_found"),
        ({"name": "ok", "livemode": False}, "livemode", "unknown_field"),
    ],
)
def test_create_validation(orgs: OrgFactory, body: dict[str, Any], field: str, reason: str) -> None:
    org = orgs.new()
    details = _error(org.post("/api/services", json=body), 400, "VALIDATION_ERROR")
    assert details == {"field": field, "reason": reason}
    assert org.get("/api/services").json()["pagination"]["total"] == 0


def test_body_must_be_a_json_object(orgs: OrgFactory) -> None:
    org = orgs.new()
    details = _error(org.post("/api/services", content=b"[1, 2]"), 400, "VALIDATION_ERROR")
    assert details == {"field": "body", "reason": "invalid_json"}
    details = _error(
        org.post("/api/services", content=b"{nope", headers={"Content-Type": "application/json"}),
        400,
        "VALIDATION_ERROR",
    )
    assert details["reason"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": None}, "name", "required"),
        ({"ack_timeout_minutes": -1}, "ack_timeout_minutes", "range"),
        ({"description": "x" * 2001}, "description", "string_too_long"),
        ({"integrations": []}, "integrations", "unknown_field"),
        ({"id": "svc_other"}, "id", "unknown_field"),
    ],
)
def test_patch_validation_changes_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    created = _create(org, "Stays", ack_timeout_minutes=5)
    details = _error(org.patch(f"/api/services/{created['id']}", json=body), 400, "VALIDATION_ERROR")
    assert details == {"field": field, "reason": reason}
    assert org.get(f"/api/services/{created['id']}").json()["data"] == created


def test_delete_service(orgs: OrgFactory) -> None:
    org = orgs.new()
    keep = _create(org, "Keep")
    gone = _create(org, "Gone")
    response = org.delete(f"/api/services/{gone['id']}")
    assert response.status_code == 204
    assert response.content == b""
    _error(org.get(f"/api/services/{gone['id']}"), 404, "NOT_FOUND")
    _error(org.delete(f"/api/services/{gone['id']}"), 404, "NOT_FOUND")
    assert _names(org.get("/api/services")) == ["Keep"]
    details = _error(org.trigger(gone["integrations"][0]["routing_key"]), 400, "VALIDATION_ERROR")
    assert details["field"] == "routing_key"
    assert org.trigger(keep["integrations"][0]["routing_key"]).status_code == 202


def test_delete_is_refused_while_an_incident_is_unresolved(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _create(org)
    routing_key = service["integrations"][0]["routing_key"]
    assert org.trigger(routing_key, dedup_key="db-down").status_code == 202
    [incident] = _incidents(org)

    details = _error(org.delete(f"/api/services/{service['id']}"), 409, "CONFLICT")
    assert details == {"service_id": service["id"]}
    assert org.post(f"/api/incidents/{incident['id']}/acknowledge").status_code == 200
    _error(org.delete(f"/api/services/{service['id']}"), 409, "CONFLICT")
    assert org.get(f"/api/services/{service['id']}").status_code == 200

    assert org.post(f"/api/incidents/{incident['id']}/resolve").status_code == 200
    assert org.delete(f"/api/services/{service['id']}").status_code == 204
    _error(org.get(f"/api/services/{service['id']}"), 404, "NOT_FOUND")
    # the resolved history goes with the service
    _error(org.get(f"/api/incidents/{incident['id']}"), 404, "NOT_FOUND")


def test_an_incident_created_over_the_api_also_blocks_delete(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _create(org)
    made = org.post("/api/incidents", json={"title": "by hand", "service_id": service["id"]})
    assert made.status_code == 201, made.text
    _error(org.delete(f"/api/services/{service['id']}"), 409, "CONFLICT")
    org.post(f"/api/incidents/{made.json()['data']['id']}/resolve")
    assert org.delete(f"/api/services/{service['id']}").status_code == 204


# --- integrations -------------------------------------------------------------------------------


def test_integrations_crud_and_events(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _create(org, integrations=[])
    base = f"/api/services/{service['id']}/integrations"

    response = org.post(base, json={"name": "Datadog", "routing_key": "datadog-payments"})
    assert response.status_code == 201, response.text
    chosen = response.json()["data"]
    assert chosen["id"].startswith("int_")
    assert (chosen["name"], chosen["type"], chosen["routing_key"]) == (
        "Datadog",
        "events_api_v2",
        "datadog-payments",
    )
    generated = org.post(base, json={"type": "webhook"}).json()["data"]
    assert (generated["name"], generated["type"]) == ("Webhook", "webhook")
    assert re.fullmatch(r"[0-9a-f]{32}", generated["routing_key"])

    listed = org.get(base).json()
    assert listed["data"] == [chosen, generated]
    assert listed["pagination"] == {"total": 2, "limit": 25, "offset": 0, "has_more": False}
    assert org.get(f"/api/services/{service['id']}").json()["data"]["integrations"] == [chosen, generated]

    sent = org.trigger("datadog-payments", dedup_key="cpu")
    assert sent.status_code == 202, sent.text
    assert sent.json()["dedup_key"] == "cpu"
    [incident] = _incidents(org)
    assert incident["service_id"] == service["id"]
    assert incident["dedup_key"] == "cpu"

    response = org.delete(f"{base}/{chosen['id']}")
    assert response.status_code == 204 and response.content == b""
    details = _error(org.trigger("datadog-payments", dedup_key="cpu"), 400, "VALIDATION_ERROR")
    assert details["field"] == "routing_key"
    assert [i["id"] for i in org.get(base).json()["data"]] == [generated["id"]]
    _error(org.delete(f"{base}/{chosen['id']}"), 404, "NOT_FOUND")
    # the other integration is untouched
    assert org.trigger(generated["routing_key"], dedup_key="other").status_code == 202
    # a deleted routing key is free again
    again = org.post(base, json={"routing_key": "datadog-payments"})
    assert again.status_code == 201, again.text
    assert org.trigger("datadog-payments", dedup_key="cpu").status_code == 202


def test_integrations_pagination(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _create(org, integrations=[{"routing_key": f"rk-{org.slug}-{i}"} for i in range(3)])
    base = f"/api/services/{service['id']}/integrations"
    page = org.get(base, params={"limit": 2, "offset": 1}).json()
    assert [i["routing_key"] for i in page["data"]] == [f"rk-{org.slug}-1", f"rk-{org.slug}-2"]
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 1, "has_more": False}
    page = org.get(base, params={"limit": 1}).json()
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 0, "has_more": True}
    assert org.get(base, params={"offset": 9}).json()["data"] == []
    assert _error(org.get(base, params={"limit": 1000}), 400, "VALIDATION_ERROR")["field"] == "limit"


def test_an_integration_is_deleted_only_under_its_own_service(orgs: OrgFactory) -> None:
    org = orgs.new()
    one, two = _create(org, "One"), _create(org, "Two")
    integration = one["integrations"][0]
    details = _error(
        org.delete(f"/api/services/{two['id']}/integrations/{integration['id']}"), 404, "NOT_FOUND"
    )
    assert details == {"resource": "integration", "id": integration["id"]}
    assert org.get(f"/api/services/{one['id']}").json()["data"]["integrations"] == [integration]
    assert org.trigger(integration["routing_key"]).status_code == 202


@pytest.mark.parametrize(
    "routing_key",
    ["ab", "-abc", ".abc", "has space", "x" * 65, "slash/key", "abc\n", "ключ-123", "tab\tkey", ""],
)
def test_routing_key_format_errors(orgs: OrgFactory, routing_key: str) -> None:
    org = orgs.new()
    service = _create(org, integrations=[])
    details = _error(
        org.post(f"/api/services/{service['id']}/integrations", json={"routing_key": routing_key}),
        400,
        "VALIDATION_ERROR",
    )
    assert details == {"field": "routing_key", "reason": "format"}
    details = _error(
        org.post("/api/services", json={"name": "x", "integrations": [{"routing_key": routing_key}]}),
        400,
        "VALIDATION_ERROR",
    )
    assert details == {"field": "routing_key", "reason": "format"}
    # nothing was half-created
    assert org.get(f"/api/services/{service['id']}/integrations").json()["data"] == []
    assert org.get("/api/services").json()["pagination"]["total"] == 1


@pytest.mark.parametrize("shape", ["shortest", "longest", "punctuation"])
def test_routing_key_format_edges_that_are_allowed(orgs: OrgFactory, shape: str) -> None:
    org = orgs.new()
    random = uuid.uuid4().hex
    routing_key = {
        "shortest": random[:3],
        "longest": ("Z" + random * 2)[:64],
        "punctuation": f"A1.b_c-{random}",
    }[shape]
    created = _create(org, integrations=[{"routing_key": routing_key}])
    assert created["integrations"][0]["routing_key"] == routing_key
    assert org.trigger(routing_key).status_code == 202
    assert _incidents(org)[0]["service_id"] == created["id"]


def test_a_routing_key_already_used_anywhere_is_a_conflict(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    taken = f"taken-{org.slug}"
    owner = _create(org, "Owner", integrations=[{"routing_key": taken}])
    second = _create(org, "Second", integrations=[])

    for handle, service_id in ((org, owner["id"]), (org, second["id"])):
        details = _error(
            handle.post(f"/api/services/{service_id}/integrations", json={"routing_key": taken}),
            409,
            "CONFLICT",
        )
        assert details == {"field": "routing_key"}
    # another org, and the same org's test mode, may not take it either
    elsewhere = _create(other, "Elsewhere", integrations=[])
    details = _error(
        other.post(f"/api/services/{elsewhere['id']}/integrations", json={"routing_key": taken}),
        409,
        "CONFLICT",
    )
    assert details == {"field": "routing_key"}
    _error(
        other.post("/api/services", json={"name": "x", "integrations": [{"routing_key": taken}]}),
        409,
        "CONFLICT",
    )
    _error(
        org.test_mode().post("/api/services", json={"name": "x", "integrations": [{"routing_key": taken}]}),
        409,
        "CONFLICT",
    )
    # two integrations in one create may not share a key
    _error(
        other.post(
            "/api/services",
            json={"name": "x", "integrations": [{"routing_key": f"dup-{other.slug}"}] * 2},
        ),
        409,
        "CONFLICT",
    )
    assert _names(other.get("/api/services")) == ["Elsewhere"]
    assert other.get(f"/api/services/{elsewhere['id']}/integrations").json()["data"] == []
    # and the owner still receives its events; the other org cannot send to it
    assert org.trigger(taken).status_code == 202
    assert _error(other.trigger(taken), 400, "VALIDATION_ERROR")["field"] == "routing_key"


# --- list, filters, pagination --------------------------------------------------------------------


def test_list_filters_and_order(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    team_a, team_b = org.make_team("A"), org.make_team("B")
    _create(org, "Search")
    _create(org, "Payments web", team_id=team_a)
    _create(org, "Payments DB", team_id=team_b)
    _create(org, "Auth", team_id=team_a)
    _create(other, "Payments elsewhere")

    assert _names(org.get("/api/services")) == ["Auth", "Payments DB", "Payments web", "Search"]
    assert set(_names(org.get("/api/services", params={"team_id": team_a}))) == {"Payments web", "Auth"}
    assert set(_names(org.get("/api/services", params={"team_id": f"{team_a},{team_b}"}))) == {
        "Payments web",
        "Payments DB",
        "Auth",
    }
    assert set(_names(org.get("/api/services", params={"query": "PAYMENTS"}))) == {
        "Payments web",
        "Payments DB",
    }
    assert _names(org.get("/api/services", params={"query": "payments", "team_id": team_b})) == [
        "Payments DB"
    ]
    assert _names(org.get("/api/services", params={"query": "nothing-like-this"})) == []
    assert len(_names(org.get("/api/services", params={"query": "  "}))) == 4
    # another org's team id filters to nothing, it does not leak
    other_team = other.make_team("Theirs")
    assert _names(org.get("/api/services", params={"team_id": other_team})) == []
    assert _names(other.get("/api/services")) == ["Payments elsewhere"]


def test_list_pagination_edges(orgs: OrgFactory) -> None:
    org = orgs.new()
    for name in ("a", "b", "c", "d", "e"):
        _create(org, name)
    first = org.get("/api/services", params={"limit": 2}).json()
    assert [s["name"] for s in first["data"]] == ["a", "b"]
    assert first["pagination"] == {"total": 5, "limit": 2, "offset": 0, "has_more": True}
    last = org.get("/api/services", params={"limit": 2, "offset": 4}).json()
    assert [s["name"] for s in last["data"]] == ["e"]
    assert last["pagination"] == {"total": 5, "limit": 2, "offset": 4, "has_more": False}
    exact = org.get("/api/services", params={"limit": 5}).json()
    assert exact["pagination"]["has_more"] is False and len(exact["data"]) == 5
    past = org.get("/api/services", params={"offset": 50}).json()
    assert past == {"data": [], "pagination": {"total": 5, "limit": 25, "offset": 50, "has_more": False}}
    assert org.get("/api/services", params={"limit": 100}).status_code == 200
    for params, field in (
        ({"limit": 1000}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "many"}, "limit"),
    ):
        assert _error(org.get("/api/services", params=params), 400, "VALIDATION_ERROR")["field"] == field


# --- teams and tenancy ----------------------------------------------------------------------------


def test_team_from_another_org_is_a_validation_error(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    foreign_team = other.make_team("Theirs")
    details = _error(
        org.post("/api/services", json={"name": "x", "team_id": foreign_team}), 400, "VALIDATION_ERROR"
    )
    assert details == {"field": "team_id", "reason": "not_found"}
    details = _error(
        org.post("/api/services", json={"name": "x", "team_id": "tm_nope"}), 400, "VALIDATION_ERROR"
    )
    assert details == {"field": "team_id", "reason": "not_found"}
    assert org.get("/api/services").json()["pagination"]["total"] == 0

    service = _create(org)
    details = _error(
        org.patch(f"/api/services/{service['id']}", json={"team_id": foreign_team}), 400, "VALIDATION_ERROR"
    )
    assert details == {"field": "team_id", "reason": "not_found"}
    assert org.get(f"/api/services/{service['id']}").json()["data"]["team_id"] is None
    # a live team is unknown to test mode
    assert _error(
        org.test_mode().post("/api/services", json={"name": "t", "team_id": org.make_team("live")}),
        400,
        "VALIDATION_ERROR",
    ) == {"field": "team_id", "reason": "not_found"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/services/{svc}", None),
        ("PATCH", "/api/services/{svc}", {"name": "mine now"}),
        ("DELETE", "/api/services/{svc}", None),
        ("GET", "/api/services/{svc}/integrations", None),
        ("POST", "/api/services/{svc}/integrations", {}),
        ("DELETE", "/api/services/{svc}/integrations/{int}", None),
        ("GET", "/api/services/{svc}/maintenance-windows", None),
        (
            "POST",
            "/api/services/{svc}/maintenance-windows",
            {"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"},
        ),
        ("DELETE", "/api/services/{svc}/maintenance-windows/{mw}", None),
    ],
)
def test_another_orgs_and_unknown_ids_are_404(
    orgs: OrgFactory, method: str, path: str, body: dict[str, Any] | None
) -> None:
    org, other = orgs.new(), orgs.new()
    theirs = _create(other, "Theirs")
    window = other.post(
        f"/api/services/{theirs['id']}/maintenance-windows",
        json={"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"},
    ).json()["data"]
    mine = _create(org, "Mine")
    refs = {"int": theirs["integrations"][0]["id"], "mw": window["id"]}

    for service_id in (theirs["id"], "svc_does_not_exist"):
        url = path.format(svc=service_id, **refs)
        response = org.request(method, url, **({} if body is None else {"json": body}))
        details = _error(response, 404, "NOT_FOUND")
        assert details == {"resource": "service", "id": service_id}
    # their ids under my service are 404 too (for the nested resources)
    if "{int}" in path or "{mw}" in path:
        url = path.format(svc=mine["id"], **refs)
        details = _error(org.request(method, url), 404, "NOT_FOUND")
        assert details["id"] in refs.values()
    # and nothing of theirs changed
    assert other.get(f"/api/services/{theirs['id']}").json()["data"] == {
        **theirs,
        "maintenance_windows": [window],
    }


# --- keys, scopes, modes --------------------------------------------------------------------------


def test_read_only_key_can_read_but_not_write(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _create(org)
    reader = org.make_key(["services:read"])
    assert org.get("/api/services", key=reader).json()["data"][0]["id"] == service["id"]
    assert org.get(f"/api/services/{service['id']}", key=reader).status_code == 200
    assert org.get(f"/api/services/{service['id']}/integrations", key=reader).status_code == 200
    for method, path, body in (
        ("POST", "/api/services", {"name": "nope"}),
        ("PATCH", f"/api/services/{service['id']}", {"name": "nope"}),
        ("DELETE", f"/api/services/{service['id']}", None),
        ("POST", f"/api/services/{service['id']}/integrations", {}),
    ):
        response = org.request(method, path, key=reader, **({} if body is None else {"json": body}))
        _error(response, 403, "FORBIDDEN")
    assert _names(org.get("/api/services")) == ["Payment API"]
    assert len(org.get(f"/api/services/{service['id']}").json()["data"]["integrations"]) == 1


def test_missing_scope_is_403_and_names_it(orgs: OrgFactory) -> None:
    org = orgs.new()
    service = _create(org)
    incidents_only = org.make_key(["incidents:write"])
    details = _error(org.get("/api/services", key=incidents_only), 403, "FORBIDDEN")
    assert details == {"required_scope": "services:read"}
    details = _error(org.post("/api/services", key=incidents_only, json={"name": "x"}), 403, "FORBIDDEN")
    assert details == {"required_scope": "services:write"}
    details = _error(
        org.post(f"/api/services/{service['id']}/integrations", key=incidents_only, json={}), 403, "FORBIDDEN"
    )
    assert details == {"required_scope": "services:write"}
    # write implies read
    writer = org.make_key(["services:write"])
    assert org.get(f"/api/services/{service['id']}", key=writer).status_code == 200
    assert org.post("/api/services", key=writer, json={"name": "w"}).status_code == 201
    assert org.get("/api/services").json()["pagination"]["total"] == 2


def test_test_and_live_mode_are_separate(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_service = _create(live, "Live")
    test_service = _create(test, "Sandbox")
    assert test_service["livemode"] is False
    assert live_service["livemode"] is True

    assert _names(live.get("/api/services")) == ["Live"]
    assert _names(test.get("/api/services")) == ["Sandbox"]
    _error(live.get(f"/api/services/{test_service['id']}"), 404, "NOT_FOUND")
    _error(test.get(f"/api/services/{live_service['id']}"), 404, "NOT_FOUND")
    _error(test.delete(f"/api/services/{live_service['id']}"), 404, "NOT_FOUND")
    _error(test.post(f"/api/services/{live_service['id']}/integrations", json={}), 404, "NOT_FOUND")

    test_key = test_service["integrations"][0]["routing_key"]
    live_key = live_service["integrations"][0]["routing_key"]
    assert _error(live.trigger(test_key), 400, "VALIDATION_ERROR")["field"] == "routing_key"
    assert _error(test.trigger(live_key), 400, "VALIDATION_ERROR")["field"] == "routing_key"
    assert test.trigger(test_key).status_code == 202
    [incident] = _incidents(test)
    assert incident["service_id"] == test_service["id"] and incident["livemode"] is False
    assert _incidents(live) == []


# --- the routing-key cache ------------------------------------------------------------------------


@pytest.fixture
def cached_org(orgs: OrgFactory, app_client: TestClient, database: Database) -> Iterator[OrgHandle]:
    """An org on an app that caches routing keys (and keys) for an hour, as production does for 10s."""
    settings = app_client.app.state.settings.model_copy(update={"auth_cache_seconds": 3600})  # type: ignore[attr-defined]
    app = create_app(settings, database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield replace(orgs.new(), client=client)


def test_new_and_deleted_routing_keys_take_effect_at_once_despite_the_cache(cached_org: OrgHandle) -> None:
    org = cached_org
    wanted = f"later-{org.slug}"
    service = _create(org, integrations=[])
    # an unknown key is remembered as unknown ...
    assert _error(org.trigger(wanted), 400, "VALIDATION_ERROR")["field"] == "routing_key"
    # ... until an integration takes it
    added = org.post(f"/api/services/{service['id']}/integrations", json={"routing_key": wanted})
    assert added.status_code == 201, added.text
    assert org.trigger(wanted, dedup_key="a").status_code == 202
    # a deleted integration stops at once, though its route was cached
    assert (
        org.delete(f"/api/services/{service['id']}/integrations/{added.json()['data']['id']}").status_code
        == 204
    )
    assert _error(org.trigger(wanted, dedup_key="a"), 400, "VALIDATION_ERROR")["field"] == "routing_key"


def test_a_deleted_service_stops_taking_events_despite_the_cache(cached_org: OrgHandle) -> None:
    org = cached_org
    wanted = f"svc-{org.slug}"
    assert _error(org.trigger(wanted), 400, "VALIDATION_ERROR")["field"] == "routing_key"
    service = _create(org, integrations=[{"routing_key": wanted}])
    sent = org.trigger(wanted, dedup_key="b")
    assert sent.status_code == 202
    [incident] = _incidents(org)
    org.post(f"/api/incidents/{incident['id']}/resolve")
    assert org.delete(f"/api/services/{service['id']}").status_code == 204
    assert _error(org.trigger(wanted, dedup_key="b"), 400, "VALIDATION_ERROR")["field"] == "routing_key"
