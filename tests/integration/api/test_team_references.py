"""A ``team_id`` on a service, a schedule or an escalation policy goes through one check
(``services.checks.check_team``; a service's ``escalation_policy_id`` through its twin): through HTTP, an unknown id, another org's team and a live team
seen from test mode are all the same 400 naming ``team_id``, on create and on update, and nothing
is written. The tenant's own team is taken, and ``null`` unsets it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest

from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle

Body = Callable[[OrgHandle], dict[str, Any]]


def _service(org: OrgHandle) -> dict[str, Any]:
    return {"name": "Payments"}


def _schedule(org: OrgHandle) -> dict[str, Any]:
    return {"name": "Primary", "time_zone": "UTC"}


def _policy(org: OrgHandle) -> dict[str, Any]:
    return {"name": "Payments", "rules": [{"targets": [{"type": "user", "id": org.make_user()}]}]}


RESOURCES: list[tuple[str, Body]] = [
    ("/api/services", _service),
    ("/api/schedules", _schedule),
    ("/api/escalation-policies", _policy),
]
IDS = [path.removeprefix("/api/") for path, _ in RESOURCES]


def _refused(response: httpx.Response, team_id: str) -> None:
    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert error["details"] == {"field": "team_id", "reason": "not_found"}
    assert error["message"] == (
        f"team_id: unknown team id {team_id!r}; use the id of one of this org's teams"
    )


def _bad_team_ids(orgs: OrgFactory) -> list[str]:
    """An id nobody has, and another org's real team."""
    return ["tm_nope", orgs.new().make_team("Theirs")]


@pytest.mark.parametrize(("path", "body"), RESOURCES, ids=IDS)
def test_create_refuses_a_team_outside_the_tenant(orgs: OrgFactory, path: str, body: Body) -> None:
    org = orgs.new()
    for team_id in _bad_team_ids(orgs):
        _refused(org.post(path, json={**body(org), "team_id": team_id}), team_id)
    assert org.get(path).json()["pagination"]["total"] == 0
    live_team = org.make_team("Live only")
    test_mode = org.test_mode()
    _refused(test_mode.post(path, json={**body(test_mode), "team_id": live_team}), live_team)
    assert test_mode.get(path).json()["pagination"]["total"] == 0


@pytest.mark.parametrize(("path", "body"), RESOURCES, ids=IDS)
def test_update_refuses_a_team_outside_the_tenant_and_keeps_the_old(
    orgs: OrgFactory, path: str, body: Body
) -> None:
    org = orgs.new()
    mine = org.make_team("Mine")
    created = org.post(path, json={**body(org), "team_id": mine})
    assert created.status_code == 201, created.text
    url = f"{path}/{created.json()['data']['id']}"
    for team_id in _bad_team_ids(orgs):
        _refused(org.patch(url, json={"team_id": team_id}), team_id)
    assert org.get(url).json()["data"]["team_id"] == mine


@pytest.mark.parametrize(("path", "body"), RESOURCES, ids=IDS)
def test_own_team_is_taken_and_null_unsets_it(orgs: OrgFactory, path: str, body: Body) -> None:
    org = orgs.new()
    first, second = org.make_team("First"), org.make_team("Second")
    created = org.post(path, json={**body(org), "team_id": first})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["team_id"] == first
    url = f"{path}/{created.json()['data']['id']}"
    assert org.patch(url, json={"team_id": second}).json()["data"]["team_id"] == second
    assert org.patch(url, json={"team_id": None}).json()["data"]["team_id"] is None
    assert org.get(url).json()["data"]["team_id"] is None


def test_a_services_policy_outside_the_tenant_is_refused_alike(orgs: OrgFactory) -> None:
    """The escalation policy a service pages through is the same kind of reference."""
    org, other = orgs.new(), orgs.new()
    theirs = other.post("/api/escalation-policies", json=_policy(other)).json()["data"]["id"]
    for policy_id in ("ep_nope", theirs):
        body = {"name": "Payments", "escalation_policy_id": policy_id}
        error = expect_error(org.post("/api/services", json=body), 400, "VALIDATION_ERROR")
        assert error["details"] == {"field": "escalation_policy_id", "reason": "not_found"}
        assert error["message"] == (
            f"escalation_policy_id: unknown escalation policy id {policy_id!r}; "
            "use the id of one of this org's escalation policies"
        )
    assert org.get("/api/services").json()["pagination"]["total"] == 0
