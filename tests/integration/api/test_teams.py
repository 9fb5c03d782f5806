"""/api/teams through HTTP: CRUD, members and their roles, pagination, validation, tenancy, modes, scopes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle


def _create(org: OrgHandle, name: str, **extra: Any) -> dict[str, Any]:
    response = org.post("/api/teams", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["data"]]


def _names_of(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["data"]]


def _roles(members: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(member["user_id"], member["role"]) for member in members]


def _at(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def test_full_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice Smith", "alice@example.com")
    bob = org.make_user("Bob Jones", "bob@example.com")
    created = _create(
        org,
        "Payments",
        description="Owns the payment API",
        members=[{"user_id": alice, "role": "manager"}, {"user_id": bob}],
    )
    assert created["id"].startswith("tm_")
    assert created["name"] == "Payments" and created["description"] == "Owns the payment API"
    assert created["livemode"] is True
    assert _at(created["created_at"]) == _at(created["updated_at"])
    assert [{k: v for k, v in m.items() if k != "created_at"} for m in created["members"]] == [
        {"user_id": alice, "name": "Alice Smith", "email": "alice@example.com", "role": "manager"},
        {"user_id": bob, "name": "Bob Jones", "email": "bob@example.com", "role": "responder"},
    ]
    assert all(m["created_at"].endswith("Z") for m in created["members"])

    fetched = org.get(f"/api/teams/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == {"data": created}

    patched = org.patch(f"/api/teams/{created['id']}", json={"description": "Payments and billing"})
    assert patched.status_code == 200, patched.text
    after = patched.json()["data"]
    assert after["description"] == "Payments and billing"
    unchanged = ("id", "name", "members", "livemode", "created_at")
    assert {k: after[k] for k in unchanged} == {k: created[k] for k in unchanged}
    assert _at(after["updated_at"]) >= _at(created["updated_at"])

    renamed = org.patch(f"/api/teams/{created['id']}", json={"name": " Billing ", "description": None})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["data"]["name"], renamed.json()["data"]["description"]) == ("Billing", None)
    assert org.get(f"/api/teams/{created['id']}").json()["data"] == renamed.json()["data"]

    deleted = org.delete(f"/api/teams/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    _error(org.get(f"/api/teams/{created['id']}"), 404, "NOT_FOUND")
    _error(org.get(f"/api/teams/{created['id']}/members"), 404, "NOT_FOUND")
    assert org.get("/api/teams").json()["pagination"]["total"] == 0
    # The people stay.
    assert {u["id"] for u in org.get("/api/users").json()["data"]} == {alice, bob}


def test_deleting_a_team_keeps_its_services_with_no_team(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = _create(org, "Core")
    service_id, routing_key = org.make_service(team_id=team["id"])
    assert org.trigger(routing_key).status_code == 202
    assert org.delete(f"/api/teams/{team['id']}").status_code == 204
    incidents = org.get("/api/incidents").json()["data"]
    assert [(i["service_id"], i["team_id"]) for i in incidents] == [(service_id, None)]


def test_member_endpoints(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice", "alice@example.com")
    bob = org.make_user("Bob", "bob@example.com")
    carol = org.make_user("Carol", "carol@example.com")
    team = _create(org, "Core", members=[{"user_id": alice}])

    added = org.post(f"/api/teams/{team['id']}/members", json={"user_id": bob, "role": "observer"})
    assert added.status_code == 201, added.text
    member = added.json()["data"]
    assert {k: v for k, v in member.items() if k != "created_at"} == {
        "user_id": bob,
        "name": "Bob",
        "email": "bob@example.com",
        "role": "observer",
    }
    default = org.post(f"/api/teams/{team['id']}/members", json={"user_id": carol})
    assert default.status_code == 201 and default.json()["data"]["role"] == "responder"

    listed = org.get(f"/api/teams/{team['id']}/members").json()
    assert _roles(listed["data"]) == [(alice, "responder"), (bob, "observer"), (carol, "responder")]
    assert listed["pagination"] == {"total": 3, "limit": 25, "offset": 0, "has_more": False}
    assert listed["data"][1] == member
    page = org.get(f"/api/teams/{team['id']}/members", params={"limit": 1, "offset": 1}).json()
    assert _roles(page["data"]) == [(bob, "observer")]
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 1, "has_more": True}
    past = org.get(f"/api/teams/{team['id']}/members", params={"offset": 3}).json()
    assert past["data"] == [] and past["pagination"]["has_more"] is False
    bad = org.get(f"/api/teams/{team['id']}/members", params={"limit": 101})
    assert _error(bad, 400, "VALIDATION_ERROR")["details"]["field"] == "limit"

    promoted = org.patch(f"/api/teams/{team['id']}/members/{bob}", json={"role": "manager"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["data"] == {**member, "role": "manager"}

    removed = org.delete(f"/api/teams/{team['id']}/members/{alice}")
    assert removed.status_code == 204 and removed.content == b""
    assert _roles(org.get(f"/api/teams/{team['id']}").json()["data"]["members"]) == [
        (bob, "manager"),
        (carol, "responder"),
    ]
    # Removing a member leaves the user in place.
    assert org.get(f"/api/users/{alice}").status_code == 200

    # Not (or no longer) a member: 404; already a member: 409.
    for response in (
        org.patch(f"/api/teams/{team['id']}/members/{alice}", json={"role": "manager"}),
        org.delete(f"/api/teams/{team['id']}/members/{alice}"),
        org.delete(f"/api/teams/{team['id']}/members/usr_nope"),
    ):
        assert _error(response, 404, "NOT_FOUND")["details"]["resource"] == "team member"
    conflict = _error(org.post(f"/api/teams/{team['id']}/members", json={"user_id": bob}), 409, "CONFLICT")
    assert conflict["details"] == {"field": "user_id"}
    assert len(org.get(f"/api/teams/{team['id']}").json()["data"]["members"]) == 2


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "user_id", "required"),
        ({"user_id": 5}, "user_id", "string_type"),
        ({"user_id": "usr_nope"}, "user_id", "not_found"),
        ({"user_id": "USER", "role": "boss"}, "role", "invalid"),
        ({"user_id": "USER", "role": None}, "role", "invalid"),
        ({"user_id": "USER", "rank": 1}, "rank", "unknown_field"),
    ],
)
def test_add_member_rejects_bad_input(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    user = org.make_user()
    team = _create(org, "Core")
    body = {k: (user if v == "USER" else v) for k, v in body.items()}
    error = _error(org.post(f"/api/teams/{team['id']}/members", json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}
    assert org.get(f"/api/teams/{team['id']}/members").json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "role"), ({"role": "owner"}, "role"), ({"role": None}, "role"), ({"role": "manager", "x": 1}, "x")],
)
def test_update_member_rejects_bad_input(orgs: OrgFactory, body: dict[str, Any], field: str) -> None:
    org = orgs.new()
    user = org.make_user()
    team = _create(org, "Core", members=[{"user_id": user, "role": "observer"}])
    response = org.patch(f"/api/teams/{team['id']}/members/{user}", json=body)
    assert _error(response, 400, "VALIDATION_ERROR")["details"]["field"] == field
    assert _roles(org.get(f"/api/teams/{team['id']}/members").json()["data"]) == [(user, "observer")]


def test_list_is_ordered_by_name_with_query_and_pagination(orgs: OrgFactory) -> None:
    org = orgs.new()
    made = {name: _create(org, name)["id"] for name in ("Platform", "Data", "Payments")}
    assert _names(org.get("/api/teams")) == ["Data", "Payments", "Platform"]
    assert _names(org.get("/api/teams", params={"query": "P"})) == ["Payments", "Platform"]
    assert _names(org.get("/api/teams", params={"query": "form"})) == ["Platform"]
    assert _names(org.get("/api/teams", params={"query": "nothing"})) == []

    first = org.get("/api/teams", params={"limit": 1}).json()
    assert [t["id"] for t in first["data"]] == [made["Data"]]
    assert first["pagination"] == {"total": 3, "limit": 1, "offset": 0, "has_more": True}
    last = org.get("/api/teams", params={"limit": 1, "offset": 2}).json()
    assert [t["id"] for t in last["data"]] == [made["Platform"]]
    assert last["pagination"]["has_more"] is False
    past = org.get("/api/teams", params={"offset": 10}).json()
    assert past == {"data": [], "pagination": {"total": 3, "limit": 25, "offset": 10, "has_more": False}}
    queried = org.get("/api/teams", params={"query": "p", "limit": 1, "offset": 1}).json()
    assert _names_of(queried) == ["Platform"] and queried["pagination"]["total"] == 2


def test_list_shows_members(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice", "alice@example.com")
    _create(org, "Core", members=[{"user_id": alice, "role": "manager"}])
    _create(org, "Empty")
    data = org.get("/api/teams").json()["data"]
    assert [(t["name"], _roles(t["members"])) for t in data] == [
        ("Core", [(alice, "manager")]),
        ("Empty", []),
    ]
    assert data[0]["members"][0]["email"] == "alice@example.com"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"offset": -5}, "offset"),
    ],
)
def test_bad_list_parameters(orgs: OrgFactory, params: dict[str, Any], field: str) -> None:
    error = _error(orgs.new().get("/api/teams", params=params), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "name", "required"),
        ({"name": 42}, "name", "string_type"),
        ({"name": ""}, "name", "string_too_short"),
        ({"name": "  "}, "name", "required"),
        ({"name": "x" * 201}, "name", "string_too_long"),
        ({"name": "Core", "description": "x" * 2001}, "description", "string_too_long"),
        ({"name": "Core", "description": 3}, "description", "string_type"),
        ({"name": "Core", "members": "everyone"}, "members", "list_type"),
        ({"name": "Core", "members": [{"role": "manager"}]}, "members.0.user_id", "required"),
        (
            {"name": "Core", "members": [{"user_id": "USER", "role": "boss"}]},
            "members.0.role",
            "invalid",
        ),
        ({"name": "Core", "members": [{"user_id": "USER", "extra": 1}]}, "members.0.extra", "unknown_field"),
        ({"name": "Core", "members": [{"user_id": "usr_nope"}]}, "user_id", "not_found"),
        ({"name": "Core", "owner": "me"}, "owner", "unknown_field"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    user = org.make_user()
    if "members" in body and isinstance(body["members"], list):
        body["members"] = [{k: (user if v == "USER" else v) for k, v in m.items()} for m in body["members"]]
    error = _error(org.post("/api/teams", json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}
    assert org.get("/api/teams").json()["pagination"]["total"] == 0


def test_create_with_the_same_member_twice_writes_nothing(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    response = org.post(
        "/api/teams", json={"name": "Core", "members": [{"user_id": user}, {"user_id": user}]}
    )
    assert _error(response, 409, "CONFLICT")["details"] == {"field": "user_id"}
    assert org.get("/api/teams").json()["pagination"]["total"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": 1}, "name"),
        ({"description": ["x"]}, "description"),
        ({"members": []}, "members"),
        ({"name": "X", "color": "red"}, "color"),
    ],
)
def test_patch_rejects_bad_input_and_changes_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str
) -> None:
    org = orgs.new()
    team = _create(org, "Core", description="the core")
    error = _error(org.patch(f"/api/teams/{team['id']}", json=body), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field
    assert org.get(f"/api/teams/{team['id']}").json()["data"] == team


def test_duplicate_name_conflicts_in_any_case(orgs: OrgFactory) -> None:
    org = orgs.new()
    core = _create(org, "Core")
    data = _create(org, "Data")
    assert _error(org.post("/api/teams", json={"name": "CORE"}), 409, "CONFLICT")["details"] == {
        "field": "name"
    }
    _error(org.patch(f"/api/teams/{data['id']}", json={"name": "core"}), 409, "CONFLICT")
    assert org.get(f"/api/teams/{data['id']}").json()["data"]["name"] == "Data"
    recased = org.patch(f"/api/teams/{core['id']}", json={"name": "CORE"})
    assert recased.status_code == 200 and recased.json()["data"]["name"] == "CORE"
    assert org.get("/api/teams").json()["pagination"]["total"] == 2
    # Another org and the test mode of this one have their own names.
    _create(orgs.new(), "Core")
    _create(org.test_mode(), "Core")


def test_unknown_ids_are_404(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    for response in (
        org.get("/api/teams/tm_nope"),
        org.patch("/api/teams/tm_nope", json={"name": "X"}),
        org.delete("/api/teams/tm_nope"),
        org.get("/api/teams/tm_nope/members"),
        org.post("/api/teams/tm_nope/members", json={"user_id": user}),
        org.patch(f"/api/teams/tm_nope/members/{user}", json={"role": "manager"}),
        org.delete(f"/api/teams/tm_nope/members/{user}"),
    ):
        assert _error(response, 404, "NOT_FOUND")["details"] == {"resource": "team", "id": "tm_nope"}


def test_another_orgs_team_is_404_and_their_users_cannot_join(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    their_user = other.make_user("Mallory", "mallory@example.com")
    their_team = _create(other, "Theirs", members=[{"user_id": their_user}])
    my_user = org.make_user()
    for response in (
        org.get(f"/api/teams/{their_team['id']}"),
        org.patch(f"/api/teams/{their_team['id']}", json={"name": "Owned"}),
        org.delete(f"/api/teams/{their_team['id']}"),
        org.get(f"/api/teams/{their_team['id']}/members"),
        org.post(f"/api/teams/{their_team['id']}/members", json={"user_id": my_user}),
        org.patch(f"/api/teams/{their_team['id']}/members/{their_user}", json={"role": "manager"}),
        org.delete(f"/api/teams/{their_team['id']}/members/{their_user}"),
    ):
        _error(response, 404, "NOT_FOUND")
    assert other.get(f"/api/teams/{their_team['id']}").json()["data"] == their_team

    mine = _create(org, "Mine")
    joined = org.post(f"/api/teams/{mine['id']}/members", json={"user_id": their_user})
    assert _error(joined, 400, "VALIDATION_ERROR")["details"] == {"field": "user_id", "reason": "not_found"}
    created = org.post("/api/teams", json={"name": "Sneaky", "members": [{"user_id": their_user}]})
    assert _error(created, 400, "VALIDATION_ERROR")["details"]["field"] == "user_id"
    assert _names(org.get("/api/teams")) == ["Mine"]
    assert org.get(f"/api/teams/{mine['id']}/members").json()["data"] == []


def test_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    team = _create(org, "Core", members=[{"user_id": user}])
    read_only = org.make_key(["teams:read"])
    assert _names(org.get("/api/teams", key=read_only)) == ["Core"]
    assert org.get(f"/api/teams/{team['id']}/members", key=read_only).status_code == 200
    for response in (
        org.post("/api/teams", json={"name": "New"}, key=read_only),
        org.patch(f"/api/teams/{team['id']}", json={"name": "New"}, key=read_only),
        org.delete(f"/api/teams/{team['id']}", key=read_only),
        org.post(f"/api/teams/{team['id']}/members", json={"user_id": user}, key=read_only),
        org.delete(f"/api/teams/{team['id']}/members/{user}", key=read_only),
    ):
        _error(response, 403, "FORBIDDEN")

    no_teams = org.make_key(["users:write"])
    for response in (org.get("/api/teams", key=no_teams), org.get(f"/api/teams/{team['id']}", key=no_teams)):
        assert _error(response, 403, "FORBIDDEN")["details"] == {"required_scope": "teams:read"}
    posted = org.post("/api/teams", json={"name": "New"}, key=no_teams)
    assert _error(posted, 403, "FORBIDDEN")["details"] == {"required_scope": "teams:write"}
    assert org.get(f"/api/teams/{team['id']}").json()["data"] == team
    assert _names(org.get("/api/teams")) == ["Core"]


def test_test_mode_and_live_mode_do_not_see_each_other(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_user = live.make_user("Lisa")
    live_team = _create(live, "Live team", members=[{"user_id": live_user}])
    test_team = _create(test, "Test team")
    assert (live_team["livemode"], test_team["livemode"]) == (True, False)
    assert _names(live.get("/api/teams")) == ["Live team"]
    assert _names(test.get("/api/teams")) == ["Test team"]
    _error(test.get(f"/api/teams/{live_team['id']}"), 404, "NOT_FOUND")
    _error(live.get(f"/api/teams/{test_team['id']}"), 404, "NOT_FOUND")
    _error(test.delete(f"/api/teams/{live_team['id']}"), 404, "NOT_FOUND")
    crossed = test.post(f"/api/teams/{test_team['id']}/members", json={"user_id": live_user})
    assert _error(crossed, 400, "VALIDATION_ERROR")["details"]["field"] == "user_id"
    assert test.get(f"/api/teams/{test_team['id']}/members").json()["data"] == []
    assert live.get(f"/api/teams/{live_team['id']}").json()["data"] == live_team
