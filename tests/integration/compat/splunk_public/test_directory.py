"""Splunk On-Call teams, users, policies and routing keys through HTTP: fields in order, the
handles (usernames, team slugs, policy ids as slugs), relative ``_selfUrl`` paths, 404s for unknown
and other orgs' handles."""

from __future__ import annotations

from typing import Any

from tests.integration.compat.splunk_public.conftest import World
from tests.integration.compat.splunk_public.test_auth import expect_error

TEAM = [
    "_selfUrl", "_membersUrl", "_policiesUrl", "_adminsUrl", "name", "slug", "memberCount", "version",
    "isDefaultTeam", "description",
]  # fmt: skip
V1_USER = [
    "_selfUrl",
    "firstName",
    "lastName",
    "username",
    "email",
    "createdAt",
    "passwordLastUpdated",
    "verified",
]
V2_USER = [
    "firstName", "lastName", "displayName", "username", "email", "createdAt", "passwordLastUpdated", "verified",
    "_selfUrl",
]  # fmt: skip


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_teams_members_admins_policies(world: World) -> None:
    splunk = world.splunk
    [team] = _ok(splunk.get("/api-public/v1/team"))
    assert list(team) == TEAM
    assert team["_selfUrl"] == "/api-public/v1/team/payments" and team["_adminsUrl"].endswith("/admins")
    assert (team["name"], team["slug"], team["memberCount"], team["isDefaultTeam"]) == (
        "Payments",
        "payments",
        3,
        False,
    )
    assert _ok(splunk.get("/api-public/v1/team/PAYMENTS")) == team
    members = _ok(splunk.get("/api-public/v1/team/payments/members"))
    assert list(members) == ["_selfUrl", "_teamUrl", "members"]
    assert [list(m) for m in members["members"]] == [
        ["username", "firstName", "lastName", "verified", "version"]
    ] * 3
    assert [m["username"] for m in members["members"]] == ["alice", "bob", "carol"]
    assert (members["members"][0]["firstName"], members["members"][0]["lastName"]) == ("Alice", "Example")
    assert _ok(splunk.get("/api-public/v1/team/payments/admins")) == {
        "teamAdmins": [
            {
                "_selfUrl": "/api-public/v1/user/alice",
                "firstName": "Alice",
                "lastName": "Example",
                "username": "alice",
            }
        ]
    }
    assert _ok(splunk.get("/api-public/v1/team/payments/policies")) == {
        "policies": [{"name": "Payments EP", "slug": world.policy["id"]}]
    }
    for path in ("", "/members", "/admins", "/policies"):
        expect_error(splunk.get(f"/api-public/v1/team/nope{path}"), 404)


def test_users_v1_and_v2(world: World) -> None:
    splunk = world.splunk
    listing = _ok(splunk.get("/api-public/v1/user"))
    assert list(listing) == ["_selfUrl", "users"] and listing["_selfUrl"] == "/api-public/v1/user"
    assert len(listing["users"]) == 1  # a list of lists: Splunk's spec, go-victorops' [][]User
    assert [list(u) for u in listing["users"][0]] == [V1_USER] * 3
    alice = _ok(splunk.get("/api-public/v1/user/alice"))
    assert alice == listing["users"][0][0]
    assert (alice["_selfUrl"], alice["email"], alice["verified"]) == (
        "/api-public/v1/user/alice",
        "alice@example.com",
        True,
    )
    teams = _ok(splunk.get("/api-public/v1/user/bob/teams"))
    assert [t["slug"] for t in teams["teams"]] == ["payments"]
    v2 = _ok(splunk.get("/api-public/v2/user"))
    assert all(isinstance(u, dict) for u in v2["users"])  # v2 keeps its flat list
    assert [list(u) for u in v2["users"]] == [V2_USER] * 3
    by_email = _ok(splunk.get("/api-public/v2/user", params={"email": "BOB@example.com"}))
    assert [(u["username"], u["displayName"]) for u in by_email["users"]] == [("bob", "Bob Example")]
    assert _ok(splunk.get("/api-public/v2/user", params={"email": "none@example.com"})) == {"users": []}
    expect_error(splunk.get("/api-public/v2/user", params={"email": ""}), 400)
    expect_error(splunk.get("/api-public/v1/user/ghost"), 404)
    expect_error(splunk.get("/api-public/v1/user/ghost/teams"), 404)


def test_policies_and_routing_keys(world: World) -> None:
    splunk = world.splunk
    assert _ok(splunk.get("/api-public/v1/policies")) == {
        "policies": [
            {
                "policy": {"name": "Payments EP", "slug": world.policy["id"]},
                "team": {"name": "Payments", "slug": "payments"},
            }
        ]
    }
    assert _ok(splunk.get("/api-public/v1/org/routing-keys")) == {
        "_selfUrl": "/api-public/v1/org/routing-keys",
        "routingKeys": [
            {
                "routingKey": world.routing_key,
                "isDefault": False,
                "targets": [
                    {
                        "policyName": "Payments EP",
                        "policySlug": world.policy["id"],
                        "_teamUrl": "/api-public/v1/team/payments",
                    }
                ],
            }
        ],
    }


def test_other_orgs_handles_are_404(world: World, orgs: Any) -> None:
    other = orgs.new()
    other.make_user("Dora Other", "dora@example.com")
    other.make_team("Elsewhere")
    expect_error(world.splunk.get("/api-public/v1/user/dora"), 404)
    expect_error(world.splunk.get("/api-public/v1/team/elsewhere"), 404)
    listed = _ok(world.splunk.get("/api-public/v1/user"))["users"]
    assert "dora" not in {u["username"] for users in listed for u in users}
