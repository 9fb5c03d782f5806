"""POST /api/events through HTTP: the spec-003 contract, dedup, urgency mapping and bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.factories.orgs import OrgFactory, OrgHandle

OK = {"summary": "s", "severity": "info", "source": "x"}


def _incidents(org: OrgHandle, **params: Any) -> list[dict[str, Any]]:
    response = org.get("/api/incidents", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_trigger_answers_the_pagerduty_v2_shape(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    response = org.trigger(rk, dedup_key="high-cpu-web01")
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "high-cpu-web01",
    }
    [incident] = _incidents(org)
    assert incident["title"] == "High CPU on web-01"
    assert incident["status"] == "OPEN"
    assert incident["urgency"] == "HIGH"
    assert incident["dedup_key"] == "high-cpu-web01"
    assert incident["alert_count"] == 1
    assert incident["source"] == "datadog"
    assert incident["number"] == 1


def test_missing_dedup_key_is_generated_and_returned(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    response = org.trigger(rk)
    assert response.status_code == 202
    dedup_key = response.json()["dedup_key"]
    assert len(dedup_key) >= 16
    [incident] = _incidents(org)
    assert incident["dedup_key"] == dedup_key


def test_repeat_trigger_appends_an_alert_not_an_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    assert org.trigger(rk, dedup_key="disk-full").status_code == 202
    timeline = org.get(f"/api/incidents/{_incidents(org)[0]['id']}/timeline").json()["data"]
    assert [entry["type"] for entry in timeline] == ["triggered"]
    assert org.trigger(rk, dedup_key="disk-full", summary="Disk 99% full").status_code == 202
    timeline = org.get(f"/api/incidents/{_incidents(org)[0]['id']}/timeline").json()["data"]
    assert [entry["message"] for entry in timeline][1:] == ["1 more alert (total 2)"]
    for _ in range(2):
        assert org.trigger(rk, dedup_key="disk-full").status_code == 202
    [incident] = _incidents(org)
    assert incident["alert_count"] == 4
    assert incident["title"] == "High CPU on web-01"  # a plain event's summary never retitles
    # The repeats are one timeline entry, rewritten as they come, not one entry per alert.
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert [(entry["type"], entry["message"]) for entry in timeline] == [
        ("triggered", timeline[0]["message"]),
        ("alerts_added", "3 more alerts (total 4)"),
    ]
    assert timeline[1]["data"] == {"more": 3, "total": 4} and timeline[1]["actor_type"] == "system"


def test_same_dedup_key_on_another_service_is_another_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk1 = org.make_service("A")
    _, rk2 = org.make_service("B")
    org.trigger(rk1, dedup_key="same")
    org.trigger(rk2, dedup_key="same")
    assert len(_incidents(org)) == 2


@pytest.mark.parametrize(
    ("severity", "urgency"), [("critical", "HIGH"), ("error", "HIGH"), ("warning", "MEDIUM"), ("info", "LOW")]
)
def test_severity_sets_urgency(orgs: OrgFactory, severity: str, urgency: str) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    assert org.trigger(rk, severity=severity).status_code == 202
    [incident] = _incidents(org)
    assert incident["urgency"] == urgency
    assert incident["severity"] == severity


def test_acknowledge_and_resolve_by_dedup_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    org.trigger(rk, dedup_key="k1")
    ack = org.post("/api/events", json={"routing_key": rk, "event_action": "acknowledge", "dedup_key": "k1"})
    assert ack.status_code == 202 and ack.json()["dedup_key"] == "k1"
    [incident] = _incidents(org)
    assert incident["status"] == "ACKNOWLEDGED" and incident["acknowledged_at"]
    resolve = org.post("/api/events", json={"routing_key": rk, "event_action": "resolve", "dedup_key": "k1"})
    assert resolve.status_code == 202
    [incident] = _incidents(org)
    assert incident["status"] == "RESOLVED" and incident["resolved_at"]
    types = [e["type"] for e in org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]]
    assert types == ["triggered", "acknowledged", "resolved"]
    # After resolve, the same dedup key opens a fresh incident.
    org.trigger(rk, dedup_key="k1")
    assert [i["status"] for i in _incidents(org, sort="created_at", order="asc")] == ["RESOLVED", "OPEN"]


def test_resolve_without_an_incident_is_accepted_and_changes_nothing(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    response = org.post(
        "/api/events", json={"routing_key": rk, "event_action": "resolve", "dedup_key": "ghost"}
    )
    assert response.status_code == 202
    assert _incidents(org) == []


def test_links_and_custom_details_are_kept(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    body = {
        "routing_key": rk,
        "event_action": "trigger",
        "dedup_key": "x",
        "payload": {
            "summary": "s",
            "severity": "warning",
            "source": "host-1",
            "component": "db",
            "group": "prod",
            "class": "disk",
            "timestamp": "2024-01-15T10:30:00Z",
            "custom_details": {"free": "2%"},
        },
        "links": [{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
    }
    assert org.post("/api/events", json=body).status_code == 202
    [incident] = _incidents(org)
    assert incident["custom_details"] == {"free": "2%"}
    assert incident["links"] == [{"href": "https://grafana.example/d/1", "text": "Dashboard"}]


def test_unknown_routing_key_is_a_validation_error(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = org.trigger("no-such-key")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["field"] == "routing_key"


def test_another_orgs_routing_key_is_unknown(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    _, their_rk = theirs.make_service()
    response = mine.trigger(their_rk)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "routing_key"
    assert _incidents(theirs) == []


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"event_action": "trigger", "payload": OK}, "routing_key", "required"),
        ({"routing_key": "RK", "event_action": "explode"}, "event_action", "invalid"),
        ({"routing_key": "RK", "event_action": "trigger"}, "payload", "required"),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {"severity": "info", "source": "x"}}, "payload.summary", "required"),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "summary": 5}}, "payload.summary", "invalid"),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "severity": "loud"}}, "payload.severity", "invalid"),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "summary": ""}}, "payload.summary", "required"),
        ({"routing_key": "RK", "event_action": "trigger", "payload": {**OK, "summary": "s" * 1025}}, "payload.summary", "too_long"),
        ({"routing_key": "RK", "event_action": "acknowledge"}, "dedup_key", "required"),
        ({"routing_key": "RK", "event_action": "trigger", "dedup_key": "d" * 256, "payload": OK}, "dedup_key", "length"),
        ({"routing_key": "RK", "event_action": "trigger", "links": [{"text": "no href"}], "payload": OK}, "links.0.href", "required"),
    ],
)  # fmt: skip
def test_bad_events_name_the_field_and_change_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    body = {k: (rk if v == "RK" else v) for k, v in body.items()}
    response = org.post("/api/events", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"field": field, "reason": reason}
    assert _incidents(org) == []


def test_malformed_json_and_non_object_bodies(orgs: OrgFactory) -> None:
    org = orgs.new()
    for raw in (b"{not json", b"[1,2]", b""):
        response = org.post("/api/events", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_events_need_the_events_write_scope(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    key = org.make_key(["incidents:write"])
    response = org.post(
        "/api/events",
        key=key,
        json={
            "routing_key": rk,
            "event_action": "trigger",
            "payload": OK,
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert _incidents(org) == []


def test_concurrent_triggers_open_exactly_one_incident(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: org.trigger(rk, dedup_key="storm").status_code, range(40)))
    assert statuses == [202] * 40
    [incident] = _incidents(org)
    assert incident["alert_count"] == 40
    timeline = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert [entry["message"] for entry in timeline if entry["type"] == "alerts_added"] == [
        "39 more alerts (total 40)"
    ]


def test_an_event_from_a_user_key_is_recorded_as_that_user(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, rk = org.make_service()
    user_id = org.make_user("Dana Scully")
    key = org.make_key(["events:write", "incidents:read"], user_id=user_id)
    body = {
        "routing_key": rk,
        "event_action": "trigger",
        "dedup_key": "u",
        "payload": OK,
    }
    assert org.post("/api/events", key=key, json=body).status_code == 202
    [incident] = _incidents(org)
    [entry] = org.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert (entry["actor_type"], entry["actor_id"], entry["actor_name"]) == ("user", user_id, "Dana Scully")


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def test_a_deadlock_that_outlasts_the_retries_is_a_503_to_send_again(orgs: OrgFactory) -> None:
    """Never a 500 for a lock conflict: the envelope's SERVICE_UNAVAILABLE with Retry-After, and
    nothing stored."""
    org = orgs.new()
    _, rk = org.make_service()

    def deadlocked(*, session: Any, items: list[Any]) -> list[Any]:
        raise _Deadlock("deadlock detected")

    # The app's one ingest handler (app.state.ingest), swapped by hand: Starlette's State keeps
    # attributes in a dict that pytest's monkeypatch cannot restore.
    state = orgs.client.app.state  # type: ignore[attr-defined]
    handler, state.ingest = state.ingest, deadlocked
    try:
        response = org.trigger(rk, dedup_key="stuck")
    finally:
        state.ingest = handler
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    error = response.json()["error"]
    assert (error["code"], error["details"]["reason"]) == ("SERVICE_UNAVAILABLE", "lock_conflict")
    assert _incidents(org) == []
