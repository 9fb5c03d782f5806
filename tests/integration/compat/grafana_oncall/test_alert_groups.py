"""Grafana OnCall ``alert_groups`` over our incidents: fields, filters, actions, delete and wipe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.compat.grafana_oncall.conftest import Grafana, open_incident
from tocsin.services import jobs

FIELDS = [
    "id",
    "integration_id",
    "team_id",
    "route_id",
    "alerts_count",
    "state",
    "created_at",
    "resolved_at",
    "resolved_by",
    "acknowledged_at",
    "acknowledged_by",
    "labels",
    "title",
    "permalinks",
    "silenced_at",
    "last_alert",
]


def _integration_of(org: OrgHandle, service_id: str) -> str:
    integrations = org.get(f"/api/services/{service_id}").json()["data"]["integrations"]
    return str(integrations[0]["id"])


def test_an_alert_group_in_grafana_words(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = org.make_team("Payments")
    service, routing_key = org.make_service(team_id=team)
    incident = open_incident(org, routing_key, "Disk full on db-01", custom_details={"env": "prod", "n": 3})
    org.trigger(routing_key, "Disk full on db-01", dedup_key=None)  # a second, separate incident
    group = Grafana(org).get(f"/alert_groups/{incident}").json()

    assert list(group) == FIELDS
    integration = _integration_of(org, service)
    assert group["id"] == incident
    assert group["integration_id"] == integration
    assert group["route_id"] == "rt_" + integration.removeprefix("int_")
    assert (group["team_id"], group["alerts_count"], group["state"]) == (team, 1, "firing")
    assert group["title"] == "Disk full on db-01"
    assert group["created_at"].endswith("Z") and "." in group["created_at"]
    assert group["labels"] == [{"key": {"id": "env", "name": "env"}, "value": {"id": "prod", "name": "prod"}}]
    assert group["permalinks"] == {
        "slack": None,
        "slack_app": None,
        "telegram": None,
        "web": f"http://127.0.0.1:8080/api/incidents/{incident}",
    }
    last = group["last_alert"]
    assert list(last) == ["id", "alert_group_id", "created_at", "payload"]
    assert last["alert_group_id"] == incident
    assert last["payload"]["payload"]["custom_details"] == {"env": "prod", "n": 3}


def test_a_manual_incident_shows_under_its_services_oldest_integration(orgs: OrgFactory) -> None:
    org = orgs.new()
    service, _ = org.make_service()
    created = org.post("/api/incidents", json={"title": "By hand", "service_id": service})
    group = Grafana(org).get(f"/alert_groups/{created.json()['data']['id']}").json()
    assert group["integration_id"] == _integration_of(org, service)
    assert group["last_alert"] is None


def test_filters(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = org.make_team()
    payments, payments_key = org.make_service("Payments", team_id=team)
    _, search_key = org.make_service("Search")
    disk = open_incident(org, payments_key, "Disk full", custom_details={"env": "prod"})
    cpu = open_incident(org, search_key, "CPU high", custom_details={"env": "staging"})
    grafana = Grafana(org)
    grafana.post(f"/alert_groups/{cpu}/acknowledge")

    def ids(**params: str) -> list[str]:
        response = grafana.get("/alert_groups", params=params)
        assert response.status_code == 200, response.text
        return [group["id"] for group in response.json()["results"]]

    assert ids() == [cpu, disk]  # newest first
    assert ids(id=disk) == [disk]
    integration = _integration_of(org, payments)
    assert ids(integration_id=integration) == [disk]
    assert ids(route_id="rt_" + integration.removeprefix("int_")) == [disk]
    assert ids(route_id="rt_nothing") == []
    assert ids(team_id=team) == [disk]
    assert ids(state="new") == [disk]
    assert ids(state="ACKNOWLEDGED") == [cpu]
    assert ids(state="resolved") == []
    assert ids(label="env:prod") == [disk]
    assert ids(label="env:nowhere") == []
    assert ids(label="malformed") == [cpu, disk]  # skipped, as upstream
    today = datetime.now(UTC)
    window = (
        f"{(today - timedelta(days=1)):%Y-%m-%dT%H:%M:%S}_{(today + timedelta(days=1)):%Y-%m-%dT%H:%M:%S}"
    )
    assert ids(started_at=window) == [cpu, disk]
    assert ids(started_at="2000-01-01T00:00:00_2000-01-02T00:00:00") == []

    for bad in ("open", "triggered", "firing,new"):
        bad_state = grafana.get("/alert_groups", params={"state": bad})
        assert (bad_state.status_code, bad_state.json()) == (
            400,
            {"state": "Must be one of the following: new, firing, acknowledged, resolved, silenced"},
        ), bad
    for bad in ("yesterday", "2024-01-02T00:00:00_2024-01-01T00:00:00", "2024-01-01_2024-01-02"):
        response = grafana.get("/alert_groups", params={"started_at": bad})
        assert (response.status_code, response.json()) == (400, {"detail": "Invalid range value"}), bad


def test_every_state_a_group_shows_filters_back_to_exactly_its_groups(orgs: OrgFactory) -> None:
    """Responses say ``firing`` where upstream's filter documents ``new``: both filter, as do the
    other states, each to exactly the groups that show it."""
    org = orgs.new()
    _, routing_key = org.make_service()
    grafana = Grafana(org)
    firing = open_incident(org, routing_key, "Firing")
    acknowledged = open_incident(org, routing_key, "Acknowledged")
    resolved = open_incident(org, routing_key, "Resolved")
    silenced = open_incident(org, routing_key, "Silenced")
    assert grafana.post(f"/alert_groups/{acknowledged}/acknowledge").status_code == 200
    assert grafana.post(f"/alert_groups/{resolved}/resolve").status_code == 200
    assert grafana.post(f"/alert_groups/{silenced}/silence", json={"delay": 600}).status_code == 200

    def state_of_each(**params: str) -> dict[str, str]:
        response = grafana.get("/alert_groups", params=params)
        assert response.status_code == 200, response.text
        return {group["id"]: group["state"] for group in response.json()["results"]}

    shown = state_of_each()
    assert shown == {
        firing: "firing",
        acknowledged: "acknowledged",
        resolved: "resolved",
        silenced: "silenced",
    }
    for state in set(shown.values()):
        expected = {group: shown_state for group, shown_state in shown.items() if shown_state == state}
        assert state_of_each(state=state) == expected, state
        assert state_of_each(state=state.upper()) == expected, state
    assert state_of_each(state="new") == {firing: "firing"}


def test_actions_follow_grafanas_rules_and_land_on_the_timeline(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key)
    alice = org.make_user("Alice")
    as_alice = Grafana(org, org.make_key(["incidents:write"], user_id=alice))
    service_key = Grafana(org)

    response = as_alice.post(f"/alert_groups/{incident}/acknowledge")
    assert (response.status_code, response.content) == (200, b"")
    group = as_alice.get(f"/alert_groups/{incident}").json()
    assert (group["state"], group["acknowledged_by"]) == ("acknowledged", alice)
    assert group["acknowledged_at"] is not None

    again = as_alice.post(f"/alert_groups/{incident}/acknowledge")
    assert (again.status_code, again.json()) == (
        400,
        {"detail": "Can't acknowledge an acknowledged alert group"},
    )
    silence = as_alice.post(f"/alert_groups/{incident}/silence", json={"delay": 60})
    assert silence.json() == {"detail": "Can't silence an acknowledged alert group"}

    assert service_key.post(f"/alert_groups/{incident}/unacknowledge").status_code == 200
    assert service_key.get(f"/alert_groups/{incident}").json()["state"] == "firing"
    assert service_key.post(f"/alert_groups/{incident}/unacknowledge").json() == {
        "detail": "Can't unacknowledge an unacknowledged alert group"
    }
    assert service_key.post(f"/alert_groups/{incident}/unresolve").json() == {
        "detail": "Can't unresolve an unresolved alert group"
    }

    assert service_key.post(f"/alert_groups/{incident}/resolve").status_code == 200
    group = service_key.get(f"/alert_groups/{incident}").json()
    assert (group["state"], group["resolved_by"]) == ("resolved", None)  # a service key is nobody
    assert service_key.post(f"/alert_groups/{incident}/resolve").json() == {
        "detail": "Can't resolve a resolved alert group"
    }
    assert service_key.post(f"/alert_groups/{incident}/unresolve").status_code == 200
    assert service_key.get(f"/alert_groups/{incident}").json()["state"] == "firing"

    entries = org.get(f"/api/incidents/{incident}/timeline", params={"limit": 100}).json()["data"]
    kinds = [(entry["type"], entry["actor_name"]) for entry in entries if entry["type"] != "triggered"]
    assert kinds == [
        ("acknowledged", "Alice"),
        ("unacknowledged", "admin"),
        ("resolved", "admin"),
        ("reopened", "admin"),
    ]


def test_silence_and_unsilence(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key)
    grafana = Grafana(org)

    for body, detail in (
        ({}, "delay is required"),
        ({"delay": "soon"}, "invalid delay value"),
        ({"delay": -2}, "invalid delay value"),
        ({"delay": [1]}, "invalid delay value"),
    ):
        response = grafana.post(f"/alert_groups/{incident}/silence", json=body)
        assert (response.status_code, response.json()) == (400, {"detail": detail}), body
    assert grafana.post(f"/alert_groups/{incident}/unsilence").json() == {
        "detail": "Can't unsilence an unsilenced alert group"
    }

    assert grafana.post(f"/alert_groups/{incident}/silence", json={"delay": 1800}).status_code == 200
    group = grafana.get(f"/alert_groups/{incident}").json()
    assert group["state"] == "silenced" and group["silenced_at"] is not None
    native = org.get(f"/api/incidents/{incident}").json()["data"]
    until = datetime.fromisoformat(native["snoozed_until"].replace("Z", "+00:00"))
    silenced_at = datetime.fromisoformat(group["silenced_at"].replace("Z", "+00:00"))
    assert abs(until - silenced_at - timedelta(seconds=1800)) < timedelta(milliseconds=1)  # ms on the wire

    assert grafana.post(f"/alert_groups/{incident}/unsilence").status_code == 200
    assert grafana.get(f"/alert_groups/{incident}").json()["state"] == "firing"

    assert grafana.post(f"/alert_groups/{incident}/silence", json={"delay": -1}).status_code == 200
    forever = org.get(f"/api/incidents/{incident}").json()["data"]["snoozed_until"]
    assert int(forever[:4]) >= datetime.now(UTC).year + 99
    assert grafana.get("/alert_groups", params={"state": "silenced"}).json()["count"] == 1


def test_a_group_opened_in_maintenance_is_silenced(orgs: OrgFactory) -> None:
    org = orgs.new()
    service, routing_key = org.make_service()
    grafana = Grafana(org)
    started = grafana.post(
        f"/integrations/{_integration_of(org, service)}/maintenance_start",
        json={"mode": "maintenance", "duration": 3600},
    )
    assert started.status_code == 200, started.text
    incident = open_incident(org, routing_key)
    group = grafana.get(f"/alert_groups/{incident}").json()
    assert (group["state"], group["silenced_at"]) == ("silenced", group["created_at"])
    refused = grafana.post(f"/alert_groups/{incident}/unsilence")
    assert refused.status_code == 400
    assert "maintenance" in refused.json()["detail"]
    assert grafana.post(f"/alert_groups/{incident}/acknowledge").status_code == 200


def test_delete_removes_the_incident_and_all_that_hangs_off_it(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key)
    open_incident(org, routing_key, dedup_key="same")
    grafana = Grafana(org)
    grafana.post("/resolution_notes", json={"alert_group_id": incident, "text": "looking"})
    grafana.post(f"/alert_groups/{incident}/silence", json={"delay": 600})  # arms a timer job
    with org.database.read() as session:
        assert jobs.list_jobs(session=session, tenant=org.tenant, incident_id=incident)

    response = grafana.delete(f"/alert_groups/{incident}", json={"mode": "delete"})
    assert (response.status_code, response.content) == (204, b"")

    assert grafana.get(f"/alert_groups/{incident}").status_code == 404
    assert grafana.get("/alerts", params={"alert_group_id": incident}).json()["count"] == 0
    assert grafana.get("/resolution_notes", params={"alert_group_id": incident}).json()["count"] == 0
    assert org.get(f"/api/incidents/{incident}/timeline").status_code == 404
    with org.database.read() as session:
        assert jobs.list_jobs(session=session, tenant=org.tenant, incident_id=incident) == []
    assert grafana.get("/alert_groups").json()["count"] == 1  # the other incident is untouched
    assert grafana.delete(f"/alert_groups/{incident}", json={"mode": "delete"}).status_code == 404


def test_wipe_keeps_the_group_and_erases_payloads(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key, "Leaked a token", dedup_key="leak")
    open_incident(org, routing_key, "Leaked a token", dedup_key="leak")
    grafana = Grafana(org)

    invalid = grafana.delete(f"/alert_groups/{incident}", json={"mode": "shred"})
    assert (invalid.status_code, invalid.json()) == (400, "Invalid mode")

    assert grafana.delete(f"/alert_groups/{incident}").status_code == 204  # wipe is the default
    group = grafana.get(f"/alert_groups/{incident}").json()
    assert (group["alerts_count"], group["last_alert"]["payload"]) == (2, {})
    payloads = [
        alert["payload"]
        for alert in grafana.get("/alerts", params={"alert_group_id": incident}).json()["results"]
    ]
    assert payloads == [{}, {}]
    entries = org.get(f"/api/incidents/{incident}/timeline").json()["data"]
    assert entries[-1]["type"] == "wiped"


def test_a_read_only_key_cannot_act(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key)
    reader = Grafana(org, org.make_key(["incidents:read"]))
    assert reader.post(f"/alert_groups/{incident}/resolve").status_code == 403
    assert reader.delete(f"/alert_groups/{incident}", json={"mode": "delete"}).status_code == 403
    assert reader.get(f"/alert_groups/{incident}").json()["state"] == "firing"
