"""Keys through HTTP: the three header forms, scopes, read-only keys, the keys API and tallies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory


@pytest.mark.parametrize(
    "header",
    [
        lambda key: {"Authorization": f"Bearer {key}"},
        lambda key: {"Authorization": f"Api-Key {key}"},
        lambda key: {"X-API-Key": key},
        lambda key: {"authorization": f"bearer {key}"},
    ],
)
def test_three_header_forms(orgs: OrgFactory, app_client: TestClient, header: object) -> None:
    org = orgs.new()
    response = app_client.get("/api/incidents", headers=header(org.key))  # type: ignore[operator]
    assert response.status_code == 200
    assert response.json() == {
        "data": [],
        "pagination": {"total": 0, "limit": 25, "offset": 0, "has_more": False},
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk_live_not_a_real_key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"X-API-Key": "sk_test_nope"},
        {"X-API-Key": "hunter2"},
    ],
)
def test_missing_or_wrong_keys_are_401(app_client: TestClient, headers: dict[str, str]) -> None:
    response = app_client.get("/api/incidents", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "UNAUTHORIZED" and error["message"]


def test_a_test_secret_with_a_live_prefix_is_refused(orgs: OrgFactory, app_client: TestClient) -> None:
    org = orgs.new()
    tampered = "sk_test_" + org.key.removeprefix("sk_live_")
    assert app_client.get("/api/incidents", headers={"X-API-Key": tampered}).status_code == 401


def test_missing_scope_is_403_and_names_it(orgs: OrgFactory) -> None:
    org = orgs.new()
    key = org.make_key(["services:read"])
    response = org.get("/api/incidents", key=key)
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"required_scope": "incidents:read"}
    assert org.get("/api/keys", key=key).status_code == 403


def test_read_only_keys_can_only_get(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, rk = org.make_service()
    made = org.post("/api/incidents", json={"title": "t", "service_id": svc}).json()["data"]
    key = org.make_key(["incidents:read", "services:read", "users:read", "teams:read"])
    assert org.get("/api/incidents", key=key).status_code == 200
    assert org.get(f"/api/incidents/{made['id']}", key=key).status_code == 200
    for method, path, body in (
        ("POST", "/api/incidents", {"title": "t", "service_id": svc}),
        ("POST", f"/api/incidents/{made['id']}/acknowledge", {}),
        ("PATCH", f"/api/incidents/{made['id']}", {"title": "x"}),
        (
            "POST",
            "/api/events",
            {"routing_key": rk, "event_action": "resolve", "dedup_key": made["dedup_key"]},
        ),
        ("POST", "/api/users", {"name": "n", "email": "n@example.com"}),
        ("DELETE", "/api/keys/key_x", {}),
    ):
        response = org.request(method, path, key=key, json=body)
        assert response.status_code == 403, (method, path)
        assert "read-only" in response.json()["error"]["message"]
    assert org.get(f"/api/incidents/{made['id']}").json()["data"]["status"] == "OPEN"


def test_keys_api_create_list_revoke(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = org.post("/api/keys", json={"name": "grafana", "scopes": ["incidents:read", "events:write"]})
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    secret = data["key"]
    assert secret.startswith("sk_live_") and len(secret) > 40
    assert data["prefix"] == secret[:12] and data["scopes"] == ["events:write", "incidents:read"]
    assert org.get("/api/incidents", key=secret).status_code == 200
    listing = org.get("/api/keys").json()
    assert {k["name"] for k in listing["data"]} == {"admin", "grafana"}
    assert secret not in str(listing) and all("key" not in k for k in listing["data"])
    assert all("hash" not in field for k in listing["data"] for field in k)
    revoked = org.delete(f"/api/keys/{data['id']}")
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_at"]
    assert org.get("/api/incidents", key=secret).status_code == 401
    assert org.delete(f"/api/keys/{data['id']}").status_code == 200  # revoking twice is harmless


def test_keys_cannot_grant_more_than_they_hold(orgs: OrgFactory) -> None:
    org = orgs.new()
    limited = org.make_key(["keys:write", "incidents:read"])
    response = org.post("/api/keys", key=limited, json={"name": "x", "scopes": ["incidents:write"]})
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"scopes": ["incidents:write"]}
    ok = org.post("/api/keys", key=limited, json={"name": "x", "scopes": ["incidents:read"]})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["incidents:destroy"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x"}, "scopes"),
        ({"scopes": ["incidents:read"]}, "name"),
        ({"name": "x", "scopes": ["incidents:read"], "user_id": "usr_ghost"}, "user_id"),
        ({"name": "x", "scopes": "incidents:read"}, "scopes"),
    ],
)
def test_key_creation_validation(orgs: OrgFactory, body: dict[str, object], field: str) -> None:
    org = orgs.new()
    response = org.post("/api/keys", json=body)
    assert response.status_code in (400, 404), response.text
    error = response.json()["error"]
    if response.status_code == 400:
        assert error["details"]["field"] == field
    assert org.get("/api/keys").json()["pagination"]["total"] == 1


def test_usage_is_tallied_in_batches(orgs: OrgFactory, app_client: TestClient) -> None:
    org = orgs.new()
    key = org.make_key(["incidents:read"], name="dashboard")
    for _ in range(3):
        org.get("/api/incidents", key=key)
    listed = {k["name"]: k for k in org.get("/api/keys").json()["data"]}
    assert listed["dashboard"]["call_count"] == 0  # not yet flushed: no write per request
    app_client.app.state.usage.flush()  # type: ignore[attr-defined]
    listed = {k["name"]: k for k in org.get("/api/keys").json()["data"]}
    assert listed["dashboard"]["call_count"] == 3
    assert listed["dashboard"]["last_used_at"].endswith("Z")
    org.get("/api/incidents", key=key)
    app_client.app.state.usage.flush()  # type: ignore[attr-defined]
    assert org.get(f"/api/keys/{listed['dashboard']['id']}").json()["data"]["call_count"] == 4


def test_user_keys_act_as_the_user_and_service_keys_by_name(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    user = org.make_user("Fox Mulder")
    user_key = org.make_key(["incidents:write"], user_id=user)
    service_key = org.make_key(["incidents:write"], name="terraform")
    a = org.post("/api/incidents", key=user_key, json={"title": "a", "service_id": svc}).json()["data"]
    b = org.post("/api/incidents", key=service_key, json={"title": "b", "service_id": svc}).json()["data"]
    [ea] = org.get(f"/api/incidents/{a['id']}/timeline").json()["data"]
    [eb] = org.get(f"/api/incidents/{b['id']}/timeline").json()["data"]
    assert (ea["actor_type"], ea["actor_id"], ea["actor_name"]) == ("user", user, "Fox Mulder")
    assert (eb["actor_type"], eb["actor_name"]) == ("api_key", "terraform")


def test_current_key_describes_the_caller_whatever_its_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    narrow = org.make_key(["incidents:read"], name="dashboard")
    response = org.get("/api/keys/current", key=narrow)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["org"] == {"id": org.org_id, "slug": org.slug, "name": data["org"]["name"]}
    assert (data["key"]["name"], data["key"]["scopes"], data["key"]["livemode"]) == (
        "dashboard",
        ["incidents:read"],
        True,
    )
    assert "key" not in data["key"] or not str(data["key"].get("key", "")).startswith("sk_")
    test = org.test_mode()
    assert test.get("/api/keys/current").json()["data"]["key"]["livemode"] is False
    assert org.get("/api/keys/current", key="sk_live_nope").status_code == 401
