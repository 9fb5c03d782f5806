"""Tenancy through HTTP: another org's ids are 404 on every endpoint (never 403: existence must not
leak), lists never show another org's rows, and test keys live in a separate world from live keys."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.orgs import OrgFactory, OrgHandle


def _their_world(theirs: OrgHandle) -> dict[str, str]:
    user = theirs.make_user("Their User")
    team = theirs.make_team("Their Team", member_ids=(user,))
    svc, rk = theirs.make_service("Their Service", team_id=team)
    incident = theirs.post("/api/incidents", json={"title": "theirs", "service_id": svc}).json()["data"]
    integration = theirs.get(f"/api/services/{svc}/integrations").json()
    integration_id = integration["data"][0]["id"] if "data" in integration else "int_unknown"
    windows = theirs.post(
        f"/api/services/{svc}/maintenance-windows",
        json={"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"},
    ).json()
    window_id = windows["data"]["id"] if "data" in windows else "mw_unknown"
    key = theirs.get("/api/keys").json()["data"][0]["id"]
    return {
        "user": user,
        "team": team,
        "svc": svc,
        "rk": rk,
        "inc": incident["id"],
        "int": integration_id,
        "mw": window_id,
        "key": key,
    }


ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/incidents/{inc}", None),
    ("PATCH", "/api/incidents/{inc}", {"title": "mine now"}),
    ("POST", "/api/incidents/{inc}/acknowledge", None),
    ("POST", "/api/incidents/{inc}/resolve", None),
    ("POST", "/api/incidents/{inc}/snooze", {"duration_minutes": 5}),
    ("POST", "/api/incidents/{inc}/unsnooze", None),
    ("GET", "/api/incidents/{inc}/notes", None),
    ("POST", "/api/incidents/{inc}/notes", {"content": "hi"}),
    ("GET", "/api/incidents/{inc}/timeline", None),
    ("GET", "/api/services/{svc}", None),
    ("PATCH", "/api/services/{svc}", {"name": "mine"}),
    ("DELETE", "/api/services/{svc}", None),
    ("GET", "/api/services/{svc}/integrations", None),
    ("POST", "/api/services/{svc}/integrations", {"name": "x"}),
    ("DELETE", "/api/services/{svc}/integrations/{int}", None),
    ("GET", "/api/services/{svc}/maintenance-windows", None),
    ("POST", "/api/services/{svc}/maintenance-windows", {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}),
    ("DELETE", "/api/services/{svc}/maintenance-windows/{mw}", None),
    ("GET", "/api/users/{user}", None),
    ("PATCH", "/api/users/{user}", {"name": "mine"}),
    ("DELETE", "/api/users/{user}", None),
    ("GET", "/api/teams/{team}", None),
    ("PATCH", "/api/teams/{team}", {"name": "mine"}),
    ("DELETE", "/api/teams/{team}", None),
    ("GET", "/api/teams/{team}/members", None),
    ("POST", "/api/teams/{team}/members", {"user_id": "{user}"}),
    ("PATCH", "/api/teams/{team}/members/{user}", {"role": "manager"}),
    ("DELETE", "/api/teams/{team}/members/{user}", None),
    ("GET", "/api/keys/{key}", None),
    ("DELETE", "/api/keys/{key}", None),
]  # fmt: skip


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
def test_other_orgs_ids_are_404(
    orgs: OrgFactory, method: str, template: str, body: dict[str, Any] | None
) -> None:
    mine, theirs = orgs.new(), orgs.new()
    ids = _their_world(theirs)
    path = template.format(**ids)
    payload = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in (body or {}).items()}
    response = mine.request(method, path, json=payload if body is not None else None)
    assert response.status_code == 404, (method, path, response.text)
    assert response.json()["error"]["code"] == "NOT_FOUND"
    # and nothing of theirs changed
    incident = theirs.get(f"/api/incidents/{ids['inc']}").json()["data"]
    assert incident["status"] == "OPEN" and incident["title"] == "theirs"
    assert theirs.get(f"/api/users/{ids['user']}").status_code == 200
    assert theirs.get(f"/api/teams/{ids['team']}").status_code == 200
    assert theirs.get(f"/api/keys/{ids['key']}").json()["data"]["revoked_at"] is None


@pytest.mark.parametrize("path", ["/api/incidents", "/api/services", "/api/users", "/api/teams", "/api/keys"])
def test_lists_only_show_my_org(orgs: OrgFactory, path: str) -> None:
    mine, theirs = orgs.new(), orgs.new()
    _their_world(theirs)
    listing = mine.get(path).json()
    expected = 1 if path == "/api/keys" else 0  # my own admin key
    assert listing["pagination"]["total"] == expected, listing
    assert len(listing["data"]) == expected


def test_filters_with_other_orgs_ids_find_nothing(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    ids = _their_world(theirs)
    for name, value in (("service_id", ids["svc"]), ("team_id", ids["team"]), ("assignee_id", ids["user"])):
        assert mine.get("/api/incidents", params={name: value}).json()["data"] == []


def test_test_keys_see_only_test_data(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    assert test.key.startswith("sk_test_")
    live_svc, live_rk = live.make_service("Live")
    live_inc = live.post("/api/incidents", json={"title": "live", "service_id": live_svc}).json()["data"]
    # The test key cannot see or touch live rows...
    assert test.get("/api/incidents").json()["pagination"]["total"] == 0
    assert test.get(f"/api/incidents/{live_inc['id']}").status_code == 404
    assert test.get(f"/api/services/{live_svc}").status_code == 404
    assert test.trigger(live_rk).json()["error"]["details"]["field"] == "routing_key"
    assert test.post("/api/incidents", json={"title": "t", "service_id": live_svc}).status_code == 400
    # ...and what it creates is test data, invisible to the live key.
    test_svc, test_rk = test.make_service("Sandbox")
    assert test.trigger(test_rk, dedup_key="t1").status_code == 202
    [test_inc] = test.get("/api/incidents").json()["data"]
    assert test_inc["livemode"] is False and test_inc["number"] == 1
    assert live.get(f"/api/incidents/{test_inc['id']}").status_code == 404
    assert live.trigger(test_rk).status_code == 400
    assert [i["id"] for i in live.get("/api/incidents").json()["data"]] == [live_inc["id"]]
    assert live_inc["livemode"] is True and live_inc["number"] == 1
    # Keys created by a test key are test keys.
    created = test.post("/api/keys", json={"name": "ci", "scopes": ["incidents:read"]}).json()["data"]
    assert created["key"].startswith("sk_test_") and created["livemode"] is False
    assert {k["livemode"] for k in test.get("/api/keys").json()["data"]} == {False}
