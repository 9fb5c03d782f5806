"""Grafana OnCall's ``/api/v1/shift_swaps`` as its clients see it: fields in upstream order, the list's
default "starting from now" and ``open_only``, create naming the beneficiary, take naming the
benefactor, upstream's 400 sentences, delete as a 404 afterwards, and page-number pagination."""

from __future__ import annotations

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

HOUR = timedelta(hours=1)
FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "status",
    "schedule",
    "swap_start",
    "swap_end",
    "description",
    "beneficiary",
    "benefactor",
]


@dataclass
class World:
    org: OrgHandle
    clock: FakeClock
    schedule: str
    alice: str
    bob: str

    def at(self, delta: timedelta) -> str:
        return (self.clock.now() + delta).strftime("%Y-%m-%dT%H:%M:%SZ")

    def grafana(self, method: str, path: str, **kwargs: Any) -> Any:
        """Grafana's auth form: the key alone, no scheme."""
        return self.org.client.request(
            method, f"/api/v1{path}", headers={"Authorization": self.org.key}, **kwargs
        )

    def create(self, start: timedelta = 2 * HOUR, end: timedelta = 4 * HOUR, **extra: Any) -> dict[str, Any]:
        body = {
            "schedule": self.schedule,
            "swap_start": self.at(start),
            "swap_end": self.at(end),
            "beneficiary": self.alice,
            **extra,
        }
        response = self.grafana("POST", "/shift_swaps/", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture(scope="module")
def clocked(app_client: TestClient, database: Database) -> Iterator[tuple[TestClient, FakeClock]]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(app_client.app.state.settings, database=database, clock=clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, clock


@pytest.fixture
def world(orgs: OrgFactory, clocked: tuple[TestClient, FakeClock]) -> World:
    client, clock = clocked
    clock.set(datetime.now(UTC).replace(microsecond=0))
    org = replace(orgs.new(), client=client)
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
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
                    "start": (clock.now() - timedelta(days=1)).isoformat(),
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    return World(org, clock, response.json()["data"]["id"], alice, bob)


def test_create_get_and_fields_in_upstream_order(world: World) -> None:
    swap = world.create(description="Anyone to cover my shifts?")
    assert list(swap) == FIELDS
    assert swap["status"] == "open" and swap["benefactor"] is None
    assert swap["schedule"] == world.schedule and swap["beneficiary"] == world.alice
    assert swap["swap_start"] == world.at(2 * HOUR).replace("Z", ".000000Z")
    assert swap["description"] == "Anyone to cover my shifts?"
    shown = world.grafana("GET", f"/shift_swaps/{swap['id']}")
    assert shown.status_code == 200 and shown.json() == swap
    assert world.grafana("GET", f"/shift_swaps/{swap['id']}/").status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "body"),
    [
        ({"beneficiary": None}, 400, {"detail": "beneficiary user ID is required"}),
        ({"beneficiary": "usr_nobody"}, 400, {"detail": "Invalid beneficiary user ID"}),
        ({"schedule": None}, 400, {"schedule": ["This field is required."]}),
        ({"schedule": "sch_nope"}, 400, {"schedule": ["Object does not exist"]}),
        ({"swap_end": None}, 400, {"swap_end": ["This field is required."]}),
        ({"swap_start": "2030-01-01 09:00"}, 400, None),
        ({"swap_start": "-1h"}, 400, {"non_field_errors": ["swap_start must be a datetime in the future"]}),
        ({"swap_end": "+1h"}, 400, {"non_field_errors": ["swap_end must occur after swap_start"]}),
    ],
)
def test_create_errors_in_grafanas_words(
    world: World, change: dict[str, Any], status: int, body: dict[str, Any] | None
) -> None:
    sent: dict[str, Any] = {
        "schedule": world.schedule,
        "swap_start": world.at(2 * HOUR),
        "swap_end": world.at(4 * HOUR),
        "beneficiary": world.alice,
    }
    for field, value in change.items():
        if value is None:
            sent.pop(field)
        elif value.startswith(("+", "-")):
            sent[field] = world.at(timedelta(hours=int(value[:-1])))
        else:
            sent[field] = value
    response = world.grafana("POST", "/shift_swaps", json=sent)
    assert response.status_code == status, response.text
    if body is None:
        assert list(response.json()) == ["swap_start"]
        assert response.json()["swap_start"][0].startswith("Datetime has wrong format.")
    else:
        assert response.json() == body
    assert world.grafana("GET", "/shift_swaps").json()["count"] == 0


