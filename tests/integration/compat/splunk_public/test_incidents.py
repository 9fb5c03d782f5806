"""Splunk On-Call incidents through HTTP: the list and one incident (every field, in order),
opening one for a user or a policy, ack/resolve by number and by user as the named person (on the
timeline as them, with their message), reroute, and bad inputs that change nothing."""

from __future__ import annotations

from typing import Any

from tests.integration.compat.splunk_public.conftest import World
from tests.integration.compat.splunk_public.test_auth import expect_error

FIELDS = [
    "alertCount", "currentPhase", "entityId", "entityDisplayName", "entityState", "entityType", "host",
    "incidentNumber", "lastAlertId", "lastAlertTime", "pagedPolicies", "pagedTeams", "pagedUsers",
    "routingKey", "service", "startTime", "transitions",
]  # fmt: skip
TRANSITION = ["name", "at", "by", "message", "manually", "alertId", "alertUrl"]


def _incident(world: World, number: int) -> dict[str, Any]:
    response = world.splunk.get(f"/api-public/v1/incidents/{number}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_list_and_get_have_every_field_in_order(world: World) -> None:
    number = world.trigger("Disk full on db-01", dedup_key="db-01/disk")
    world.splunk.drain()
    listing = world.splunk.get("/api-public/v1/incidents")
    assert listing.status_code == 200 and list(listing.json()) == ["incidents"]
    [incident] = listing.json()["incidents"]
    assert list(incident) == FIELDS
    assert incident == _incident(world, number)
    policy, team = world.policy, world.team
    assert {k: v for k, v in incident.items() if k not in ("lastAlertId", "transitions")} == {
        "alertCount": 1,
        "currentPhase": "UNACKED",
        "entityId": "db-01/disk",
        "entityDisplayName": "Disk full on db-01",
        "entityState": "CRITICAL",
        "entityType": "SERVICE",
        "host": "db-01",
        "incidentNumber": str(number),
        "lastAlertTime": "2030-01-07T10:00:00Z",
        "pagedPolicies": [
            {
                "policy": {"name": "Payments EP", "slug": policy["id"]},
                "team": {"name": "Payments", "slug": team["slug"]},
            }
        ],
        "pagedTeams": ["payments"],
        "pagedUsers": ["alice"],  # on call in the policy's schedule, paged by the engine
        "routingKey": world.routing_key,
        "service": "Payment API",
        "startTime": "2030-01-07T10:00:00Z",
    }
    assert incident["lastAlertId"].startswith("alr_")
    [triggered] = incident["transitions"]
    assert list(triggered) == TRANSITION
    assert triggered["name"] == "UNACKED" and triggered["at"] == "2030-01-07T10:00:00Z"
    assert triggered["alertId"] == incident["lastAlertId"]


def test_unknown_incident_numbers_are_404(world: World, orgs: Any) -> None:
    for number in ("999", "abc", "1" * 20, "²"):
        expect_error(world.splunk.get(f"/api-public/v1/incidents/{number}"), 404)
    other_number = world.trigger()
    other = orgs.new()
    rk = other.make_service()[1]
    other.trigger(rk)
    # The other org's incident #1 exists, ours is #1 too: each org sees only its own.
    assert _incident(world, other_number)["routingKey"] == world.routing_key


def test_ack_and_resolve_by_number_act_as_the_named_user(world: World) -> None:
    first, second = world.trigger("one", "k1"), world.trigger("two", "k2")
    body = {"userName": "bob", "incidentNames": [str(first), second, "424242"], "message": "on it"}
    response = world.splunk.patch("/api-public/v1/incidents/ack", json=body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [list(r) for r in results] == [["incidentNumber", "entityId", "cmdAccepted", "message"]] * 3
    assert [(r["incidentNumber"], r["entityId"], r["cmdAccepted"]) for r in results] == [
        (str(first), "k1", True),
        (str(second), "k2", True),
        ("424242", None, False),
    ]
    acked = _incident(world, first)
    assert acked["currentPhase"] == "ACKED"
    assert acked["transitions"][-1] == {
        "name": "ACKED", "at": "2030-01-07T10:00:00Z", "by": "bob", "message": "on it",
        "manually": True, "alertId": None, "alertUrl": None,
    }  # fmt: skip
    timeline = world.native("GET", f"/api/incidents/{first}/timeline")["data"]
    ack_entry = next(e for e in timeline if e["type"] == "acknowledged")
    assert (ack_entry["actor_type"], ack_entry["actor_id"], ack_entry["actor_name"]) == (
        "user",
        world.people["Bob"],
        "Bob Example",
    )
    again = world.splunk.patch(
        "/api-public/v1/incidents/ack", json={"userName": "bob", "incidentNames": [first]}
    )
    assert again.json()["results"][0]["cmdAccepted"] is False
    resolved = world.splunk.patch(
        "/api-public/v1/incidents/resolve", json={"userName": "carol", "incidentNames": [first]}
    )
    assert resolved.json()["results"][0]["cmdAccepted"] is True
    assert _incident(world, first)["currentPhase"] == "RESOLVED"
    assert _incident(world, first)["transitions"][-1]["by"] == "carol"


def test_by_user_acts_on_everything_paged_to_them(world: World) -> None:
    first, second = world.trigger("one", "k1"), world.trigger("two", "k2")
    world.splunk.drain()  # Alice is on call: both page her
    none = world.splunk.patch("/api-public/v1/incidents/byUser/ack", json={"userName": "bob"})
    assert none.status_code == 200 and none.json() == {"results": []}
    response = world.splunk.patch(
        "/api-public/v1/incidents/byUser/ack", json={"userName": "alice", "message": "mine"}
    )
    assert [(r["incidentNumber"], r["cmdAccepted"]) for r in response.json()["results"]] == [
        (str(first), True),
        (str(second), True),
    ]
    response = world.splunk.patch("/api-public/v1/incidents/byUser/resolve", json={"userName": "ALICE"})
    assert [r["cmdAccepted"] for r in response.json()["results"]] == [True, True]
    assert {i["currentPhase"] for i in world.splunk.get("/api-public/v1/incidents").json()["incidents"]} == {
        "RESOLVED"
    }


def test_create_for_a_user_pages_them_on_the_splunk_api_service(world: World) -> None:
    body = {
        "summary": "Checkout down",
        "details": "500s",
        "userName": "bob",
        "targets": [{"type": "User", "slug": "carol"}],
    }
    response = world.splunk.post("/api-public/v1/incidents", json=body)
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["incidentNumber"]
    number = response.json()["incidentNumber"]
    incident = _incident(world, int(number))
    assert (incident["service"], incident["entityDisplayName"], incident["pagedUsers"]) == (
        "Splunk API",
        "Checkout down",
        ["carol"],
    )
    native = world.native("GET", f"/api/incidents/{number}")["data"]
    assert native["description"] == "500s" and native["assignee_ids"] == [world.people["Carol"]]
    assert incident["transitions"][0]["by"] == "bob"


def test_create_for_a_policy_uses_its_service(world: World) -> None:
    body = {
        "summary": "Payments slow",
        "details": "p99 up",
        "userName": "alice",
        "targets": [{"type": "EscalationPolicy", "slug": world.policy["id"]}],
    }
    number = world.splunk.post("/api-public/v1/incidents", json=body).json()["incidentNumber"]
    world.splunk.drain()
    incident = _incident(world, int(number))
    assert incident["service"] == "Payment API"
    assert incident["pagedUsers"] == ["alice"]
    assert incident["pagedPolicies"][0]["policy"]["slug"] == world.policy["id"]


def test_bad_creates_and_commands_change_nothing(world: World) -> None:
    splunk = world.splunk
    good = {"summary": "s", "details": "d", "userName": "bob", "targets": [{"type": "User", "slug": "carol"}]}
    cases: list[tuple[dict[str, Any], int]] = [
        ({**good, "summary": ""}, 400),
        ({**good, "summary": 5}, 400),
        ({**good, "targets": []}, 400),
        ({**good, "targets": "carol"}, 400),
        ({**good, "targets": [{"type": "Team", "slug": "x"}]}, 400),
        ({**good, "targets": [{"type": "User", "slug": "nobody"}]}, 400),
        ({**good, "targets": [{"type": "EscalationPolicy", "slug": "ep_nope"}]}, 400),
        ({**good, "userName": "nobody"}, 404),
        ({k: v for k, v in good.items() if k != "userName"}, 400),
        # users and a policy together: the policy's first step would take over from the users
        ({**good, "targets": [{"type": "User", "slug": "carol"},
                              {"type": "EscalationPolicy", "slug": world.policy["id"]}]}, 400),
        ({**good, "userName": "bob\x00"}, 400),
        ({**good, "summary": "nul \x00 byte"}, 400),
    ]  # fmt: skip
    for body, status in cases:
        expect_error(splunk.post("/api-public/v1/incidents", json=body), status)
    assert splunk.get("/api-public/v1/incidents").json() == {"incidents": []}
    number = world.trigger()
    bad_acks: list[tuple[dict[str, Any], int]] = [
        ({"incidentNames": [number]}, 400),
        ({"userName": "bob"}, 400),
        ({"userName": "bob", "incidentNames": []}, 400),
        ({"userName": "bob", "incidentNames": "1"}, 400),
        ({"userName": "bob", "incidentNames": [True]}, 400),
        ({"userName": "bob", "incidentNames": [number], "message": 7}, 400),
        ({"userName": "ghost", "incidentNames": [number]}, 404),
    ]
    for body, status in bad_acks:
        expect_error(splunk.patch("/api-public/v1/incidents/ack", json=body), status)
    expect_error(splunk.patch("/api-public/v1/incidents/byUser/resolve", json={"userName": "ghost"}), 404)
    assert _incident(world, number)["currentPhase"] == "UNACKED"


def test_reroute_to_users_or_a_policy(world: World) -> None:
    first, second = world.trigger("one", "k1"), world.trigger("two", "k2")
    body = {
        "userName": "alice",
        "reroutes": [
            {
                "incidentNumber": str(first),
                "targets": [{"type": "User", "slug": "bob"}, {"type": "User", "slug": "ghost"}],
            },
            {"incidentNumber": second, "targets": [{"type": "EscalationPolicy", "slug": world.policy["id"]}]},
            {"incidentNumber": "777", "targets": [{"type": "User", "slug": "bob"}]},
            {"incidentNumber": str(first), "targets": [{"type": "User", "slug": "ghost"}]},
        ],
    }
    response = world.splunk.post("/api-public/v1/incidents/reroute", json=body)
    assert response.status_code == 200, response.text
    statuses = response.json()["statuses"]
    assert [list(s) for s in statuses] == [["incidentNumber", "success", "message", "targetStatus"]] * 4
    assert [(s["incidentNumber"], s["success"]) for s in statuses] == [
        (str(first), True),
        (str(second), True),
        ("777", False),
        (str(first), False),
    ]
    assert [(t["slug"], t["success"]) for t in statuses[0]["targetStatus"]] == [
        ("bob", True),
        ("ghost", False),
    ]
    assert _incident(world, first)["pagedUsers"] == ["bob"]
    timeline = world.native("GET", f"/api/incidents/{first}/timeline")["data"]
    assert any(e["type"] == "reassigned" and e["actor_name"] == "Alice Example" for e in timeline)
    expect_error(world.splunk.post("/api-public/v1/incidents/reroute", json={"userName": "alice"}), 400)
    bad = {"userName": "alice", "reroutes": [{"incidentNumber": None, "targets": []}]}
    expect_error(world.splunk.post("/api-public/v1/incidents/reroute", json=bad), 400)
