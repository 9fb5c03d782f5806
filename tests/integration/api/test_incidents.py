"""/api/incidents through HTTP: every filter, multi-values, sorts, pagination, actions, notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories.orgs import OrgFactory, OrgHandle


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def _create(org: OrgHandle, service_id: str, title: str, **extra: Any) -> dict[str, Any]:
    response = org.post("/api/incidents", json={"title": title, "service_id": service_id, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


@pytest.fixture
def seeded(orgs: OrgFactory) -> tuple[OrgHandle, dict[str, dict[str, Any]], dict[str, str]]:
    """Five incidents across two services, two teams, two users, three urgencies and statuses."""
    org = orgs.new()
    team_ids = (org.make_team("Alpha"), org.make_team("Beta"))
    svc_a, _ = org.make_service("A", team_id=team_ids[0])
    svc_b, _ = org.make_service("B", team_id=team_ids[1])
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    made = {
        "a_high": _create(org, svc_a, "a high", urgency="HIGH", assignee_ids=[alice]),
        "a_low": _create(org, svc_a, "a low", urgency="LOW", assignee_ids=[bob]),
        "b_med": _create(org, svc_b, "b med", urgency="MEDIUM", assignee_ids=[alice, bob]),
        "b_high": _create(org, svc_b, "b high", urgency="HIGH"),
        "a_med": _create(org, svc_a, "a med", urgency="MEDIUM"),
    }
    org.post(f"/api/incidents/{made['a_low']['id']}/acknowledge")
    org.post(f"/api/incidents/{made['b_high']['id']}/resolve")
    org.post(f"/api/incidents/{made['a_med']['id']}/snooze", json={"duration_minutes": 30})
    refs = {
        "svc_a": svc_a,
        "svc_b": svc_b,
        "alice": alice,
        "bob": bob,
        "team_a": team_ids[0],
        "team_b": team_ids[1],
    }
    return org, made, refs


def test_default_order_is_created_at_desc(seeded: Any) -> None:
    org, made, _ = seeded
    assert _ids(org.get("/api/incidents")) == [
        made[k]["id"] for k in ("a_med", "b_high", "b_med", "a_low", "a_high")
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "OPEN"}, {"a_high", "b_med"}),
        ({"status": "OPEN,ACKNOWLEDGED"}, {"a_high", "b_med", "a_low"}),
        ({"status": "resolved"}, {"b_high"}),
        ({"status": "SNOOZED"}, {"a_med"}),
        ({"urgency": "HIGH"}, {"a_high", "b_high"}),
        ({"urgency": "HIGH,MEDIUM"}, {"a_high", "b_high", "b_med", "a_med"}),
        ({"status": "OPEN", "urgency": "HIGH"}, {"a_high"}),
        ({"service_id": "svc_a"}, {"a_high", "a_low", "a_med"}),
        ({"service_id": "svc_a,svc_b"}, {"a_high", "a_low", "a_med", "b_med", "b_high"}),
        ({"assignee_id": "alice"}, {"a_high", "b_med"}),
        ({"assignee_id": "alice,bob"}, {"a_high", "a_low", "b_med"}),
        ({"team_id": "team_b"}, {"b_med", "b_high"}),
        ({"team_id": "team_a,team_b"}, {"a_high", "a_low", "a_med", "b_med", "b_high"}),
    ],
)
def test_filters(seeded: Any, params: dict[str, str], expected: set[str]) -> None:
    org, made, refs = seeded
    query = {k: ",".join(refs.get(v, v) for v in value.split(",")) for k, value in params.items()}
    assert set(_ids(org.get("/api/incidents", params=query))) == {made[k]["id"] for k in expected}


def test_created_after_and_before(seeded: Any) -> None:
    org, made, _ = seeded
    pivot = made["b_med"]["created_at"]
    after = set(_ids(org.get("/api/incidents", params={"created_after": pivot})))
    before = set(_ids(org.get("/api/incidents", params={"created_before": pivot})))
    assert after == {made[k]["id"] for k in ("b_med", "b_high", "a_med")}
    assert before == {made[k]["id"] for k in ("a_high", "a_low")}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert _ids(org.get("/api/incidents", params={"created_after": tomorrow})) == []
    assert len(_ids(org.get("/api/incidents", params={"created_before": tomorrow}))) == 5


@pytest.mark.parametrize(
    ("sort", "order", "expected"),
    [
        ("urgency", "desc", ["b_high", "a_high", "a_med", "b_med", "a_low"]),
        ("urgency", "asc", ["a_low", "b_med", "a_med", "a_high", "b_high"]),
        ("status", "desc", ["b_med", "a_high", "a_low", "a_med", "b_high"]),
        ("created_at", "asc", ["a_high", "a_low", "b_med", "b_high", "a_med"]),
        ("updated_at", "desc", ["a_med", "b_high", "a_low", "b_med", "a_high"]),
    ],
)
def test_sorts(seeded: Any, sort: str, order: str, expected: list[str]) -> None:
    org, made, _ = seeded
    got = _ids(org.get("/api/incidents", params={"sort": sort, "order": order}))
    if sort in ("urgency", "status"):
        # ties break by id in the same direction; compare rank groups, then the whole order
        assert got == sorted(got, key=lambda i: [made[k]["id"] for k in expected].index(i))
    assert got == [made[k]["id"] for k in expected]


def test_pagination_edges(seeded: Any) -> None:
    org, made, _ = seeded
    first = org.get("/api/incidents", params={"limit": 2}).json()
    assert first["pagination"] == {"total": 5, "limit": 2, "offset": 0, "has_more": True}
    last = org.get("/api/incidents", params={"limit": 2, "offset": 4}).json()
    assert last["pagination"] == {"total": 5, "limit": 2, "offset": 4, "has_more": False}
    assert len(last["data"]) == 1
    past = org.get("/api/incidents", params={"offset": 50}).json()
    assert past["data"] == [] and past["pagination"]["has_more"] is False
    exact = org.get("/api/incidents", params={"limit": 5}).json()
    assert exact["pagination"]["has_more"] is False and len(exact["data"]) == 5
    everything = [
        item["id"]
        for offset in range(0, 5, 2)
        for item in org.get("/api/incidents", params={"limit": 2, "offset": offset}).json()["data"]
    ]
    assert sorted(everything) == sorted(i["id"] for i in made.values())
    assert org.get("/api/incidents", params={"limit": 100}).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "OPEN,BROKEN"}, "status"),
        ({"urgency": "CRITICAL"}, "urgency"),
        ({"sort": "title"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2024-13-45"}, "created_before"),
    ],
)
def test_bad_list_parameters(orgs: OrgFactory, params: dict[str, Any], field: str) -> None:
    org = orgs.new()
    response = org.get("/api/incidents", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == field


def test_create_get_by_id_and_number(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    user = org.make_user()
    made = _create(
        org, svc, "Checkout down", urgency="HIGH", description="500s", assignee_ids=[user], priority="p1"
    )
    assert made["status"] == "OPEN" and made["priority"] == "P1" and made["assignee_ids"] == [user]
    assert made["number"] == 1 and made["created_at"].endswith("Z")
    for ref in (made["id"], "1", "%231"):
        response = org.get(f"/api/incidents/{ref}")
        assert response.status_code == 200 and response.json()["data"]["id"] == made["id"]
    second = _create(org, svc, "Another")
    assert second["number"] == 2


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "title", "required"),
        ({"title": "t"}, "service_id", "required"),
        ({"title": 12, "service_id": "SVC"}, "title", "string_type"),
        ({"title": "", "service_id": "SVC"}, "title", "string_too_short"),
        ({"title": "t", "service_id": "SVC", "urgency": "URGENT"}, "urgency", "invalid"),
        ({"title": "t", "service_id": "SVC", "priority": "P9"}, "priority", "invalid"),
        ({"title": "t", "service_id": "svc_unknown"}, "service_id", "not_found"),
        ({"title": "t", "service_id": "SVC", "assignee_ids": ["usr_nobody"]}, "assignee_ids", "not_found"),
        ({"title": "t", "service_id": "SVC", "colour": "red"}, "colour", "unknown_field"),
        ({"title": "t", "service_id": "SVC", "assignee_ids": "usr_x"}, "assignee_ids", "list_type"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    body = {k: (svc if v == "SVC" else v) for k, v in body.items()}
    response = org.post("/api/incidents", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == {"field": field, "reason": reason}
    assert org.get("/api/incidents").json()["pagination"]["total"] == 0


def test_create_with_a_taken_dedup_key_conflicts(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    _create(org, svc, "one", dedup_key="same")
    response = org.post("/api/incidents", json={"title": "two", "service_id": svc, "dedup_key": "same"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"


def test_patch_changes_only_given_fields_and_logs_them(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    user = org.make_user()
    made = _create(org, svc, "old title", description="keep me")
    response = org.patch(
        f"/api/incidents/{made['id']}",
        json={"title": "new title", "urgency": "LOW", "priority": "P3", "assignee_ids": [user]},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["title"], data["urgency"], data["priority"], data["assignee_ids"]) == (
        "new title",
        "LOW",
        "P3",
        [user],
    )
    assert data["description"] == "keep me"
    types = [e["type"] for e in org.get(f"/api/incidents/{made['id']}/timeline").json()["data"]]
    assert types == ["triggered", "assigned", "updated"]
    cleared = org.patch(f"/api/incidents/{made['id']}", json={"priority": None, "assignee_ids": []}).json()[
        "data"
    ]
    assert cleared["priority"] is None and cleared["assignee_ids"] == []
    resolved = org.patch(f"/api/incidents/{made['id']}", json={"status": "RESOLVED"}).json()["data"]
    assert resolved["status"] == "RESOLVED" and resolved["resolved_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"urgency": None}, "urgency"),
        ({"status": "SNOOZED"}, "status"),
        ({"status": "SUPPRESSED"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"assignee_ids": ["usr_ghost"]}, "assignee_ids"),
        ({"number": 5}, "number"),
    ],
)
def test_patch_rejects_bad_input(orgs: OrgFactory, body: dict[str, Any], field: str) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    made = _create(org, svc, "title")
    response = org.patch(f"/api/incidents/{made['id']}", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field"] == field
    assert org.get(f"/api/incidents/{made['id']}").json()["data"]["title"] == "title"


def test_action_endpoints_and_illegal_transitions(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    inc = _create(org, svc, "t")["id"]
    ack = org.post(f"/api/incidents/{inc}/acknowledge").json()["data"]
    assert ack["status"] == "ACKNOWLEDGED" and ack["acknowledged_at"]
    again = org.post(f"/api/incidents/{inc}/acknowledge")
    assert again.status_code == 200  # idempotent, no second timeline entry
    snoozed = org.post(f"/api/incidents/{inc}/snooze", json={"duration_minutes": 60}).json()["data"]
    assert snoozed["status"] == "SNOOZED"
    until = datetime.fromisoformat(snoozed["snoozed_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(minutes=60)
    opened = org.post(f"/api/incidents/{inc}/unsnooze").json()["data"]
    assert opened["status"] == "OPEN" and opened["snoozed_until"] is None
    assert org.post(f"/api/incidents/{inc}/unsnooze").status_code == 409
    assert org.post(f"/api/incidents/{inc}/resolve").json()["data"]["status"] == "RESOLVED"
    for action in ("acknowledge", "snooze"):
        response = org.post(f"/api/incidents/{inc}/{action}", json={"duration_minutes": 5})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "CONFLICT"
    types = [e["type"] for e in org.get(f"/api/incidents/{inc}/timeline").json()["data"]]
    assert types == ["triggered", "acknowledged", "snoozed", "unsnoozed", "resolved"]


def test_snooze_until_and_its_validation(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    inc = _create(org, svc, "t")["id"]
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    stamp = later.isoformat().replace("+00:00", "Z")
    for body, field in (
        ({}, "until"),
        ({"until": stamp, "duration_minutes": 5}, "until"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 60 * 24 * 31}, "duration_minutes"),
        ({"until": "2001-01-01T00:00:00Z"}, "until"),
        ({"until": "2030-01-01T00:00:00"}, "until"),
        ({"until": "not a time"}, "until"),
    ):
        response = org.post(f"/api/incidents/{inc}/snooze", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["details"]["field"] == field
    data = org.post(f"/api/incidents/{inc}/snooze", json={"until": stamp}).json()["data"]
    assert data["snoozed_until"] == stamp


def test_notes(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    inc = _create(org, svc, "t")["id"]
    created = org.post(f"/api/incidents/{inc}/notes", json={"content": "Rolled back deploy 42"})
    assert created.status_code == 201
    note = created.json()["data"]
    assert note["content"] == "Rolled back deploy 42" and note["author_name"] == "admin"
    listing = org.get(f"/api/incidents/{inc}/notes").json()
    assert [n["id"] for n in listing["data"]] == [note["id"]] and listing["pagination"]["total"] == 1
    assert org.post(f"/api/incidents/{inc}/notes", json={"content": ""}).status_code == 400
    assert org.post(f"/api/incidents/{inc}/notes", json={"content": "x" * 10_001}).status_code == 400
    assert org.post(f"/api/incidents/{inc}/notes", json={}).json()["error"]["details"]["field"] == "content"
    assert org.get(f"/api/incidents/{inc}/timeline").json()["data"][-1]["type"] == "note_added"


def test_unknown_incident_is_404_everywhere(orgs: OrgFactory) -> None:
    org = orgs.new()
    for method, path in (
        ("GET", "/api/incidents/inc_nope"),
        ("GET", "/api/incidents/999"),
        ("PATCH", "/api/incidents/inc_nope"),
        ("POST", "/api/incidents/inc_nope/acknowledge"),
        ("POST", "/api/incidents/inc_nope/resolve"),
        ("POST", "/api/incidents/inc_nope/unsnooze"),
        ("GET", "/api/incidents/inc_nope/notes"),
        ("POST", "/api/incidents/inc_nope/notes"),
        ("GET", "/api/incidents/inc_nope/timeline"),
    ):
        body = {"content": "x"} if path.endswith("notes") else {}
        response = org.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_acknowledger_becomes_an_assignee(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    dana, erik = org.make_user("Dana"), org.make_user("Erik")
    erik_key = org.make_key(["incidents:read", "incidents:write"], name="erik", user_id=erik)
    inc = _create(org, svc, "disk full", assignee_ids=[dana])["id"]
    ack = org.post(f"/api/incidents/{inc}/acknowledge", key=erik_key)
    assert ack.status_code == 200, ack.text
    assert ack.json()["data"]["assignee_ids"] == [dana, erik]
    assert org.get(f"/api/incidents/{inc}").json()["data"]["assignee_ids"] == [dana, erik]
    # A service key is no person: acknowledging with it (after a reopen) assigns nobody new.
    org.post(f"/api/incidents/{inc}/snooze", json={"duration_minutes": 5})
    org.post(f"/api/incidents/{inc}/unsnooze")
    assert org.post(f"/api/incidents/{inc}/acknowledge").json()["data"]["assignee_ids"] == [dana, erik]
    # Erik acknowledging again after a reopen is not listed twice.
    org.post(f"/api/incidents/{inc}/snooze", json={"duration_minutes": 5})
    org.post(f"/api/incidents/{inc}/unsnooze")
    again = org.post(f"/api/incidents/{inc}/acknowledge", key=erik_key).json()["data"]
    assert again["assignee_ids"] == [dana, erik]
