"""Splunk On-Call's reporting API through HTTP: ``{incidents, offset, limit, total}``, each filter,
paging (20 by default, at most 100) and bad filters refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.compat.splunk_public.conftest import World
from tests.integration.compat.splunk_public.test_auth import expect_error

PATH = "/api-reporting/v2/incidents"


def _numbers(world: World, **params: Any) -> list[str]:
    response = world.splunk.get(PATH, params=params)
    assert response.status_code == 200, response.text
    return [incident["incidentNumber"] for incident in response.json()["incidents"]]


def test_filters_and_paging(world: World) -> None:
    first = world.trigger("one", "k1")
    second = world.trigger("two", "k2")
    world.splunk.patch("/api-public/v1/incidents/resolve", json={"userName": "bob", "incidentNames": [first]})
    body = world.splunk.get(PATH).json()
    assert list(body) == ["incidents", "offset", "limit", "total"]
    assert (body["offset"], body["limit"], body["total"]) == (0, 20, 2)
    assert [i["incidentNumber"] for i in body["incidents"]] == [str(second), str(first)]
    assert _numbers(world, entityId="k1") == [str(first)]
    assert _numbers(world, incidentNumber=second) == [str(second)]
    assert _numbers(world, currentPhase="RESOLVED") == [str(first)]
    assert _numbers(world, currentPhase="unacked,ACKED") == [str(second)]
    assert _numbers(world, host="db-01") == [str(second), str(first)]
    assert _numbers(world, host="web-01") == []
    assert _numbers(world, service="Payment API") == [str(second), str(first)]
    assert _numbers(world, routingKey=world.routing_key) == [str(second), str(first)]
    assert _numbers(world, routingKey="other-key") == []
    assert _numbers(world, startedAfter="2030-01-07T09:00:00Z", startedBefore="2030-01-07T11:00:00Z") == [
        str(second),
        str(first),
    ]
    assert _numbers(world, startedAfter="2030-01-08") == []
    page = world.splunk.get(PATH, params={"limit": 1, "offset": 1}).json()
    assert ([i["incidentNumber"] for i in page["incidents"]], page["total"], page["limit"]) == (
        [str(first)],
        2,
        1,
    )


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
