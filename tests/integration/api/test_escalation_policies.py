"""/api/escalation-policies through HTTP: CRUD with ordered rules and named targets, validation of
every field, the services that use a policy (and the 409 on deleting it), assigning a policy to a
service, pagination, tenancy, modes and scopes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle

PATH = "/api/escalation-policies"


def _user_rule(user: str, delay: int = 0) -> dict[str, Any]:
    return {"delay_minutes": delay, "targets": [{"type": "user", "id": user}]}


def _create(org: OrgHandle, **body: Any) -> dict[str, Any]:
    response = org.post(PATH, json={"name": "Payments", **body})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _schedule(org: OrgHandle, user: str, team_id: str | None = None, name: str = "Primary") -> str:
    layer = {"users": [user], "rotation_unit": "days", "rotation_length": 1, "start": "2030-01-07T09:00:00Z"}
    response = org.post(
        "/api/schedules", json={"name": name, "time_zone": "UTC", "team_id": team_id, "layers": [layer]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _total(org: OrgHandle) -> int:
    return int(org.get(PATH).json()["pagination"]["total"])


def test_full_crud_with_rules_targets_and_services(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice Smith", "alice@example.com")
    bob = org.make_user("Bob Jones", "bob@example.com")
    team = org.make_team("Payments", member_ids=(alice, bob))
    team_schedule = _schedule(org, bob, team_id=team, name="Payments primary")
    loose_schedule = _schedule(org, alice, name="Loose")
    created = _create(
        org,
        name=" Payments default ",
        description="Who gets paged for payments",
        team_id=team,
        repeat_count=2,
        repeat_delay_minutes=15,
        rules=[
            {"delay_minutes": 0, "targets": [{"type": "schedule", "id": loose_schedule}]},
            {
                "delay_minutes": 10,
                "targets": [
                    {"type": "user", "id": alice},
                    {"type": "team", "id": team, "schedule_id": team_schedule},
                    {"type": "team", "id": team},
                ],
            },
        ],
    )
    assert created["id"].startswith("ep_")
    first, second = created["rules"]
    assert first["id"].startswith("epr_") and second["id"].startswith("epr_")
    assert {k: v for k, v in created.items() if k not in ("id", "rules", "created_at", "updated_at")} == {
        "name": "Payments default",
        "description": "Who gets paged for payments",
        "team_id": team,
        "repeat_count": 2,
        "repeat_delay_minutes": 15,
        "services": [],
        "livemode": True,
    }
    assert created["created_at"].endswith("Z") and created["created_at"] == created["updated_at"]
    assert [{k: v for k, v in rule.items() if k != "id"} for rule in created["rules"]] == [
        {
            "position": 0,
            "kind": "notify",
            "delay_minutes": 0,
            "targets": [{"type": "schedule", "id": loose_schedule, "name": "Loose", "schedule_id": None}],
            "important": False,
        },
        {
            "position": 1,
            "kind": "notify",
            "delay_minutes": 10,
            "targets": [
                {"type": "user", "id": alice, "name": "Alice Smith", "schedule_id": None},
                {"type": "team", "id": team, "name": "Payments", "schedule_id": team_schedule},
                {"type": "team", "id": team, "name": "Payments", "schedule_id": None},
            ],
            "important": False,
        },
    ]
    fetched = org.get(f"{PATH}/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == {"data": created}

    # Fields not sent stay as they were.
    patched = org.patch(f"{PATH}/{created['id']}", json={"name": "Renamed", "description": None})
    assert patched.status_code == 200, patched.text
    after = patched.json()["data"]
    assert (after["name"], after["description"], after["rules"]) == ("Renamed", None, created["rules"])
    assert (after["repeat_count"], after["team_id"]) == (2, team)

    # Replacing the rules: the second is sent back with its id and kept, the first goes, one is new.
    relisted = org.patch(
        f"{PATH}/{created['id']}",
        json={"rules": [{"id": second["id"], **_user_rule(bob, 5)}, _user_rule(alice, 30)], "team_id": None},
    )
    assert relisted.status_code == 200, relisted.text
    kept, added = relisted.json()["data"]["rules"]
    assert (kept["id"], kept["position"], kept["delay_minutes"]) == (second["id"], 0, 5)
    assert [t["id"] for t in kept["targets"]] == [bob]
    assert added["id"] not in (first["id"], second["id"]) and added["position"] == 1
    assert relisted.json()["data"]["team_id"] is None
    assert org.get(f"{PATH}/{created['id']}").json()["data"] == relisted.json()["data"]

    # A service pages through it: the policy lists it, and deleting the policy is refused.
    service = org.post(
        "/api/services", json={"name": "Checkout", "escalation_policy_id": created["id"]}
    ).json()["data"]
    assert service["escalation_policy_id"] == created["id"]
    assert org.get(f"{PATH}/{created['id']}").json()["data"]["services"] == [
        {"id": service["id"], "name": "Checkout"}
    ]
    conflict = _error(org.delete(f"{PATH}/{created['id']}"), 409, "CONFLICT")
    assert conflict["details"] == {"services": [{"id": service["id"], "name": "Checkout"}]}
    assert "Checkout" in conflict["message"]
    assert org.get(f"{PATH}/{created['id']}").status_code == 200

    unset = org.patch(f"/api/services/{service['id']}", json={"escalation_policy_id": None})
    assert unset.status_code == 200 and unset.json()["data"]["escalation_policy_id"] is None
    deleted = org.delete(f"{PATH}/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    _error(org.get(f"{PATH}/{created['id']}"), 404, "NOT_FOUND")
    _error(org.delete(f"{PATH}/{created['id']}"), 404, "NOT_FOUND")
    assert _total(org) == 0


def test_defaults_and_a_deleted_target(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    created = _create(org, rules=[{"targets": [{"type": "user", "id": alice}, {"type": "user", "id": bob}]}])
    # repeat_delay_minutes null: a repeat waits the last rule's delay (domain.escalation.repeat_delay)
    assert (created["repeat_count"], created["repeat_delay_minutes"], created["description"]) == (
        0,
        None,
        None,
    )
    assert created["rules"][0]["delay_minutes"] == 0 and created["team_id"] is None
    assert org.delete(f"/api/users/{alice}").status_code == 204
    targets = org.get(f"{PATH}/{created['id']}").json()["data"]["rules"][0]["targets"]
    assert [(t["id"], t["name"]) for t in targets] == [(alice, None), (bob, "Bob")]
    # Sending the rule back as it is names the dangling target.
    error = _error(
        org.patch(f"{PATH}/{created['id']}", json={"rules": [{"targets": targets}]}), 400, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": "rules.0.targets.0.name", "reason": "unknown_field"}
    error = _error(
        org.patch(
            f"{PATH}/{created['id']}",
            json={"rules": [{"targets": [{"type": t["type"], "id": t["id"]} for t in targets]}]},
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "rules.0.targets.0.id", "reason": "not_found"}


def _targets(n: int, user: str) -> list[dict[str, Any]]:
    return [{"type": "user", "id": user}] * n


BAD_POLICIES: list[tuple[dict[str, Any], str, str]] = [
    ({"name": None}, "name", "string_type"),
    ({"name": "   "}, "name", "required"),
    ({"name": "x" * 201}, "name", "too_long"),
    ({"description": "x" * 2001}, "description", "string_too_long"),
    ({"team_id": "tm_nope"}, "team_id", "not_found"),
    ({"repeat_count": 10}, "repeat_count", "range"),
    ({"repeat_count": -1}, "repeat_count", "range"),
    ({"repeat_count": "2"}, "repeat_count", "int_type"),
    ({"repeat_count": True}, "repeat_count", "int_type"),
    ({"repeat_count": 1.5}, "repeat_count", "int_type"),
    ({"repeat_delay_minutes": 1441}, "repeat_delay_minutes", "range"),
    ({"repeat_delay_minutes": -5}, "repeat_delay_minutes", "range"),
    ({"repeat_delay_minutes": "5"}, "repeat_delay_minutes", "int_type"),
    ({"rules": []}, "rules", "required"),
    ({"rules": "all"}, "rules", "list_type"),
    ({"rules": [{"targets": [{"type": "user", "id": "{user}"}]}] * 21}, "rules", "too_long"),
    ({"rules": [{"delay_minutes": 0}]}, "rules.0.targets", "required"),
    ({"rules": [{"targets": []}]}, "rules.0.targets", "required"),
    ({"rules": [{"targets": _targets(21, "{user}")}]}, "rules.0.targets", "too_long"),
    ({"rules": [{"targets": _targets(2, "{user}")}]}, "rules.0.targets.1", "duplicate"),
    ({"rules": [{"targets": [{"type": "team", "id": "{team}"}, {"type": "user", "id": "{user}"}, {"type": "team", "id": "{team}"}]}]}, "rules.0.targets.2", "duplicate"),
    ({"rules": [{"delay_minutes": "5", "targets": _targets(1, "{user}")}]}, "rules.0.delay_minutes", "int_type"),
    ({"rules": [{"delay_minutes": True, "targets": _targets(1, "{user}")}]}, "rules.0.delay_minutes", "int_type"),
    ({"rules": [{"delay_minutes": -1, "targets": _targets(1, "{user}")}]}, "rules.0.delay_minutes", "range"),
    ({"rules": [{"delay_minutes": 1441, "targets": _targets(1, "{user}")}]}, "rules.0.delay_minutes", "range"),
    ({"rules": [{"targets": _targets(1, "{user}"), "priority": 1}]}, "rules.0.priority", "unknown_field"),
    ({"rules": [{"targets": _targets(1, "{user}")}, {"targets": [{"type": "user", "id": "usr_nope"}]}]}, "rules.1.targets.0.id", "not_found"),
    ({"rules": [{"targets": [{"type": "schedule", "id": "sch_nope"}]}]}, "rules.0.targets.0.id", "not_found"),
    ({"rules": [{"targets": [{"type": "team", "id": "tm_nope"}]}]}, "rules.0.targets.0.id", "not_found"),
    ({"rules": [{"targets": [{"type": "schedule", "id": "{user}"}]}]}, "rules.0.targets.0.id", "not_found"),
    ({"rules": [{"targets": [{"type": "group", "id": "{user}"}]}]}, "rules.0.targets.0.type", "invalid"),
    ({"rules": [{"targets": [{"id": "{user}"}]}]}, "rules.0.targets.0.type", "required"),
    ({"rules": [{"targets": [{"type": "user"}]}]}, "rules.0.targets.0.id", "required"),
    ({"rules": [{"targets": [{"type": "user", "id": ""}]}]}, "rules.0.targets.0.id", "required"),
    ({"rules": [{"targets": [{"type": "user", "id": 7}]}]}, "rules.0.targets.0.id", "string_type"),
    ({"rules": [{"targets": ["{user}"]}]}, "rules.0.targets.0", "model_attributes_type"),
    ({"rules": [{"targets": [{"type": "user", "id": "{user}", "schedule_id": "{schedule}"}]}]}, "rules.0.targets.0.schedule_id", "not_allowed"),
    ({"rules": [{"targets": [{"type": "team", "id": "{team}", "schedule_id": "sch_nope"}]}]}, "rules.0.targets.0.schedule_id", "not_found"),
    ({"rules": [{"targets": [{"type": "team", "id": "{team}", "schedule_id": "{schedule}"}]}]}, "rules.0.targets.0.schedule_id", "not_in_team"),
    ({"rules": [{"targets": _targets(1, "{user}"), "id": "epr_nope"}]}, "rules.0.id", "not_found"),
    ({"livemode": False}, "livemode", "unknown_field"),
]  # fmt: skip


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("change", "field", "reason"), BAD_POLICIES)
def test_bad_policies_are_400_naming_the_field(
    orgs: OrgFactory, change: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    user = org.make_user()
    team = org.make_team()
    ids = {"user": user, "team": team, "schedule": _schedule(org, user)}  # a schedule of no team
    body = _fill({"name": "Payments", "rules": [_user_rule(user)], **change}, ids)
    error = _error(org.post(PATH, json=body), 400, "VALIDATION_ERROR")
    assert (error["details"]["field"], error["details"]["reason"]) == (field, reason), error
    assert _total(org) == 0
    # The same change is refused on update, and the policy is left as it was.
    policy = _create(org, rules=[_user_rule(user)])
    patch = {k: v for k, v in body.items() if k != "name" or "name" in change}
    error = _error(org.patch(f"{PATH}/{policy['id']}", json=patch), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field, error
    assert org.get(f"{PATH}/{policy['id']}").json()["data"] == policy


def test_missing_fields_and_bad_bodies(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    for body, field in (({"rules": [_user_rule(user)]}, "name"), ({"name": "x"}, "rules")):
        error = _error(org.post(PATH, json=body), 400, "VALIDATION_ERROR")
        assert error["details"] == {"field": field, "reason": "required"}
    error = _error(org.post(PATH, content=b"[1]"), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": "body", "reason": "invalid_json"}
    policy = _create(org, rules=[_user_rule(user)])
    other = _create(org, name="Other", rules=[_user_rule(user)])
    rule_id = policy["rules"][0]["id"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"rules": None}, "rules", "required"),
        ({"repeat_count": None}, "repeat_count", "required"),
        ({"repeat_delay_minutes": True}, "repeat_delay_minutes", "int_type"),
        ({"name": None}, "name", "required"),
        ({"rules": [{"id": other["rules"][0]["id"], **_user_rule(user)}]}, "rules.0.id", "not_found"),
        ({"rules": [{"id": [rule_id], **_user_rule(user)}]}, "rules.0.id", "string_type"),
        ({"rules": [{"id": rule_id, **_user_rule(user)}, {"id": rule_id, **_user_rule(user)}]}, "rules.1.id", "duplicate"),
        ({"rules": [_user_rule(user)], "repeat_count": 99}, "repeat_count", "range"),
    ]  # fmt: skip
    for body, field, reason in cases:
        error = _error(org.patch(f"{PATH}/{policy['id']}", json=body), 400, "VALIDATION_ERROR")
        assert (error["details"]["field"], error["details"]["reason"]) == (field, reason), body
    assert org.get(f"{PATH}/{policy['id']}").json()["data"] == policy
    assert org.get(f"{PATH}/{other['id']}").json()["data"] == other


def test_other_orgs_targets_are_field_errors_not_leaks(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    me = mine.make_user()
    my_team = mine.make_team()
    them = theirs.make_user()
    their_team = theirs.make_team(member_ids=(them,))
    their_schedule = _schedule(theirs, them, team_id=their_team)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "user", "id": them}, "rules.0.targets.1.id"),
        ({"type": "schedule", "id": their_schedule}, "rules.0.targets.1.id"),
        ({"type": "team", "id": their_team}, "rules.0.targets.1.id"),
        ({"type": "team", "id": my_team, "schedule_id": their_schedule}, "rules.0.targets.1.schedule_id"),
    ]
    for target, field in cases:
        body = {"name": "x", "rules": [{"targets": [{"type": "user", "id": me}, target]}]}
        error = _error(mine.post(PATH, json=body), 400, "VALIDATION_ERROR")
        assert error["details"] == {"field": field, "reason": "not_found"}, target
    error = _error(
        mine.post(PATH, json={"name": "x", "team_id": their_team, "rules": [_user_rule(me)]}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "team_id", "reason": "not_found"}
    assert _total(mine) == 0


def test_other_orgs_policies_are_404(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    me, them = mine.make_user(), theirs.make_user()
    policy = _create(theirs, rules=[_user_rule(them)])
    path = f"{PATH}/{policy['id']}"
    _error(mine.get(path), 404, "NOT_FOUND")
    _error(mine.patch(path, json={"name": "mine"}), 404, "NOT_FOUND")
    _error(mine.patch(path, json={"rules": [_user_rule(me)]}), 404, "NOT_FOUND")
    _error(mine.delete(path), 404, "NOT_FOUND")
    _error(mine.get(f"{PATH}/ep_nope"), 404, "NOT_FOUND")
    assert mine.get(PATH).json()["data"] == []
    assert theirs.get(path).json()["data"] == policy
    # Nor can a service of mine point at it.
    details = _error(
        mine.post("/api/services", json={"name": "x", "escalation_policy_id": policy["id"]}),
        400,
        "VALIDATION_ERROR",
    )["details"]
    assert details == {"field": "escalation_policy_id", "reason": "not_found"}
    assert mine.get("/api/services").json()["data"] == []


def test_list_filters_and_pagination(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    team = org.make_team("Core")
    for name in ("Payments primary", "Payments secondary", "Search"):
        _create(org, name=name, team_id=team if name != "Search" else None, rules=[_user_rule(user)])
    listed = org.get(PATH).json()
    assert [p["name"] for p in listed["data"]] == ["Payments primary", "Payments secondary", "Search"]
    assert listed["pagination"] == {"total": 3, "limit": 25, "offset": 0, "has_more": False}
    assert listed["data"][0]["rules"][0]["targets"][0]["id"] == user
    page = org.get(PATH, params={"limit": 1, "offset": 1}).json()
    assert [p["name"] for p in page["data"]] == ["Payments secondary"]
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 1, "has_more": True}
    by_team = org.get(PATH, params={"team_id": f"{team},tm_other"}).json()["data"]
    assert [p["name"] for p in by_team] == ["Payments primary", "Payments secondary"]
    assert [p["name"] for p in org.get(PATH, params={"query": "SECOND"}).json()["data"]] == [
        "Payments secondary"
    ]
    assert org.get(PATH, params={"query": "%"}).json()["data"] == []
    for params, field in (({"limit": 1000}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset")):
        assert _error(org.get(PATH, params=params), 400, "VALIDATION_ERROR")["details"]["field"] == field


def test_assigning_a_policy_to_a_service(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    first = _create(org, name="First", rules=[_user_rule(user)])
    second = _create(org, name="Second", rules=[_user_rule(user)])
    response = org.post(
        "/api/services",
        json={"name": "API", "escalation_policy_id": first["id"], "ack_timeout_minutes": 10080},
    )
    assert response.status_code == 201, response.text
    service = response.json()["data"]
    assert (service["escalation_policy_id"], service["ack_timeout_minutes"]) == (first["id"], 10080)
    path = f"/api/services/{service['id']}"
    moved = org.patch(path, json={"escalation_policy_id": second["id"]})
    assert moved.status_code == 200 and moved.json()["data"]["escalation_policy_id"] == second["id"]
    assert org.get(f"{PATH}/{first['id']}").json()["data"]["services"] == []
    assert [s["id"] for s in org.get(f"{PATH}/{second['id']}").json()["data"]["services"]] == [service["id"]]
    assert [p["services"] for p in org.get(PATH).json()["data"]] == [
        [],
        [{"id": service["id"], "name": "API"}],
    ]
    for body, field, reason in (
        ({"escalation_policy_id": "ep_nope"}, "escalation_policy_id", "not_found"),
        ({"escalation_policy_id": 5}, "escalation_policy_id", "string_type"),
        ({"ack_timeout_minutes": 10081}, "ack_timeout_minutes", "range"),
        ({"ack_timeout_minutes": 0}, "ack_timeout_minutes", "range"),
    ):
        error = _error(org.patch(path, json=body), 400, "VALIDATION_ERROR")
        assert error["details"] == {"field": field, "reason": reason}, body
    assert org.get(path).json()["data"] == moved.json()["data"]
    # The policy a service uses cannot be deleted; the other one can.
    _error(org.delete(f"{PATH}/{second['id']}"), 409, "CONFLICT")
    assert org.delete(f"{PATH}/{first['id']}").status_code == 204
    # Deleting the service frees the policy.
    assert org.delete(path).status_code == 204
    assert org.delete(f"{PATH}/{second['id']}").status_code == 204


def test_modes_are_separate(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_user = live.make_user()
    live_policy = _create(live, name="Live", rules=[_user_rule(live_user)])
    assert test.get(PATH).json()["data"] == []
    _error(test.get(f"{PATH}/{live_policy['id']}"), 404, "NOT_FOUND")
    _error(test.delete(f"{PATH}/{live_policy['id']}"), 404, "NOT_FOUND")
    # A test key cannot page a live user...
    error = _error(
        test.post(PATH, json={"name": "T", "rules": [_user_rule(live_user)]}), 400, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": "rules.0.targets.0.id", "reason": "not_found"}
    # ...nor give a test service a live policy.
    error = _error(
        test.post("/api/services", json={"name": "T", "escalation_policy_id": live_policy["id"]}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "escalation_policy_id", "reason": "not_found"}
    test_user = test.make_user()
    sandbox = _create(test, name="Sandbox", rules=[_user_rule(test_user)])
    assert sandbox["livemode"] is False
    _error(live.get(f"{PATH}/{sandbox['id']}"), 404, "NOT_FOUND")
    assert [p["id"] for p in test.get(PATH).json()["data"]] == [sandbox["id"]]
    assert [p["id"] for p in live.get(PATH).json()["data"]] == [live_policy["id"]]


def test_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    policy = _create(org, rules=[_user_rule(user)])
    path = f"{PATH}/{policy['id']}"
    reader = org.make_key(["services:read"])
    assert org.get(path, key=reader).status_code == 200
    assert org.get(PATH, key=reader).status_code == 200
    _error(org.post(PATH, json={"name": "x", "rules": [_user_rule(user)]}, key=reader), 403, "FORBIDDEN")
    _error(org.patch(path, json={"name": "x"}, key=reader), 403, "FORBIDDEN")
    _error(org.delete(path, key=reader), 403, "FORBIDDEN")
    mixed = org.make_key(["services:read", "users:write"], user_id=user)
    error = _error(
        org.post(PATH, json={"name": "x", "rules": [_user_rule(user)]}, key=mixed), 403, "FORBIDDEN"
    )
    assert error["details"] == {"required_scope": "services:write"}
    _error(org.delete(path, key=mixed), 403, "FORBIDDEN")
    other = org.make_key(["schedules:write"])
    for target in (path, PATH):
        assert _error(org.get(target, key=other), 403, "FORBIDDEN")["details"] == {
            "required_scope": "services:read"
        }
    writer = org.make_key(["services:write"])
    assert org.patch(path, json={"name": "By writer"}, key=writer).status_code == 200
    assert org.get(path).json()["data"]["name"] == "By writer"
    assert org.get(path).json()["data"]["rules"] == policy["rules"]


def test_repeat_delay_null_is_the_default_and_an_explicit_zero_is_kept(orgs: OrgFactory) -> None:
    """Clients that send 0 keep an immediate repeat; null (or nothing) means the last rule's delay."""
    org = orgs.new()
    user = org.make_user()
    explicit = _create(org, repeat_delay_minutes=0, rules=[_user_rule(user)])
    assert explicit["repeat_delay_minutes"] == 0
    changed = org.patch(f"{PATH}/{explicit['id']}", json={"repeat_delay_minutes": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["repeat_delay_minutes"] is None
    changed = org.patch(f"{PATH}/{explicit['id']}", json={"repeat_delay_minutes": 7})
    assert changed.json()["data"]["repeat_delay_minutes"] == 7
