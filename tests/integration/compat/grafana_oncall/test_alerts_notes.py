"""Grafana OnCall ``alerts`` (the raw events behind incidents) and ``resolution_notes`` (our notes)."""

from __future__ import annotations

from tests.factories.orgs import OrgFactory
from tests.integration.compat.grafana_oncall.conftest import Grafana, open_incident


def test_alerts_carry_the_raw_payload_and_filter(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    disk = open_incident(org, routing_key, "Disk full", dedup_key="disk", custom_details={"host": "DB-01"})
    open_incident(org, routing_key, "Disk full", dedup_key="disk")
    cpu = open_incident(org, routing_key, "CPU high", dedup_key="cpu")
    grafana = Grafana(org)

    everything = grafana.get("/alerts").json()
    assert everything["count"] == 3
    newest = everything["results"][0]
    assert list(newest) == ["id", "alert_group_id", "created_at", "payload"]
    assert newest["alert_group_id"] == cpu
    assert newest["payload"]["routing_key"] == routing_key
    assert newest["payload"]["dedup_key"] == "cpu"

    of_disk = grafana.get("/alerts", params={"alert_group_id": disk}).json()["results"]
    assert [alert["alert_group_id"] for alert in of_disk] == [disk, disk]
    assert grafana.get("/alerts", params={"id": of_disk[1]["id"]}).json()["results"] == [of_disk[1]]
    found = grafana.get("/alerts", params={"search": "db-01"}).json()["results"]
    assert [alert["id"] for alert in found] == [of_disk[1]["id"]]
    assert grafana.get("/alerts", params={"search": "nothing-like-it"}).json()["count"] == 0


def test_alerts_of_another_org_are_invisible(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    _, routing_key = other.make_service()
    theirs = open_incident(other, routing_key)
    assert Grafana(org).get("/alerts", params={"alert_group_id": theirs}).json()["count"] == 0


def test_resolution_notes_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key)
    alice = org.make_user("Alice")
    as_alice = Grafana(org, org.make_key(["incidents:write"], user_id=alice))
    grafana = Grafana(org)

    created = as_alice.post("/resolution_notes", json={"alert_group_id": incident, "text": "Restarted db-01"})
    assert created.status_code == 201, created.text
    note = created.json()
    assert list(note) == ["id", "alert_group_id", "author", "source", "created_at", "text"]
    assert (note["alert_group_id"], note["author"], note["source"], note["text"]) == (
        incident,
        alice,
        "Web",
        "Restarted db-01",
    )
    by_service_key = grafana.post("/resolution_notes", json={"alert_group_id": incident, "text": "ok"}).json()
    assert by_service_key["author"] is None

    assert grafana.get(f"/resolution_notes/{note['id']}").json() == note
    listed = grafana.get("/resolution_notes", params={"alert_group_id": incident}).json()
    assert [item["id"] for item in listed["results"]] == [note["id"], by_service_key["id"]]

    edited = grafana.put(f"/resolution_notes/{note['id']}", json={"text": "Restarted db-01 twice"})
    assert edited.json()["text"] == "Restarted db-01 twice"
    assert grafana.patch(f"/resolution_notes/{note['id']}", json={}).json()["text"] == "Restarted db-01 twice"
    assert grafana.put(f"/resolution_notes/{note['id']}", json={}).json() == {
        "text": ["This field is required."]
    }

    assert grafana.delete(f"/resolution_notes/{note['id']}").status_code == 204
    assert grafana.get(f"/resolution_notes/{note['id']}").status_code == 404
    kinds = [entry["type"] for entry in org.get(f"/api/incidents/{incident}/timeline").json()["data"]]
    assert kinds[-4:] == ["note_added", "note_added", "note_updated", "note_deleted"]


def test_resolution_note_validation(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    _, routing_key = org.make_service()
    incident = open_incident(org, routing_key)
    _, their_key = other.make_service()
    theirs = open_incident(other, their_key)
    grafana = Grafana(org)
    for body, error in (
        ({"alert_group_id": incident}, {"text": ["This field is required."]}),
        ({"alert_group_id": incident, "text": None}, {"text": ["This field may not be null."]}),
        ({"alert_group_id": incident, "text": "  "}, {"text": ["This field may not be blank."]}),
        ({"alert_group_id": incident, "text": 5}, {"text": ["Not a valid string."]}),
        (
            {"alert_group_id": 5, "text": "x"},
            {"alert_group_id": ["Incorrect type. Expected pk value, received int."]},
        ),
        (
            {"alert_group_id": theirs, "text": "x"},
            {"alert_group_id": [f'Invalid pk "{theirs}" - object does not exist.']},
        ),
    ):
        response = grafana.post("/resolution_notes", json=body)
        assert (response.status_code, response.json()) == (400, error), body
    assert grafana.get("/resolution_notes").json()["count"] == 0
