"""/api/users through HTTP: CRUD, filters, pagination, validation, tenancy, modes, scopes, deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle


def _create(org: OrgHandle, name: str, email: str, **extra: Any) -> dict[str, Any]:
    response = org.post("/api/users", json={"name": name, "email": email, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["data"]]


def _at(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def test_full_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = _create(
        org, "Alice Smith", "Alice@Example.COM", role="admin", time_zone="Europe/Berlin", phone="+14155550123"
    )
    assert created["id"].startswith("usr_")
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "Alice Smith",
        "email": "alice@example.com",
        "username": "alice",
        "role": "admin",
        "time_zone": "Europe/Berlin",
        "phone": "+14155550123",
        "status_notices": True,
        "livemode": True,
    }
    assert _at(created["created_at"]) == _at(created["updated_at"])

    fetched = org.get(f"/api/users/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == {"data": created}

    patched = org.patch(f"/api/users/{created['id']}", json={"name": "  Alice Jones ", "role": "observer"})
    assert patched.status_code == 200, patched.text
    after = patched.json()["data"]
    assert after["name"] == "Alice Jones" and after["role"] == "observer"
    unchanged = ("id", "email", "time_zone", "phone", "livemode", "created_at")
    assert {k: after[k] for k in unchanged} == {k: created[k] for k in unchanged}
    assert _at(after["updated_at"]) >= _at(created["updated_at"])
    assert org.get(f"/api/users/{created['id']}").json()["data"] == after

    cleared = org.patch(f"/api/users/{created['id']}", json={"phone": None, "email": "ALICE.J@example.com"})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"]["phone"] is None
    assert cleared.json()["data"]["email"] == "alice.j@example.com"
    assert org.patch(f"/api/users/{created['id']}", json={}).json()["data"]["name"] == "Alice Jones"

    deleted = org.delete(f"/api/users/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    _error(org.get(f"/api/users/{created['id']}"), 404, "NOT_FOUND")
    assert org.get("/api/users").json()["pagination"]["total"] == 0
    _error(org.delete(f"/api/users/{created['id']}"), 404, "NOT_FOUND")


def test_defaults(orgs: OrgFactory) -> None:
    org = orgs.new()
    created = _create(org, "Bob", "bob@example.com")
    assert (created["role"], created["time_zone"], created["phone"]) == ("user", "UTC", None)


def test_list_is_ordered_by_name_and_filters(orgs: OrgFactory) -> None:
    org = orgs.new()
    _create(org, "Carol Danvers", "carol@marvel.test")
    _create(org, "Alice Smith", "alice@example.com")
    _create(org, "Bob Jones", "bob@example.com")
    assert _names(org.get("/api/users")) == ["Alice Smith", "Bob Jones", "Carol Danvers"]
    assert _names(org.get("/api/users", params={"email": "BOB@example.com"})) == ["Bob Jones"]
    assert _names(org.get("/api/users", params={"email": "bob@example"})) == []
    assert _names(org.get("/api/users", params={"query": "EXAMPLE"})) == ["Alice Smith", "Bob Jones"]
    assert _names(org.get("/api/users", params={"query": "danv"})) == ["Carol Danvers"]
    assert _names(org.get("/api/users", params={"query": "s", "email": "alice@example.com"})) == [
        "Alice Smith"
    ]
    filtered = org.get("/api/users", params={"query": "example", "limit": 1}).json()
    assert filtered["pagination"] == {"total": 2, "limit": 1, "offset": 0, "has_more": True}


def test_pagination_edges(orgs: OrgFactory) -> None:
    org = orgs.new()
    ids = [_create(org, f"User {n}", f"user{n}@example.com")["id"] for n in range(3)]
    first = org.get("/api/users", params={"limit": 1}).json()
    assert first["pagination"] == {"total": 3, "limit": 1, "offset": 0, "has_more": True}
    assert [u["id"] for u in first["data"]] == ids[:1]
    last = org.get("/api/users", params={"limit": 1, "offset": 2}).json()
    assert last["pagination"] == {"total": 3, "limit": 1, "offset": 2, "has_more": False}
    assert [u["id"] for u in last["data"]] == ids[2:]
    past = org.get("/api/users", params={"offset": 3}).json()
    assert past == {"data": [], "pagination": {"total": 3, "limit": 25, "offset": 3, "has_more": False}}
    far = org.get("/api/users", params={"offset": 1000, "limit": 100}).json()
    assert far["data"] == [] and far["pagination"]["total"] == 3
    walked = [
        u["id"]
        for o in range(3)
        for u in org.get("/api/users", params={"limit": 1, "offset": o}).json()["data"]
    ]
    assert walked == ids


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
    ],
)
def test_bad_list_parameters(orgs: OrgFactory, params: dict[str, Any], field: str) -> None:
    error = _error(orgs.new().get("/api/users", params=params), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field


VALID = {"name": "Alice", "email": "alice@example.com"}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"email": "a@example.com"}, "name", "required"),
        ({"name": "Alice"}, "email", "required"),
        ({**VALID, "name": 123}, "name", "string_type"),
        ({**VALID, "name": ""}, "name", "string_too_short"),
        ({**VALID, "name": "   "}, "name", "required"),
        ({**VALID, "name": "x" * 201}, "name", "string_too_long"),
        ({**VALID, "email": ["a@example.com"]}, "email", "string_type"),
        ({**VALID, "email": "not-an-email"}, "email", "invalid"),
        ({**VALID, "email": "a b@example.com"}, "email", "invalid"),
        ({**VALID, "role": "superuser"}, "role", "invalid"),
        ({**VALID, "role": None}, "role", "invalid"),
        ({**VALID, "time_zone": "Mars/Base"}, "time_zone", "invalid"),
        ({**VALID, "time_zone": "Europe"}, "time_zone", "invalid"),
        ({**VALID, "time_zone": "../../etc/passwd"}, "time_zone", "invalid"),
        ({**VALID, "time_zone": 5}, "time_zone", "string_type"),
        ({**VALID, "phone": "555-1234"}, "phone", "invalid"),
        ({**VALID, "phone": "+0123456789"}, "phone", "invalid"),
        ({**VALID, "phone": 14155550123}, "phone", "string_type"),
        ({**VALID, "nickname": "al"}, "nickname", "unknown_field"),
        ({**VALID, "id": "usr_mine"}, "id", "unknown_field"),
        (["not", "an", "object"], "body", "invalid_json"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(
    orgs: OrgFactory, body: Any, field: str, reason: str
) -> None:
    org = orgs.new()
    error = _error(org.post("/api/users", json=body), 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": field, "reason": reason}
    assert org.get("/api/users").json()["pagination"]["total"] == 0


def test_create_rejects_a_body_that_is_not_json(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = org.post("/api/users", content=b"{name:", headers={"Content-Type": "application/json"})
    assert _error(response, 400, "VALIDATION_ERROR")["details"] == {"field": "body", "reason": "invalid_json"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"email": None}, "email"),
        ({"email": "nope"}, "email"),
        ({"role": "root"}, "role"),
        ({"role": None}, "role"),
        ({"time_zone": "Mars/Base"}, "time_zone"),
        ({"time_zone": None}, "time_zone"),
        ({"phone": "12345"}, "phone"),
        ({"livemode": False}, "livemode"),
        ({"name": "Ok", "color": "red"}, "color"),
        ({"status_notices": None}, "status_notices"),
        ({"status_notices": "maybe"}, "status_notices"),
    ],
)
def test_patch_rejects_bad_input_and_changes_nothing(
    orgs: OrgFactory, body: dict[str, Any], field: str
) -> None:
    org = orgs.new()
    user = _create(org, "Alice", "alice@example.com", phone="+14155550123")
    error = _error(org.patch(f"/api/users/{user['id']}", json=body), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field
    assert org.get(f"/api/users/{user['id']}").json()["data"] == user


def test_duplicate_email_conflicts_in_any_case(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = _create(org, "Alice", "alice@example.com")
    bob = _create(org, "Bob", "bob@example.com")
    error = _error(org.post("/api/users", json={"name": "A2", "email": "ALICE@example.com"}), 409, "CONFLICT")
    assert error["details"] == {"field": "email"}
    _error(org.patch(f"/api/users/{bob['id']}", json={"email": "Alice@Example.com"}), 409, "CONFLICT")
    assert org.get(f"/api/users/{bob['id']}").json()["data"]["email"] == "bob@example.com"
    same = org.patch(f"/api/users/{alice['id']}", json={"email": "ALICE@EXAMPLE.COM"})
    assert same.status_code == 200 and same.json()["data"]["email"] == "alice@example.com"
    assert org.get("/api/users").json()["pagination"]["total"] == 2
    # Another org, and test mode of the same org, may reuse the address.
    _create(orgs.new(), "Alice", "alice@example.com")
    _create(org.test_mode(), "Alice", "alice@example.com")


def test_unknown_ids_are_404(orgs: OrgFactory) -> None:
    org = orgs.new()
    for response in (
        org.get("/api/users/usr_nope"),
        org.patch("/api/users/usr_nope", json={"name": "X"}),
        org.delete("/api/users/usr_nope"),
    ):
        error = _error(response, 404, "NOT_FOUND")
        assert error["details"] == {"resource": "user", "id": "usr_nope"}


def test_another_orgs_user_is_404_and_untouched(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    theirs = _create(other, "Mallory", "mallory@example.com")
    _error(org.get(f"/api/users/{theirs['id']}"), 404, "NOT_FOUND")
    _error(org.patch(f"/api/users/{theirs['id']}", json={"name": "Owned"}), 404, "NOT_FOUND")
    _error(org.delete(f"/api/users/{theirs['id']}"), 404, "NOT_FOUND")
    assert _names(org.get("/api/users")) == []
    assert _names(org.get("/api/users", params={"email": "mallory@example.com"})) == []
    assert other.get(f"/api/users/{theirs['id']}").json()["data"] == theirs


def test_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = _create(org, "Alice", "alice@example.com")
    read_only = org.make_key(["users:read"])
    assert _names(org.get("/api/users", key=read_only)) == ["Alice"]
    assert org.get(f"/api/users/{user['id']}", key=read_only).json()["data"] == user
    _error(
        org.post("/api/users", json={"name": "B", "email": "b@example.com"}, key=read_only), 403, "FORBIDDEN"
    )
    _error(org.patch(f"/api/users/{user['id']}", json={"name": "B"}, key=read_only), 403, "FORBIDDEN")
    _error(org.delete(f"/api/users/{user['id']}", key=read_only), 403, "FORBIDDEN")

    no_users = org.make_key(["teams:write"])
    for response in (
        org.get("/api/users", key=no_users),
        org.get(f"/api/users/{user['id']}", key=no_users),
    ):
        assert _error(response, 403, "FORBIDDEN")["details"] == {"required_scope": "users:read"}
    for response in (
        org.post("/api/users", json={"name": "B", "email": "b@example.com"}, key=no_users),
        org.patch(f"/api/users/{user['id']}", json={"name": "B"}, key=no_users),
        org.delete(f"/api/users/{user['id']}", key=no_users),
    ):
        assert _error(response, 403, "FORBIDDEN")["details"] == {"required_scope": "users:write"}

    writer = org.make_key(["users:write"])  # write implies read
    assert _names(org.get("/api/users", key=writer)) == ["Alice"]
    assert (
        org.patch(f"/api/users/{user['id']}", json={"name": "Al"}, key=writer).json()["data"]["name"] == "Al"
    )
    assert org.get(f"/api/users/{user['id']}").json()["data"]["name"] == "Al"


def test_test_mode_and_live_mode_do_not_see_each_other(orgs: OrgFactory) -> None:
    live = orgs.new()
    test = live.test_mode()
    live_user = _create(live, "Live Lisa", "lisa@example.com")
    test_user = _create(test, "Test Tom", "tom@example.com")
    assert test_user["livemode"] is False and live_user["livemode"] is True
    assert _names(live.get("/api/users")) == ["Live Lisa"]
    assert _names(test.get("/api/users")) == ["Test Tom"]
    _error(test.get(f"/api/users/{live_user['id']}"), 404, "NOT_FOUND")
    _error(live.get(f"/api/users/{test_user['id']}"), 404, "NOT_FOUND")
    _error(test.patch(f"/api/users/{live_user['id']}", json={"name": "X"}), 404, "NOT_FOUND")
    _error(live.delete(f"/api/users/{test_user['id']}"), 404, "NOT_FOUND")
    assert test.get(f"/api/users/{test_user['id']}").json()["data"] == test_user


def test_deleting_a_user_drops_memberships_assignments_and_keys(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = _create(org, "Alice", "alice@example.com")["id"]
    bob = _create(org, "Bob", "bob@example.com")["id"]
    team = org.post(
        "/api/teams",
        json={"name": "Core", "members": [{"user_id": alice}, {"user_id": bob, "role": "manager"}]},
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["data"]["id"]
    service_id, _ = org.make_service()
    incident = org.post(
        "/api/incidents", json={"title": "Disk full", "service_id": service_id, "assignee_ids": [alice, bob]}
    )
    assert incident.status_code == 201, incident.text
    incident_id = incident.json()["data"]["id"]
    alices_key = org.make_key(["users:read"], name="alice's key", user_id=alice)
    bobs_key = org.make_key(["users:read"], name="bob's key", user_id=bob)
    assert org.get("/api/users", key=alices_key).status_code == 200

    assert org.delete(f"/api/users/{alice}").status_code == 204

    _error(org.get("/api/users", key=alices_key), 401, "UNAUTHORIZED")
    assert _names(org.get("/api/users", key=bobs_key)) == ["Bob"]
    members = org.get(f"/api/teams/{team_id}").json()["data"]["members"]
    assert [(m["user_id"], m["role"]) for m in members] == [(bob, "manager")]
    assert org.get(f"/api/incidents/{incident_id}").json()["data"]["assignee_ids"] == [bob]
    by_name = {k["name"]: k for k in org.get("/api/keys").json()["data"]}
    assert by_name["alice's key"]["revoked_at"] is not None
    assert by_name["bob's key"]["revoked_at"] is None
