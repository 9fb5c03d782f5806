"""Grafana OnCall escalation chains and their steps (``escalation_policies``) over Tocsin policies
and rules: fields in upstream's order, positions that insert and move, the supported step types
and a named 400 for the others, filters, and other orgs' ids answering 404."""

from __future__ import annotations

from typing import Any

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.integration.compat.grafana_oncall.conftest import Grafana


def _chain(g: Grafana, name: str = "Payments", **extra: Any) -> dict[str, Any]:
    response = g.post("/escalation_chains", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _step(g: Grafana, chain: str, **fields: Any) -> dict[str, Any]:
    response = g.post("/escalation_policies", json={"escalation_chain_id": chain, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _schedule(org: OrgHandle, user: str) -> str:
    layer = {"users": [user], "rotation_unit": "days", "rotation_length": 1, "start": "2030-01-01T00:00:00Z"}
    response = org.post("/api/schedules", json={"name": "Primary", "time_zone": "UTC", "layers": [layer]})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def test_chains_crud_filters_and_order(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    team = org.make_team("Payments")
    first = _chain(g, "Zeta", team_id=team)
    assert list(first) == ["id", "name", "team_id"]
    assert first["name"] == "Zeta" and first["team_id"] == team
    second = _chain(g, "Alpha")
    listed = g.get("/escalation_chains").json()
    assert [c["id"] for c in listed["results"]] == [first["id"], second["id"]]  # oldest first
    assert listed["count"] == 2 and listed["page_size"] == 50
    assert [c["id"] for c in g.get("/escalation_chains/", params={"name": "Alpha"}).json()["results"]] == [
        second["id"]
    ]
    assert g.get("/escalation_chains", params={"name": "alp"}).json()["count"] == 0
    assert [c["id"] for c in g.get("/escalation_chains", params={"team_id": team}).json()["results"]] == [
        first["id"]
    ]
    renamed = g.put(f"/escalation_chains/{second['id']}", json={"name": "Beta"})
    assert renamed.status_code == 200 and renamed.json() == {**second, "name": "Beta"}
    assert g.get(f"/escalation_chains/{second['id']}/").json()["name"] == "Beta"
    # The native API sees the same policy, with no rules yet.
    native = org.get(f"/api/escalation-policies/{second['id']}").json()["data"]
    assert (native["name"], native["rules"]) == ("Beta", [])
    assert g.delete(f"/escalation_chains/{second['id']}").status_code == 204
    assert g.get(f"/escalation_chains/{second['id']}").json() == {"detail": "Not found."}


def test_chain_errors_change_nothing(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    g = Grafana(org)
    assert g.post("/escalation_chains", json={}).json() == {"name": ["This field is required."]}
    response = g.post("/escalation_chains", json={"name": "X", "team_id": other.make_team()})
    assert response.status_code == 400 and list(response.json()) == ["team_id"]
    assert (
        g.post("/escalation_chains", content=b"[1]", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    assert g.get("/escalation_chains").json()["count"] == 0
    foreign = _chain(Grafana(other), "Theirs")
    for method in ("GET", "PUT", "DELETE"):
        response = g.request(method, f"/escalation_chains/{foreign['id']}", json={"name": "Mine"})
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), method
    assert Grafana(other).get(f"/escalation_chains/{foreign['id']}").json()["name"] == "Theirs"


def test_steps_of_every_supported_type_in_upstream_shape(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    team = org.make_team("Ops", member_ids=(alice,))
    schedule = _schedule(org, alice)
    chain = _chain(g)["id"]
    persons = _step(g, chain, type="notify_persons", persons_to_notify=[alice, bob], important=True)
    assert persons == {
        "position": 0,
        "id": persons["id"],
        "escalation_chain_id": chain,
        "type": "notify_persons",
        "important": True,
        "persons_to_notify": [alice, bob],
    }
    assert list(persons) == [
        "position",
        "id",
        "escalation_chain_id",
        "type",
        "important",
        "persons_to_notify",
    ]
    wait = _step(g, chain, type="wait", duration=300)
    assert list(wait.items())[3:] == [("type", "wait"), ("duration", 300)]
    on_call = _step(g, chain, type="notify_on_call_from_schedule", notify_on_call_from_schedule=schedule)
    assert list(on_call.items())[3:] == [
        ("type", "notify_on_call_from_schedule"),
        ("important", False),
        ("notify_on_call_from_schedule", schedule),
    ]
    members = _step(g, chain, type="notify_team_members", team_to_notify=team, important="true")
    assert list(members.items())[3:] == [
        ("type", "notify_team_members"),
        ("important", True),
        ("team_to_notify", team),
    ]
    repeat = _step(g, chain, type="repeat_escalation")
    resolve = _step(g, chain, type="resolve")
    assert [list(s) for s in (repeat, resolve)] == [["position", "id", "escalation_chain_id", "type"]] * 2
    listed = g.get("/escalation_policies", params={"escalation_chain_id": chain}).json()["results"]
    assert [(s["position"], s["type"]) for s in listed] == [
        (0, "notify_persons"),
        (1, "wait"),
        (2, "notify_on_call_from_schedule"),
        (3, "notify_team_members"),
        (4, "repeat_escalation"),
        (5, "resolve"),
    ]
    assert g.get(f"/escalation_policies/{wait['id']}").json() == {**wait}
    # The native API shows the same rules with their kinds.
    rules = org.get(f"/api/escalation-policies/{chain}").json()["data"]["rules"]
    assert [(r["kind"], r["delay_minutes"], r["important"]) for r in rules] == [
        ("notify", 0, True),
        ("wait", 5, False),
        ("notify", 0, False),
        ("notify", 0, True),
        ("repeat", 0, False),
        ("resolve", 0, False),
    ]


def test_positions_insert_move_and_renumber(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    alice = org.make_user("Alice")
    chain = _chain(g)["id"]
    a = _step(g, chain, type="notify_persons", persons_to_notify=[alice])
    b = _step(g, chain, type="wait", duration=60)
    c = _step(g, chain, type="resolve", position=0)
    d = _step(g, chain, type="repeat_escalation", position=-1)

    def order() -> list[str]:
        results = g.get("/escalation_policies", params={"escalation_chain_id": chain}).json()["results"]
        assert [s["position"] for s in results] == list(range(len(results)))
        return [s["id"] for s in results]

    assert order() == [c["id"], a["id"], b["id"], d["id"]]
    moved = g.put(f"/escalation_policies/{c['id']}", json={"position": 3})
    assert moved.status_code == 200 and moved.json()["position"] == 3
    assert order() == [a["id"], b["id"], d["id"], c["id"]]
    assert g.patch(f"/escalation_policies/{d['id']}", json={"position": 99}).json()["position"] == 3
    assert g.delete(f"/escalation_policies/{a['id']}").status_code == 204
    assert order() == [b["id"], c["id"], d["id"]]
    # Changing a step's fields keeps the rest; a new type takes its own fields.
    changed = g.put(f"/escalation_policies/{b['id']}", json={"duration": 1800})
    assert (changed.json()["type"], changed.json()["duration"]) == ("wait", 1800)
    retyped = g.put(
        f"/escalation_policies/{b['id']}", json={"type": "notify_persons", "persons_to_notify": [alice]}
    )
    assert retyped.json()["persons_to_notify"] == [alice] and "duration" not in retyped.json()
    assert g.put(f"/escalation_policies/{b['id']}", json={"important": True}).json()["persons_to_notify"] == [
        alice
    ]


def test_step_errors_are_named_and_change_nothing(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    g = Grafana(org)
    alice = org.make_user("Alice")
    chain = _chain(g)["id"]
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"type": "trigger_webhook"}, {"type": ["Step type 'trigger_webhook' is not supported by Tocsin"]}),
        (
            {"type": "notify_person_next_each_time", "persons_to_notify_next_each_time": [alice]},
            {"type": ["Step type 'notify_person_next_each_time' is not supported by Tocsin"]},
        ),
        ({"type": "declare_incident"}, {"type": ["Step type 'declare_incident' is not supported by Tocsin"]}),
        ({"type": "page_everyone"}, {"detail": "Invalid escalation step type"}),
        ({}, {"type": ["This field is required."]}),
        ({"type": "wait", "duration": 120}, {"duration": ['"120" is not a valid choice.']}),
        ({"type": "wait", "duration": "soon"}, {"detail": "Invalid duration format"}),
        (
            {"type": "notify_persons", "persons_to_notify": []},
            {"persons_to_notify": ["This list may not be empty."]},
        ),
        ({"type": "resolve", "position": -5}, {"detail": "Invalid value for position field"}),
        ({"type": "resolve", "position": "first"}, {"position": ["A valid integer is required."]}),
        (
            {"type": "notify_persons", "persons_to_notify": [alice], "important": "maybe"},
            {"important": ["Must be a valid boolean."]},
        ),
    ]
    for body, error in cases:
        response = g.post("/escalation_policies", json={"escalation_chain_id": chain, **body})
        assert (response.status_code, response.json()) == (400, error), body
    foreign_user = other.make_user("Mallory")
    response = g.post(
        "/escalation_policies",
        json={"escalation_chain_id": chain, "type": "notify_persons", "persons_to_notify": [foreign_user]},
    )
    assert response.status_code == 400 and list(response.json()) == ["persons_to_notify"]
    response = g.post(
        "/escalation_policies",
        json={"escalation_chain_id": chain, "type": "notify_team_members", "team_to_notify": "tm_nope"},
    )
    assert response.status_code == 400 and list(response.json()) == ["team_to_notify"]
    foreign_chain = _chain(Grafana(other), "Theirs")["id"]
    response = g.post("/escalation_policies", json={"escalation_chain_id": foreign_chain, "type": "resolve"})
    assert response.status_code == 400 and list(response.json()) == ["escalation_chain_id"]
    assert g.post("/escalation_policies", json={"type": "resolve"}).json() == {
        "escalation_chain_id": ["This field is required."]
    }
    assert g.get("/escalation_policies").json()["count"] == 0
    theirs = _step(Grafana(other), foreign_chain, type="resolve")
    for method in ("GET", "PUT", "DELETE"):
        response = g.request(method, f"/escalation_policies/{theirs['id']}", json={"position": 0})
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), method
    assert g.get("/escalation_policies", params={"escalation_chain_id": foreign_chain}).json()["count"] == 0


def test_native_rules_read_as_the_nearest_step(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice")
    team = org.make_team("Ops", member_ids=(alice,))
    response = org.post(
        "/api/escalation-policies",
        json={
            "name": "Native",
            "rules": [
                {"targets": [{"type": "user", "id": alice}, {"type": "team", "id": team}]},
                {"kind": "wait", "delay_minutes": 15},
            ],
        },
    )
    assert response.status_code == 201, response.text
    steps = Grafana(org).get("/escalation_policies").json()["results"]
    assert [s["type"] for s in steps] == [None, "wait"]
    assert steps[1]["duration"] == 900


def test_a_native_policy_shows_its_delays_and_repeats_as_steps(orgs: OrgFactory) -> None:
    """Level 2 a minute after level 1, two repeats: Grafana sees the waits and the repeat, in order,
    the repeat's wait being the last level's delay (the default repeat delay)."""
    org = orgs.new()
    g = Grafana(org)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    created = org.post(
        "/api/escalation-policies",
        json={
            "name": "Native",
            "repeat_count": 2,
            "rules": [
                {"delay_minutes": 0, "targets": [{"type": "user", "id": alice}]},
                {"delay_minutes": 1, "targets": [{"type": "user", "id": bob}]},
            ],
        },
    )
    assert created.status_code == 201, created.text
    policy = created.json()["data"]
    first, second = (rule["id"] for rule in policy["rules"])
    listed = g.get("/escalation_policies/", params={"escalation_chain_id": policy["id"]}).json()
    chain = policy["id"]
    expected = [
        {"position": 0, "id": first, "escalation_chain_id": chain, "type": "notify_persons",
         "important": False, "persons_to_notify": [alice]},
        {"position": 1, "id": f"{second}-wait", "escalation_chain_id": chain, "type": "wait", "duration": 60},
        {"position": 2, "id": second, "escalation_chain_id": chain, "type": "notify_persons",
         "important": False, "persons_to_notify": [bob]},
        {"position": 3, "id": f"{chain}-repeat-wait", "escalation_chain_id": chain, "type": "wait", "duration": 60},
        {"position": 4, "id": f"{chain}-repeat", "escalation_chain_id": chain, "type": "repeat_escalation"},
    ]  # fmt: skip
    assert listed["results"] == expected and listed["count"] == 5
    for step in expected:
        assert g.get(f"/escalation_policies/{step['id']}").json() == step
    assert g.get(f"/escalation_policies/{chain}-nothing").json() == {"detail": "Not found."}
    assert g.get("/escalation_policies/nope-repeat").json() == {"detail": "Not found."}

    # An explicit repeat delay of 0 repeats at once: no wait before the repeat step.
    assert org.patch(f"/api/escalation-policies/{chain}", json={"repeat_delay_minutes": 0}).status_code == 200
    listed = g.get("/escalation_policies/", params={"escalation_chain_id": chain}).json()
    assert [(step["position"], step["type"]) for step in listed["results"]] == [
        (0, "notify_persons"),
        (1, "wait"),
        (2, "notify_persons"),
        (3, "repeat_escalation"),
    ]
    # Paged as Grafana pages: the steps after the first page come on the next.
    paged = g.get("/escalation_policies/", params={"escalation_chain_id": chain, "perpage": 3, "page": 2})
    assert [step["position"] for step in paged.json()["results"]] == [3]