def test_take_and_its_errors(world: World) -> None:
    swap = world.create()
    url = f"/shift_swaps/{swap['id']}/take"
    assert world.grafana("POST", url, json={}).json() == {"detail": "benefactor user ID is required"}
    assert world.grafana("POST", url, json={"benefactor": "usr_x"}).json() == {
        "detail": "Invalid benefactor user ID"
    }
    own = world.grafana("POST", url, json={"benefactor": world.alice})
    assert own.status_code == 400
    assert own.json() == {"detail": "A shift swap request cannot be created and taken by the same user"}
    taken = world.grafana("POST", url, data={"benefactor": world.bob})  # a form body, as DRF accepts
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "taken" and taken.json()["benefactor"] == world.bob
    assert list(taken.json()) == FIELDS
    again = world.grafana("POST", url, json={"benefactor": world.bob})
    assert again.status_code == 400
    assert again.json() == {"detail": "The shift swap request is not in a state which allows it to be taken"}

    late = world.create(8 * HOUR, 9 * HOUR)
    world.clock.advance(8 * HOUR)
    past = world.grafana("POST", f"/shift_swaps/{late['id']}/take", json={"benefactor": world.bob})
    assert past.status_code == 400
    assert past.json() == {"detail": "The shift swap request is not in a state which allows it to be taken"}
    assert world.grafana("GET", f"/shift_swaps/{late['id']}").json()["status"] == "past_due"
    assert world.grafana("POST", "/shift_swaps/ssr_nope/take", json={"benefactor": world.bob}).json() == {
        "detail": "Not found."
    }


def test_list_filters_like_upstream(world: World) -> None:
    first = world.create(2 * HOUR, 3 * HOUR)
    second = world.create(5 * HOUR, 6 * HOUR)
    third = world.create(8 * HOUR, 9 * HOUR)
    world.grafana("POST", f"/shift_swaps/{second['id']}/take", json={"benefactor": world.bob})
    world.clock.advance(4 * HOUR)  # the first is past due now

    def ids(query: str) -> list[str]:
        response = world.grafana("GET", f"/shift_swaps{query}")
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["results"]]

    assert ids("") == [second["id"], third["id"]]
    assert ids("?open_only=true") == [third["id"]]
    assert ids(f"?benefactor={world.bob}") == [second["id"]]
    everything = ids(f"?beneficiary={world.alice}&starting_after={world.at(-5 * HOUR)}")
    assert everything == [first["id"], second["id"], third["id"]]
    assert ids(f"?schedule_id={world.schedule}&perpage=1&page=2") == [third["id"]]
    assert ids("?schedule_id=sch_nope") == []
    page = world.grafana("GET", "/shift_swaps?perpage=1").json()
    assert list(page) == [
        "count",
        "next",
        "previous",
        "results",
        "page_size",
        "current_page_number",
        "total_pages",
    ]
    assert page["count"] == 2 and page["total_pages"] == 2
    bad = world.grafana("GET", "/shift_swaps?starting_after=yesterday")
    assert bad.status_code == 400 and list(bad.json()) == ["starting_after"]


def test_update_and_delete(world: World) -> None:
    swap = world.create()
    url = f"/shift_swaps/{swap['id']}"
    patched = world.grafana("PATCH", url, json={"description": "Taking a few days off"})
    assert patched.status_code == 200 and patched.json()["description"] == "Taking a few days off"
    half = world.grafana("PATCH", url, json={"swap_start": world.at(3 * HOUR)})
    assert half.json() == {
        "non_field_errors": [
            "when doing a partial update on time related fields, both start and end times must be specified"
        ]
    }
    put = world.grafana(
        "PUT",
        url,
        json={"schedule": world.schedule, "swap_start": world.at(HOUR), "swap_end": world.at(5 * HOUR)},
    )
    assert put.status_code == 200, put.text
    assert put.json()["swap_end"] == world.at(5 * HOUR).replace("Z", ".000000Z")
    assert world.grafana("PUT", url, json={"description": "x"}).json() == {
        "schedule": ["This field is required."]
    }
    assert world.grafana("DELETE", url).status_code == 204
    assert world.grafana("GET", url).status_code == 404
    assert world.grafana("DELETE", url).json() == {"detail": "Not found."}
    assert world.grafana("GET", "/shift_swaps").json()["count"] == 0
    timeline = world.org.get(f"/api/schedules/{world.schedule}/timeline").json()["data"]
    assert [e["type"] for e in timeline] == [
        "swap_requested",
        "swap_updated",
        "swap_updated",
        "swap_cancelled",
    ]


def test_auth_scopes_and_other_orgs(world: World, orgs: OrgFactory) -> None:
    swap = world.create()
    stranger = replace(orgs.new(), client=world.org.client)
    response = stranger.client.get(
        f"/api/v1/shift_swaps/{swap['id']}", headers={"Authorization": stranger.key}
    )
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    reader = world.org.make_key(["schedules:read"])
    denied = world.org.client.post(
        f"/api/v1/shift_swaps/{swap['id']}/take",
        headers={"Authorization": reader},
        json={"benefactor": world.bob},
    )
    assert denied.status_code == 403
    nobody = world.org.client.get("/api/v1/shift_swaps", headers={"Authorization": "sk_live_nope"})
    assert nobody.status_code == 403 and nobody.json() == {"detail": "Invalid token."}
