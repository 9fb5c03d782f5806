"""Splunk On-Call's reporting API through HTTP: ``{incidents, offset, limit, total}``, each filter,
paging (20 by default, at most 100) and bad filters refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.compat.splunk_public.conftest import World
from tests.integration.compat.splunk_public.test_auth import expect_error

PATH = "/api-reporting/v2/incidents"
ALL_PHASES = "resolved,triggered,acknowledged"


def _incidents(world: World, **params: Any) -> list[dict[str, Any]]:
    response = world.splunk.get(PATH, params=params)
    assert response.status_code == 200, response.text
    incidents: list[dict[str, Any]] = response.json()["incidents"]
    return incidents


def _numbers(world: World, **params: Any) -> list[str]:
    return [incident["incidentNumber"] for incident in _incidents(world, **params)]


def test_filters_and_paging(world: World) -> None:
    first = world.trigger("one", "k1")
    second = world.trigger("two", "k2")
    world.splunk.patch("/api-public/v1/incidents/resolve", json={"userName": "bob", "incidentNames": [first]})
    body = world.splunk.get(PATH).json()
    assert list(body) == ["incidents", "offset", "limit", "total"]
    assert (body["offset"], body["limit"], body["total"]) == (0, 20, 1)  # resolved ones only, by default
    assert [i["incidentNumber"] for i in body["incidents"]] == [str(first)]
    every = {"currentPhase": ALL_PHASES}
    assert _numbers(world, **every) == [str(second), str(first)]
    assert _numbers(world, entityId="k1", **every) == [str(first)]
    assert _numbers(world, incidentNumber=second, **every) == [str(second)]
    assert _numbers(world, incidentNumber=second) == []  # triggered: not in the default phase
    assert _numbers(world, host="db-01", **every) == [str(second), str(first)]
    assert _numbers(world, host="web-01", **every) == []
    assert _numbers(world, service="Payment API", **every) == [str(second), str(first)]
    assert _numbers(world, routingKey=world.routing_key, **every) == [str(second), str(first)]
    assert _numbers(world, routingKey="other-key", **every) == []
    assert _numbers(
        world, startedAfter="2030-01-07T09:00:00Z", startedBefore="2030-01-07T11:00:00Z", **every
    ) == [str(second), str(first)]
    assert _numbers(world, startedAfter="2030-01-08", **every) == []
    page = world.splunk.get(PATH, params={"limit": 1, "offset": 1, **every}).json()
    assert ([i["incidentNumber"] for i in page["incidents"]], page["total"], page["limit"]) == (
        [str(first)],
        2,
        1,
    )


def test_current_phase_takes_splunks_values(world: World) -> None:
    triggered = str(world.trigger("triggered", "k1"))
    acknowledged = str(world.trigger("acknowledged", "k2"))
    resolved = str(world.trigger("resolved", "k3"))
    acted = {"userName": "bob", "incidentNames": [acknowledged]}
    assert world.splunk.patch("/api-public/v1/incidents/ack", json=acted).status_code == 200
    acted = {"userName": "bob", "incidentNames": [resolved]}
    assert world.splunk.patch("/api-public/v1/incidents/resolve", json=acted).status_code == 200
    assert _numbers(world) == [resolved]
    assert _numbers(world, currentPhase="resolved") == [resolved]
    assert _numbers(world, currentPhase="triggered") == [triggered]
    assert _numbers(world, currentPhase="acknowledged") == [acknowledged]
    assert _numbers(world, currentPhase="triggered,acknowledged") == [acknowledged, triggered]
    assert _numbers(world, currentPhase=" Triggered , RESOLVED ") == [resolved, triggered]
    # The phase names the responses carry are taken too.
    assert _numbers(world, currentPhase="UNACKED,ACKED") == [acknowledged, triggered]
    phases = {i["incidentNumber"]: i["currentPhase"] for i in _incidents(world, currentPhase=ALL_PHASES)}
    assert phases == {triggered: "UNACKED", acknowledged: "ACKED", resolved: "RESOLVED"}


def test_unknown_phase_is_a_clear_400(world: World) -> None:
    world.trigger("one", "k1")
    for bad in ("open", "resolved,closed", ",", ""):
        message = expect_error(world.splunk.get(PATH, params={"currentPhase": bad}), 400)
        assert "resolved, triggered, acknowledged" in message, bad
    message = expect_error(world.splunk.get(PATH, params={"currentPhase": "resolved,closed"}), 400)
    assert "'closed'" in message


def test_incident_numbers_and_ranges(world: World) -> None:
    numbers = [world.trigger(f"incident {n}", f"k{n}") for n in range(6)]
    every = {"currentPhase": ALL_PHASES}
    n = numbers
    wanted = f"{n[0]},{n[2]}:{n[3]},{n[5]}:{n[5]}"
    assert _numbers(world, incidentNumber=wanted, **every) == [str(n[5]), str(n[3]), str(n[2]), str(n[0])]
    assert _numbers(world, incidentNumber=f" {n[1]} , {n[4]}", **every) == [str(n[4]), str(n[1])]
    assert _numbers(world, incidentNumber=f"{n[5] + 1}:{n[5] + 50}", **every) == []
    for bad in (f"{n[3]}:{n[2]}", "4,", "4:", ":5", "4:5:6", "4-5", "a:b", "4;5"):
        message = expect_error(world.splunk.get(PATH, params={"incidentNumber": bad, **every}), 400)
        assert "incidentNumber" in message, bad
    assert "ends before it starts" in expect_error(
        world.splunk.get(PATH, params={"incidentNumber": f"{n[3]}:{n[2]}"}), 400
    )


def test_hosts_and_services_take_several_values(world: World) -> None:
    on_db = str(world.trigger("on db", "k1"))
    world.native(
        "POST",
        "/api/events",
        json={
            "routing_key": world.routing_key,
            "event_action": "trigger",
            "dedup_key": "k2",
            "payload": {"summary": "on web", "severity": "critical", "source": "web-01"},
        },
    )
    on_web = str(world.native("GET", "/api/incidents", params={"limit": 1})["data"][0]["number"])
    other_key = f"search-{world.org.slug}"
    world.native(
        "POST",
        "/api/services",
        json={"name": "Search", "integrations": [{"name": "Monitoring", "routing_key": other_key}]},
    )
    world.native(
        "POST",
        "/api/events",
        json={
            "routing_key": other_key,
            "event_action": "trigger",
            "payload": {"summary": "search down", "severity": "critical", "source": "search-01"},
        },
    )
    on_search = str(world.native("GET", "/api/incidents", params={"limit": 1})["data"][0]["number"])
    every = {"currentPhase": ALL_PHASES}
    assert _numbers(world, host="db-01,web-01", **every) == [on_web, on_db]
    assert _numbers(world, host="web-01, search-01", **every) == [on_search, on_web]
    assert _numbers(world, host="nowhere,db-01", **every) == [on_db]
    assert _numbers(world, service="Search", **every) == [on_search]
    assert _numbers(world, service="Payment API,Search", **every) == [on_search, on_web, on_db]
    assert _numbers(world, service="Search,Nothing", host="db-01", **every) == []
    for field in ("host", "service"):
        message = expect_error(world.splunk.get(PATH, params={field: " , ", **every}), 400)
        assert field in message


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 1000},
        {"limit": 0},
        {"offset": -1},
        {"limit": "x"},
        {"currentPhase": "OPEN"},
        {"incidentNumber": "abc"},
        {"incidentNumber": "²"},
        {"startedAfter": "yesterday"},
        {"startedAfter": "2030-01-08T00:00:00Z", "startedBefore": "2030-01-07T00:00:00Z"},
        {"startedAfter": "0001-01-01T00:00:00+05:00"},
        {"startedBefore": "9999-12-31T23:59:59-05:00"},
        {"host": "db\x00"},
    ],
)
def test_bad_filters_are_400(world: World, params: dict[str, Any]) -> None:
    expect_error(world.splunk.get(PATH, params=params), 400)


def test_only_the_callers_incidents(world: World, orgs: Any) -> None:
    other = orgs.new()
    other.trigger(other.make_service()[1])
    assert world.splunk.get(PATH).json()["total"] == 0
