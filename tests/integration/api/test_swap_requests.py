"""Swap requests through the native API on an app whose clock the test moves: request → take → the
on-call changes at the window start; expiry, cancellation, permissions, validation, the schedule
timeline, tenancy, and two concurrent takers of which exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.session import Database
from tocsin.domain.actor import Actor
from tocsin.services.errors import Conflict
from tocsin.services.swaps import takes as swap_takes

HOUR = timedelta(hours=1)


@dataclass
class Team:
    org: OrgHandle
    clock: FakeClock
    schedule: str
    alice: str
    bob: str
    carol: str
    alice_key: str
    bob_key: str

    def at(self, delta: timedelta) -> str:
        return (self.clock.now() + delta).isoformat()

    def ask(self, start: timedelta = 2 * HOUR, end: timedelta = 6 * HOUR, **extra: Any) -> dict[str, Any]:
        response = self.org.post(
            f"/api/schedules/{self.schedule}/swap-requests",
            json={"start": self.at(start), "end": self.at(end), **extra},
            key=self.alice_key,
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def path(self, swap: dict[str, Any], tail: str = "") -> str:
        return f"/api/schedules/{self.schedule}/swap-requests/{swap['id']}{tail}"

    def on_call(self, at: timedelta) -> list[str]:
        response = self.org.get(f"/api/schedules/{self.schedule}/on-call", params={"at": self.at(at)})
        assert response.status_code == 200, response.text
        return [entry["user"]["id"] for entry in response.json()["data"]]

    def timeline(self) -> list[dict[str, Any]]:
        response = self.org.get(f"/api/schedules/{self.schedule}/timeline", params={"limit": 100})
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@pytest.fixture(scope="module")
def clocked(app_client: TestClient, database: Database) -> Iterator[tuple[TestClient, FakeClock]]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, clock


@pytest.fixture
def team(orgs: OrgFactory, clocked: tuple[TestClient, FakeClock]) -> Team:
    """Alice is on call all the time (a one-person weekly rotation); Bob and Carol are not."""
    client, clock = clocked
    clock.set(datetime.now(UTC).replace(microsecond=0))
    org = replace(orgs.new(), client=client)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    carol = org.make_user("Carol")
    response = org.post(
        "/api/schedules",
        json={
            "name": "Primary",
            "time_zone": "UTC",
            "layers": [
                {
                    "users": [alice],
                    "rotation_unit": "weeks",
                    "rotation_length": 1,
                    "start": (clock.now() - timedelta(days=3)).isoformat(),
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    scopes = ["schedules:write", "users:read"]
    return Team(
        org,
        clock,
        response.json()["data"]["id"],
        alice,
        bob,
        carol,
        org.make_key(scopes, user_id=alice),
        org.make_key(scopes, user_id=bob),
    )


def test_request_then_take_changes_who_is_on_call_in_the_window_only(team: Team) -> None:
    swap = team.ask(description="Dentist")
    assert swap["status"] == "open"
    assert swap["beneficiary"]["id"] == team.alice and swap["benefactor"] is None
    assert swap["description"] == "Dentist" and swap["override_id"] is None

    response = team.org.post(team.path(swap, "/take"), key=team.bob_key)
    assert response.status_code == 200, response.text
    taken = response.json()["data"]
    assert taken["swap_request"]["status"] == "taken"
    assert taken["swap_request"]["benefactor"]["id"] == team.bob
    assert taken["swap_request"]["override_id"] == taken["override"]["id"]
    assert taken["override"]["user"]["id"] == team.bob

    assert team.on_call(HOUR) == [team.alice]
    assert team.on_call(3 * HOUR) == [team.bob]
    assert team.on_call(7 * HOUR) == [team.alice]

    events = team.timeline()
    assert [e["type"] for e in events] == ["swap_requested", "swap_taken", "override_created"]
    assert events[1]["data"]["override_id"] == taken["override"]["id"]
    assert events[1]["actor"] == {"type": "user", "id": team.bob, "name": "Bob"}
    assert events[2]["data"]["swap_request_id"] == swap["id"]

    listed = team.org.get("/api/swap-requests", params={"status": "taken", "benefactor_id": team.bob})
    assert [s["id"] for s in listed.json()["data"]] == [swap["id"]]
    assert team.org.get("/api/swap-requests", params={"status": "open"}).json()["data"] == []


def test_an_expired_request_cannot_be_taken_or_cancelled(team: Team) -> None:
    swap = team.ask()
    team.clock.advance(2 * HOUR)
    shown = team.org.get(team.path(swap)).json()["data"]
    assert shown["status"] == "past_due"
    response = team.org.post(team.path(swap, "/take"), key=team.bob_key)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "CONFLICT" and "expired" in error["message"]
    assert error["details"]["reason"] == "expired"
    assert team.org.post(team.path(swap, "/cancel"), key=team.alice_key).status_code == 409
    assert team.on_call(3 * HOUR - 2 * HOUR) == [team.alice]
    past = team.org.get(f"/api/schedules/{team.schedule}/swap-requests", params={"status": "past_due"})
    assert [s["id"] for s in past.json()["data"]] == [swap["id"]]


def test_cancel_by_the_asker_admin_or_service_key_only(team: Team) -> None:
    swap = team.ask()
    response = team.org.post(team.path(swap, "/cancel"), key=team.bob_key)
    assert response.status_code == 403, response.text
    response = team.org.post(team.path(swap, "/cancel"), key=team.alice_key)
    assert response.status_code == 200 and response.json()["data"]["status"] == "cancelled"
    again = team.org.post(team.path(swap, "/cancel"))
    assert again.status_code == 409 and "cancelled" in again.json()["error"]["message"]
    take = team.org.post(team.path(swap, "/take"), key=team.bob_key)
    assert take.status_code == 409 and take.json()["error"]["details"]["reason"] == "cancelled"

    other = team.ask()
    admin = team.org.make_user("Dana", role="admin")
    admin_key = team.org.make_key(["schedules:write"], user_id=admin)
    assert team.org.post(team.path(other, "/cancel"), key=admin_key).status_code == 200
    third = team.ask()
    assert team.org.post(team.path(third, "/cancel")).status_code == 200  # the service key
    assert [e["type"] for e in team.timeline()].count("swap_cancelled") == 3


def test_taking_twice_or_your_own(team: Team) -> None:
    swap = team.ask()
    own = team.org.post(team.path(swap, "/take"), key=team.alice_key)
    assert own.status_code == 400 and own.json()["error"]["details"]["field"] == "user_id"
    assert team.org.post(team.path(swap, "/take"), json={"user_id": team.carol}).status_code == 200
    again = team.org.post(team.path(swap, "/take"), key=team.bob_key)
    assert again.status_code == 409 and "already taken" in again.json()["error"]["message"]
    service = team.org.post(team.path(team.ask(8 * HOUR, 9 * HOUR), "/take"))
    assert service.status_code == 400 and service.json()["error"]["details"]["field"] == "user_id"


def test_update_while_open(team: Team) -> None:
    swap = team.ask()
    response = team.org.patch(
        team.path(swap), json={"description": "Wedding", "end": team.at(8 * HOUR)}, key=team.alice_key
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["description"] == "Wedding" and data["end"].startswith(team.at(8 * HOUR)[:16])
    assert team.org.patch(team.path(swap), json={"start": team.at(-HOUR)}).status_code == 400
    assert team.org.patch(team.path(swap), json={"description": "x"}, key=team.bob_key).status_code == 403
    team.org.post(team.path(swap, "/take"), key=team.bob_key)
    late = team.org.patch(team.path(swap), json={"description": "late"}, key=team.alice_key)
    assert late.status_code == 409 and late.json()["error"]["details"]["reason"] == "already_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "+6h", "end": "+2h"}, "end"),
        ({"start": "-1h", "end": "+2h"}, "start"),
        ({"start": "+2h", "end": "+800h"}, "end"),
        ({"start": "2030-01-01T09:00:00", "end": "+2h"}, "start"),
        ({"start": "+2h", "end": "+6h", "user_id": "usr_nobody"}, "user_id"),
        ({"start": "+2h", "end": "+6h", "description": "x" * 2001}, "description"),
        ({"start": "+2h", "end": "+6h", "colour": "red"}, "colour"),
        ({"start": "tomorrow", "end": "+6h"}, "start"),
        ({"end": "+6h"}, "start"),
    ],
)
def test_bad_requests_name_the_field_and_change_nothing(team: Team, body: dict[str, Any], field: str) -> None:
    def value(raw: Any) -> Any:
        if isinstance(raw, str) and raw[:1] in "+-" and raw.endswith("h"):
            return team.at(timedelta(hours=int(raw[:-1])))
        return raw

    sent = {name: value(raw) for name, raw in body.items()}
    response = team.org.post(f"/api/schedules/{team.schedule}/swap-requests", json=sent, key=team.alice_key)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["field"].split(".")[-1] == field
    assert team.org.get("/api/swap-requests").json()["pagination"]["total"] == 0


def test_only_someone_on_call_may_ask(team: Team) -> None:
    response = team.org.post(
        f"/api/schedules/{team.schedule}/swap-requests",
        json={"start": team.at(2 * HOUR), "end": team.at(4 * HOUR), "user_id": team.carol},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"] == {"field": "user_id", "reason": "not_on_call"} and "Carol" in error["message"]
    service = team.org.post(
        f"/api/schedules/{team.schedule}/swap-requests",
        json={"start": team.at(2 * HOUR), "end": team.at(4 * HOUR)},
    )
    assert service.status_code == 400 and service.json()["error"]["details"]["field"] == "user_id"


def test_unknown_and_foreign_ids_are_404_and_filters_are_checked(team: Team, orgs: OrgFactory) -> None:
    swap = team.ask()
    stranger = replace(orgs.new(), client=team.org.client)
    for path in (
        team.path(swap),
        f"/api/swap-requests/{swap['id']}",
        f"/api/schedules/{team.schedule}/timeline",
    ):
        assert stranger.get(path).status_code == 404
    assert stranger.post(team.path(swap, "/take"), json={"user_id": team.bob}).status_code == 404
    assert team.org.test_mode().get(f"/api/swap-requests/{swap['id']}").status_code == 404
    assert team.org.get(f"/api/schedules/sch_nope/swap-requests/{swap['id']}").status_code == 404
    assert team.org.get("/api/swap-requests/ssr_nope").status_code == 404
    assert team.org.get("/api/swap-requests", params={"status": "lost"}).status_code == 400
    assert team.org.get("/api/swap-requests", params={"starting_after": "soon"}).status_code == 400
    assert team.org.get("/api/swap-requests", params={"limit": 1000}).status_code == 400
    assert team.org.get(f"/api/schedules/{team.schedule}/timeline", params={"type": "x"}).status_code == 400
    read_only = team.org.make_key(["schedules:read"])
    assert team.org.post(team.path(swap, "/cancel"), key=read_only).status_code == 403
    assert team.org.get(team.path(swap), key=read_only).status_code == 200
    assert stranger.get("/api/swap-requests").json()["data"] == []


def test_listing_filters_and_pages(team: Team) -> None:
    first, second = team.ask(2 * HOUR, 3 * HOUR), team.ask(4 * HOUR, 5 * HOUR)
    team.org.post(team.path(second, "/take"), key=team.bob_key)
    everything = team.org.get("/api/swap-requests", params={"limit": 1}).json()
    assert [s["id"] for s in everything["data"]] == [first["id"]]
    assert everything["pagination"] == {"total": 2, "limit": 1, "offset": 0, "has_more": True}
    later = team.org.get("/api/swap-requests", params={"starting_after": team.at(3 * HOUR)}).json()
    assert [s["id"] for s in later["data"]] == [second["id"]]
    both = team.org.get("/api/swap-requests", params={"status": "open,taken", "beneficiary_id": team.alice})
    assert [s["id"] for s in both.json()["data"]] == [first["id"], second["id"]]
    nested = team.org.get(f"/api/schedules/{team.schedule}/swap-requests", params={"status": "open"})
    assert [s["id"] for s in nested.json()["data"]] == [first["id"]]
    typed = team.org.get(f"/api/schedules/{team.schedule}/timeline", params={"type": "swap_taken"}).json()
    assert [e["type"] for e in typed["data"]] == ["swap_taken"]


def _race(database: Database, team: Team, swap_id: str, takers: tuple[str, ...]) -> dict[str, str]:
    """Each taker in its own thread and transaction, released together; who won, who heard why."""
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(len(takers))

    def take(user_id: str) -> None:
        barrier.wait()
        try:
            with database.write() as session:
                swap_takes.take_request(
                    session=session,
                    tenant=team.org.tenant,
                    swap_id=swap_id,
                    benefactor_id=user_id,
                    actor=Actor.system(),
                    now=datetime.now(UTC),
                )
            outcomes[user_id] = "won"
        except Conflict as exc:
            outcomes[user_id] = str(exc.details["reason"])

    threads = [threading.Thread(target=take, args=(user,)) for user in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_takers_at_once_exactly_one_wins(team: Team) -> None:
    for n in range(3):
        swap = team.ask((10 * n + 2) * HOUR, (10 * n + 4) * HOUR)  # each round its own window
        outcomes = _race(team.org.database, team, swap["id"], (team.bob, team.carol))
        assert sorted(outcomes.values()) == ["already_taken", "won"]
        winner = next(user for user, outcome in outcomes.items() if outcome == "won")
        shown = team.org.get(team.path(swap)).json()["data"]
        assert shown["benefactor"]["id"] == winner
        overrides = team.org.get(f"/api/schedules/{team.schedule}/overrides", params={"limit": 100}).json()
        same_window = [
            o for o in overrides["data"] if o["start"] == shown["start"] and o["end"] == shown["end"]
        ]
        assert [o["id"] for o in same_window] == [shown["override_id"]]  # the loser made none
    taken = [e for e in team.timeline() if e["type"] == "swap_taken"]
    assert len(taken) == 3
