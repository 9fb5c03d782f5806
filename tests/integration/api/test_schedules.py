"""/api/schedules through HTTP: CRUD with nested layers and restrictions, overrides, validation,
pagination, tenancy, modes and scopes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.errors import expect_error as _error
from tests.factories.orgs import OrgFactory, OrgHandle


def _layer(users: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "users": users,
        "rotation_unit": "days",
        "rotation_length": 1,
        "start": "2030-01-07T09:00:00Z",
        **extra,
    }


def _create(org: OrgHandle, **body: Any) -> dict[str, Any]:
    body = {"name": "Primary", "time_zone": "UTC", **body}
    response = org.post("/api/schedules", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _summary(layer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in layer.items() if k not in ("id", "created_at", "updated_at")}


def test_full_crud_with_nested_layers(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice Smith", "alice@example.com")
    bob = org.make_user("Bob Jones", "bob@example.com")
    carol = org.make_user("Carol White", "carol@example.com")
    team = org.make_team("Payments")
    created = _create(
        org,
        name=" Payment API primary ",
        time_zone="Europe/Berlin",
        description="Pages for the payment API",
        team_id=team,
        layers=[
            _layer(
                [alice, bob, carol], name="Weekly", rotation_unit="weeks", start="2030-01-07T09:00:00+01:00"
            ),
            _layer(
                [bob],
                rotation_unit="hours",
                rotation_length=12,
                end="2030-06-01T00:00:00Z",
                restrictions=[
                    {
                        "kind": "weekly",
                        "start": "09:00",
                        "end": "17:30",
                        "start_day": "monday",
                        "end_day": "friday",
                    },
                    {"kind": "daily", "start": "22:00:30", "end": "06:00"},
                ],
            ),
        ],
    )
    assert created["id"].startswith("sch_")
    assert (created["name"], created["time_zone"], created["team_id"]) == (
        "Payment API primary",
        "Europe/Berlin",
        team,
    )
    assert created["description"] == "Pages for the payment API" and created["livemode"] is True
    assert created["created_at"].endswith("Z") and created["created_at"] == created["updated_at"]
    first, second = created["layers"]
    assert first["id"].startswith("lyr_") and second["id"].startswith("lyr_")
    assert _summary(first) == {
        "name": "Weekly",
        "source": "rotation",
        "users": [
            {"id": alice, "name": "Alice Smith", "email": "alice@example.com"},
            {"id": bob, "name": "Bob Jones", "email": "bob@example.com"},
            {"id": carol, "name": "Carol White", "email": "carol@example.com"},
        ],
        "rotation_unit": "weeks",
        "rotation_length": 1,
        "start": "2030-01-07T08:00:00Z",
        "end": None,
        "restrictions": [],
        "ical_unmapped": None,
    }
    assert _summary(second) == {
        "name": "Layer 2",
        "source": "rotation",
        "users": [{"id": bob, "name": "Bob Jones", "email": "bob@example.com"}],
        "rotation_unit": "hours",
        "rotation_length": 12,
        "start": "2030-01-07T09:00:00Z",
        "end": "2030-06-01T00:00:00Z",
        "restrictions": [
            {"kind": "weekly", "start": "09:00", "end": "17:30", "start_day": "monday", "end_day": "friday"},
            {"kind": "daily", "start": "22:00:30", "end": "06:00", "start_day": None, "end_day": None},
        ],
        "ical_unmapped": None,
    }

    fetched = org.get(f"/api/schedules/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == {"data": created}

    patched = org.patch(f"/api/schedules/{created['id']}", json={"description": None, "name": "Primary"})
    assert patched.status_code == 200, patched.text
    after = patched.json()["data"]
    assert (after["name"], after["description"]) == ("Primary", None)
    assert after["layers"] == created["layers"] and after["time_zone"] == "Europe/Berlin"

    # Replacing the layers: the first keeps its id (sent back), the second goes, a new one comes.
    relayered = org.patch(
        f"/api/schedules/{created['id']}",
        json={
            "layers": [
                _layer([carol, alice], id=first["id"], name="Weekly", rotation_unit="weeks"),
                _layer(
                    [bob], name="Nights", restrictions=[{"kind": "daily", "start": "20:00", "end": "08:00"}]
                ),
            ]
        },
    )
    assert relayered.status_code == 200, relayered.text
    kept, added = relayered.json()["data"]["layers"]
    assert kept["id"] == first["id"] and added["id"] not in (first["id"], second["id"])
    assert [u["id"] for u in kept["users"]] == [carol, alice]
    assert kept["created_at"] == first["created_at"]
    assert (added["name"], [u["id"] for u in added["users"]]) == ("Nights", [bob])
    assert org.get(f"/api/schedules/{created['id']}").json()["data"] == relayered.json()["data"]

    emptied = org.patch(f"/api/schedules/{created['id']}", json={"layers": [], "team_id": None})
    assert emptied.status_code == 200 and emptied.json()["data"]["layers"] == []
    assert emptied.json()["data"]["team_id"] is None

    override = org.post(
        f"/api/schedules/{created['id']}/overrides",
        json={"user_id": alice, "start": "2030-01-07T09:00:00Z", "end": "2030-01-07T10:00:00Z"},
    )
    assert override.status_code == 201
    deleted = org.delete(f"/api/schedules/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    _error(org.get(f"/api/schedules/{created['id']}"), 404, "NOT_FOUND")
    _error(org.get(f"/api/schedules/{created['id']}/overrides"), 404, "NOT_FOUND")
    assert org.get("/api/schedules").json()["pagination"]["total"] == 0
    assert {u["id"] for u in org.get("/api/users").json()["data"]} == {alice, bob, carol}


def test_a_deleted_user_leaves_the_rotation(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _create(org, layers=[_layer([alice, bob])])
    assert org.delete(f"/api/users/{alice}").status_code == 204
    [layer] = org.get(f"/api/schedules/{schedule['id']}").json()["data"]["layers"]
    assert [u["id"] for u in layer["users"]] == [bob]
    on_call = org.get(f"/api/schedules/{schedule['id']}/on-call", params={"at": "2030-01-07T10:00:00Z"})
    assert [entry["user"]["id"] for entry in on_call.json()["data"]] == [bob]


def test_list_filters_and_pagination(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    team = org.make_team("Core")
    for name in ("Payments primary", "Payments secondary", "Search"):
        _create(org, name=name, team_id=team if name != "Search" else None, layers=[_layer([user])])
    listed = org.get("/api/schedules").json()
    assert [s["name"] for s in listed["data"]] == ["Payments primary", "Payments secondary", "Search"]
    assert listed["pagination"] == {"total": 3, "limit": 25, "offset": 0, "has_more": False}
    assert listed["data"][0]["layers"][0]["users"][0]["id"] == user
    page = org.get("/api/schedules", params={"limit": 1, "offset": 1}).json()
    assert [s["name"] for s in page["data"]] == ["Payments secondary"]
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 1, "has_more": True}
    by_team = org.get("/api/schedules", params={"team_id": f"{team},tm_other"}).json()["data"]
    assert [s["name"] for s in by_team] == ["Payments primary", "Payments secondary"]
    assert [s["name"] for s in org.get("/api/schedules", params={"query": "SECOND"}).json()["data"]] == [
        "Payments secondary"
    ]
    assert org.get("/api/schedules", params={"query": "%"}).json()["data"] == []
    for params, field in (({"limit": 1000}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset")):
        assert (
            _error(org.get("/api/schedules", params=params), 400, "VALIDATION_ERROR")["details"]["field"]
            == field
        )


BAD_CREATES: list[tuple[dict[str, Any], str, str]] = [
    ({"time_zone": "Mars/Olympus"}, "time_zone", "invalid"),
    ({"time_zone": "Europe"}, "time_zone", "invalid"),  # a tzdata directory, not a zone
    ({"time_zone": ""}, "time_zone", "required"),
    ({"name": "  "}, "name", "required"),
    ({"name": None}, "name", "string_type"),
    ({"team_id": "tm_nope"}, "team_id", "not_found"),
    ({"layers": [_layer([])]}, "layers.0.users", "required"),
    ({"layers": [_layer(["usr_nope"])]}, "layers.0.users", "not_found"),
    ({"layers": [_layer(["{user}"], rotation_length=0)]}, "layers.0.rotation_length", "range"),
    ({"layers": [_layer(["{user}"], rotation_length=-2)]}, "layers.0.rotation_length", "range"),
    ({"layers": [_layer(["{user}"], rotation_length=100_000)]}, "layers.0.rotation_length", "range"),
    ({"layers": [_layer(["{user}"], rotation_unit="months")]}, "layers.0.rotation_unit", "invalid"),
    ({"layers": [_layer(["{user}"], start="2030-01-07T09:00:00")]}, "layers.0.start", "timezone"),
    ({"layers": [_layer(["{user}"], start="next monday")]}, "layers.0.start", "datetime_from_date_parsing"),
    ({"layers": [_layer(["{user}"], end="2030-01-07T08:00:00Z")]}, "layers.0.end", "before_start"),
    ({"layers": [_layer(["{user}"], end="2030-01-07T09:00:00Z")]}, "layers.0.end", "before_start"),
    ({"layers": [_layer(["{user}"], end="2030-02-07T09:00:00")]}, "layers.0.end", "timezone"),
    ({"layers": [_layer(["{user}"], id="lyr_nope")]}, "layers.0.id", "not_found"),
    ({"layers": [_layer(["{user}"]), _layer(["{user}"], name="")]}, "layers.1.name", "required"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "weekly", "start": "09:00", "end": "17:00"}])]}, "layers.0.restrictions.0.start_day", "required"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "daily", "start": "09:00", "end": "17:00", "end_day": "friday"}])]}, "layers.0.restrictions.0.end_day", "not_allowed"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "weekly", "start": "09:00", "end": "17:00", "start_day": "mon", "end_day": "friday"}])]}, "layers.0.restrictions.0.start_day", "invalid"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "hourly", "start": "09:00", "end": "17:00"}])]}, "layers.0.restrictions.0.kind", "invalid"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "daily", "start": "25:00", "end": "17:00"}])]}, "layers.0.restrictions.0.start", "time_parsing"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "daily", "start": "09:00+02:00", "end": "17:00"}])]}, "layers.0.restrictions.0.start", "timezone"),
    ({"layers": [_layer(["{user}"], restrictions=[{"kind": "daily", "start": "09:00", "end": "17:00", "extra": 1}])]}, "layers.0.restrictions.0.extra", "unknown_field"),
    ({"layers": [_layer(["{user}"], shift="night")]}, "layers.0.shift", "unknown_field"),
    ({"layers": [_layer(["{user}"])] * 21}, "layers", "too_long"),
]  # fmt: skip


def _fill(value: Any, user: str) -> Any:
    if isinstance(value, str):
        return value.replace("{user}", user)
    if isinstance(value, list):
        return [_fill(v, user) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, user) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("change", "field", "reason"), BAD_CREATES)
def test_bad_schedules_are_400_naming_the_field(
    orgs: OrgFactory, change: dict[str, Any], field: str, reason: str
) -> None:
    org = orgs.new()
    user = org.make_user()
    body = _fill({"name": "Primary", "time_zone": "UTC", **change}, user)
    error = _error(org.post("/api/schedules", json=body), 400, "VALIDATION_ERROR")
    assert error["details"]["field"] == field, error
    if reason != "too_long":  # pydantic's own word for a too-long list
        assert error["details"]["reason"] == reason, error
    assert org.get("/api/schedules").json()["pagination"]["total"] == 0
    # The same layer is refused on update too, and the schedule is left as it was.
    if "layers" in change:
        schedule = _create(org, layers=[_layer([user])])
        error = _error(
            org.patch(f"/api/schedules/{schedule['id']}", json={"layers": body["layers"]}),
            400,
            "VALIDATION_ERROR",
        )
        assert error["details"]["field"] == field
        assert org.get(f"/api/schedules/{schedule['id']}").json()["data"] == schedule


def test_bad_updates(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    schedule = _create(org, layers=[_layer([user])])
    path = f"/api/schedules/{schedule['id']}"
    layer_id = schedule["layers"][0]["id"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"layers": None}, "layers", "required"),
        ({"time_zone": None}, "time_zone", "required"),
        ({"time_zone": "Europe/Nowhere"}, "time_zone", "invalid"),
        ({"name": None}, "name", "required"),
        ({"team_id": "tm_nope"}, "team_id", "not_found"),
        ({"layers": [_layer([user], id=layer_id), _layer([user], id=layer_id)]}, "layers.1.id", "duplicate"),
        ({"color": "red"}, "color", "unknown_field"),
    ]
    for body, field, reason in cases:
        error = _error(org.patch(path, json=body), 400, "VALIDATION_ERROR")
        assert (error["details"]["field"], error["details"]["reason"]) == (field, reason), body
    assert org.get(path).json()["data"] == schedule
    other = _create(org, name="Other", layers=[_layer([user])])
    error = _error(
        org.patch(path, json={"layers": [_layer([user], id=other["layers"][0]["id"])]}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "layers.0.id", "reason": "not_found"}
    _error(
        org.post("/api/schedules", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "VALIDATION_ERROR",
    )


# --- overrides ------------------------------------------------------------------------------------


def test_override_crud(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice", "alice@example.com")
    bob = org.make_user("Bob", "bob@example.com")
    schedule = _create(org, layers=[_layer([alice])])
    path = f"/api/schedules/{schedule['id']}/overrides"
    made = []
    for start, end in (
        ("2030-01-09T00:00:00Z", "2030-01-10T00:00:00Z"),
        ("2030-01-07T12:00:00+01:00", "2030-01-07T14:00:00+01:00"),
    ):
        response = org.post(path, json={"user_id": bob, "start": start, "end": end})
        assert response.status_code == 201, response.text
        made.append(response.json()["data"])
    late, early = made
    assert early["id"].startswith("ovr_")
    assert {k: v for k, v in early.items() if k not in ("id", "created_at")} == {
        "schedule_id": schedule["id"],
        "user": {"id": bob, "name": "Bob", "email": "bob@example.com"},
        "start": "2030-01-07T11:00:00Z",
        "end": "2030-01-07T13:00:00Z",
        "created_by": {
            "type": "api_key",
            "id": org.get("/api/keys").json()["data"][0]["id"],
            "name": "admin",
        },
        "livemode": True,
    }
    listed = org.get(path).json()
    assert [o["id"] for o in listed["data"]] == [early["id"], late["id"]]
    assert listed["pagination"] == {"total": 2, "limit": 25, "offset": 0, "has_more": False}
    assert listed["data"][0] == early
    windows = [
        ({"since": "2030-01-07T13:00:00Z"}, [late["id"]]),  # half-open: the early one ends at 13:00
        ({"since": "2030-01-07T12:59:59Z"}, [early["id"], late["id"]]),
        ({"until": "2030-01-09T00:00:00Z"}, [early["id"]]),
        ({"since": "2030-01-07T00:00:00Z", "until": "2030-01-08T00:00:00Z"}, [early["id"]]),
        ({"since": "2030-01-10T00:00:00Z"}, []),
    ]
    for params, expected in windows:
        assert [o["id"] for o in org.get(path, params=params).json()["data"]] == expected, params
    page = org.get(path, params={"limit": 1, "offset": 1}).json()
    assert [o["id"] for o in page["data"]] == [late["id"]] and page["pagination"]["has_more"] is False
    _error(org.get(path, params={"limit": 1000}), 400, "VALIDATION_ERROR")
    assert (
        _error(org.get(path, params={"since": "yesterday"}), 400, "VALIDATION_ERROR")["details"]["field"]
        == "since"
    )
    naive = _error(org.get(path, params={"until": "2030-01-07T00:00:00"}), 400, "VALIDATION_ERROR")
    assert naive["details"] == {"field": "until", "reason": "timezone"}

    assert org.delete(f"{path}/{early['id']}").status_code == 204
    _error(org.delete(f"{path}/{early['id']}"), 404, "NOT_FOUND")
    assert [o["id"] for o in org.get(path).json()["data"]] == [late["id"]]
    other = _create(org, name="Other", layers=[_layer([alice])])
    _error(org.delete(f"/api/schedules/{other['id']}/overrides/{late['id']}"), 404, "NOT_FOUND")
    assert [o["id"] for o in org.get(path).json()["data"]] == [late["id"]]


def test_deleting_a_user_deletes_their_overrides(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    schedule = _create(org, layers=[_layer([alice])])
    path = f"/api/schedules/{schedule['id']}/overrides"
    org.post(path, json={"user_id": bob, "start": "2030-01-07T09:00:00Z", "end": "2030-01-08T09:00:00Z"})
    assert org.delete(f"/api/users/{bob}").status_code == 204
    assert org.get(path).json()["data"] == []


BAD_OVERRIDES: list[tuple[dict[str, Any], str, str]] = [
    ({"user_id": "usr_nope"}, "user_id", "not_found"),
    ({"user_id": None}, "user_id", "string_type"),
    ({"start": "2030-01-07T09:00:00"}, "start", "timezone"),
    ({"end": "2030-01-08T09:00:00"}, "end", "timezone"),
    ({"end": "2030-01-07T09:00:00Z"}, "end", "before_start"),
    ({"end": "2030-01-07T08:00:00Z"}, "end", "before_start"),
    ({"start": None}, "start", "datetime_type"),
    ({"end": "soon"}, "end", "datetime_from_date_parsing"),
    ({"note": "x"}, "note", "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "field", "reason"), BAD_OVERRIDES)
def test_bad_overrides_are_400(orgs: OrgFactory, change: dict[str, Any], field: str, reason: str) -> None:
    org = orgs.new()
    alice = org.make_user()
    schedule = _create(org, layers=[_layer([alice])])
    body = {"user_id": alice, "start": "2030-01-07T09:00:00Z", "end": "2030-01-08T09:00:00Z", **change}
    error = _error(org.post(f"/api/schedules/{schedule['id']}/overrides", json=body), 400, "VALIDATION_ERROR")
    assert (error["details"]["field"], error["details"]["reason"]) == (field, reason)
    assert org.get(f"/api/schedules/{schedule['id']}/overrides").json()["data"] == []


def test_an_override_for_another_orgs_user_is_400(orgs: OrgFactory) -> None:
    mine, theirs = orgs.new(), orgs.new()
    user = mine.make_user()
    stranger = theirs.make_user()
    schedule = _create(mine, layers=[_layer([user])])
    body = {"user_id": stranger, "start": "2030-01-07T09:00:00Z", "end": "2030-01-08T09:00:00Z"}
    error = _error(
        mine.post(f"/api/schedules/{schedule['id']}/overrides", json=body), 400, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": "user_id", "reason": "not_found"}
    error = _error(
        mine.post(
            "/api/schedules", json={"name": "x", "time_zone": "UTC", "layers": [_layer([user, stranger])]}
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "layers.0.users", "reason": "not_found"}
    their_team = theirs.make_team()
    error = _error(
        mine.post("/api/schedules", json={"name": "x", "time_zone": "UTC", "team_id": their_team}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "team_id", "reason": "not_found"}


# --- tenancy, modes, scopes -------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, dict[str, str] | None]] = [
    ("GET", "/api/schedules/{sch}", None, None),
    ("PATCH", "/api/schedules/{sch}", {"name": "mine"}, None),
    ("DELETE", "/api/schedules/{sch}", None, None),
    ("GET", "/api/schedules/{sch}/overrides", None, None),
    ("POST", "/api/schedules/{sch}/overrides", {"user_id": "{me}", "start": "2030-01-07T09:00:00Z", "end": "2030-01-08T09:00:00Z"}, None),
    ("DELETE", "/api/schedules/{sch}/overrides/{ovr}", None, None),
    ("DELETE", "/api/schedules/{mine}/overrides/{ovr}", None, None),
    ("GET", "/api/schedules/{sch}/on-call", None, None),
    ("GET", "/api/schedules/{sch}/shifts", None, {"since": "2030-01-07T00:00:00Z", "until": "2030-01-08T00:00:00Z"}),
    ("GET", "/api/schedules/{sch}/gaps", None, {"since": "2030-01-07T00:00:00Z", "until": "2030-01-08T00:00:00Z"}),
    ("POST", "/api/schedules/{sch}/take-shift", {"user_id": "{me}", "end": "2030-01-08T09:00:00Z"}, None),
]  # fmt: skip


@pytest.mark.parametrize(("method", "template", "body", "params"), ENDPOINTS)
def test_other_orgs_schedules_are_404(
    orgs: OrgFactory, method: str, template: str, body: dict[str, Any] | None, params: dict[str, str] | None
) -> None:
    mine, theirs = orgs.new(), orgs.new()
    me = mine.make_user()
    my_schedule = _create(mine, layers=[_layer([me])])
    them = theirs.make_user()
    schedule = _create(theirs, layers=[_layer([them])])
    override = theirs.post(
        f"/api/schedules/{schedule['id']}/overrides",
        json={"user_id": them, "start": "2030-01-07T09:00:00Z", "end": "2030-01-08T09:00:00Z"},
    ).json()["data"]
    ids = {"sch": schedule["id"], "ovr": override["id"], "me": me, "mine": my_schedule["id"]}
    payload = None if body is None else {k: v.format(**ids) for k, v in body.items()}
    response = mine.request(method, template.format(**ids), json=payload, params=params)
    _error(response, 404, "NOT_FOUND")
    assert theirs.get(f"/api/schedules/{schedule['id']}").json()["data"] == schedule
    assert [o["id"] for o in theirs.get(f"/api/schedules/{schedule['id']}/overrides").json()["data"]] == [
        override["id"]
    ]


def test_lists_and_modes_are_separate(orgs: OrgFactory) -> None:
    live, theirs = orgs.new(), orgs.new()
    _create(theirs, name="Theirs")
    test = live.test_mode()
    live_user = live.make_user()
    live_schedule = _create(live, name="Live", layers=[_layer([live_user])])
    assert [s["id"] for s in live.get("/api/schedules").json()["data"]] == [live_schedule["id"]]
    assert test.get("/api/schedules").json()["data"] == []
    _error(test.get(f"/api/schedules/{live_schedule['id']}"), 404, "NOT_FOUND")
    # A test key cannot put a live user in a test schedule...
    error = _error(
        test.post("/api/schedules", json={"name": "T", "time_zone": "UTC", "layers": [_layer([live_user])]}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == {"field": "layers.0.users", "reason": "not_found"}
    # ...and what it creates is test data.
    test_user = test.make_user()
    sandbox = _create(test, name="Sandbox", layers=[_layer([test_user])])
    assert sandbox["livemode"] is False
    _error(live.get(f"/api/schedules/{sandbox['id']}"), 404, "NOT_FOUND")
    assert [s["id"] for s in test.get("/api/schedules").json()["data"]] == [sandbox["id"]]


def test_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    user = org.make_user()
    schedule = _create(org, layers=[_layer([user])])
    reader = org.make_key(["schedules:read"])
    assert org.get(f"/api/schedules/{schedule['id']}", key=reader).status_code == 200
    assert org.get("/api/oncalls", key=reader).status_code == 200
    _error(org.post("/api/schedules", json={"name": "x", "time_zone": "UTC"}, key=reader), 403, "FORBIDDEN")
    mixed = org.make_key(["schedules:read", "incidents:write"])
    error = _error(
        org.post("/api/schedules", json={"name": "x", "time_zone": "UTC"}, key=mixed), 403, "FORBIDDEN"
    )
    assert error["details"] == {"required_scope": "schedules:write"}
    _error(org.delete(f"/api/schedules/{schedule['id']}", key=mixed), 403, "FORBIDDEN")
    other = org.make_key(["incidents:read"])
    for path in (
        f"/api/schedules/{schedule['id']}",
        "/api/schedules",
        "/api/oncalls",
        f"/api/schedules/{schedule['id']}/on-call",
    ):
        assert _error(org.get(path, key=other), 403, "FORBIDDEN")["details"] == {
            "required_scope": "schedules:read"
        }
    writer = org.make_key(["schedules:write"])
    assert org.post("/api/schedules", json={"name": "x", "time_zone": "UTC"}, key=writer).status_code == 201
    assert org.get("/api/schedules", key=writer).json()["pagination"]["total"] == 2
