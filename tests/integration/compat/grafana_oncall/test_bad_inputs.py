"""Inputs that once reached a 500 in the Grafana OnCall dialect now get Grafana's 400 (or the
documented fallback) and change nothing: out-of-calendar instants, durations past a century,
non-ASCII digits, JSON lists where a string belongs, page numbers past any OFFSET."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.orgs import OrgFactory
from tests.integration.compat.grafana_oncall.conftest import Grafana


def _schedule(g: Grafana) -> str:
    response = g.post("/schedules", json={"type": "web", "name": "Web", "time_zone": "UTC"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _bad(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    assert list(response.json()) == [field], response.text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start": "0001-01-01T00:00:00", "time_zone": "Asia/Tokyo"}, "start"),
        ({"start": "9999-12-31T23:00:00", "time_zone": "America/New_York"}, "start"),
        ({"duration": 10**15}, "duration"),
        ({"duration": "²"}, "duration"),
    ],
)
def test_shift_times_out_of_range_are_400(orgs: OrgFactory, fields: dict[str, Any], field: str) -> None:
    org = orgs.new()
    g = Grafana(org)
    schedule = _schedule(g)
    alice = org.make_user("Alice")
    body = {"schedule": schedule, "name": "S", "type": "override", "start": "2030-01-07T00:00:00",
            "duration": 3600, "users": [alice], **fields}  # fmt: skip
    _bad(g.post("/on_call_shifts", json=body), field)
    assert g.get("/on_call_shifts", params={"schedule_id": schedule}).json()["count"] == 0


def test_long_single_event_and_list_frequency_are_400(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    schedule = _schedule(g)
    alice = org.make_user("Alice")
    event = {"schedule": schedule, "name": "S", "type": "single_event", "start": "2030-01-07T00:00:00",
             "duration": 700_000_000, "users": [alice]}  # fmt: skip
    _bad(g.post("/on_call_shifts", json=event), "duration")
    rolling = {**event, "type": "rolling_users", "duration": 86400, "frequency": ["daily"],
               "rolling_users": [[alice]]}  # fmt: skip
    del rolling["users"]
    _bad(g.post("/on_call_shifts", json=rolling), "frequency")


@pytest.mark.parametrize("duration", ["²", "99999999999:00:00", "1:2", 10**30])
def test_escalation_wait_durations_that_are_not_numbers_are_400(orgs: OrgFactory, duration: Any) -> None:
    g = Grafana(orgs.new())
    chain = g.post("/escalation_chains", json={"name": "Chain"}).json()["id"]
    response = g.post(
        "/escalation_policies", json={"escalation_chain_id": chain, "type": "wait", "duration": duration}
    )
    assert response.status_code == 400, response.text
    assert g.get("/escalation_policies", params={"escalation_chain_id": chain}).json()["count"] == 0


@pytest.mark.parametrize("path", ["/escalation_chains", "/schedules"])
def test_a_team_id_that_is_not_a_string_is_400(orgs: OrgFactory, path: str) -> None:
    g = Grafana(orgs.new())
    body = {"name": "X", "team_id": ["tm_1"], "type": "web", "time_zone": "UTC"}
    if path == "/escalation_chains":
        body = {"name": "X", "team_id": {"id": "tm_1"}}
    _bad(g.post(path, json=body), "team_id")
    assert g.get(path).json()["count"] == 0


def test_final_shifts_dates_near_the_end_of_the_calendar_are_400(orgs: OrgFactory) -> None:
    g = Grafana(orgs.new())
    schedule = _schedule(g)
    params = {"start_date": "9999-12-30", "end_date": "9999-12-31"}
    response = g.get(f"/schedules/{schedule}/final_shifts", params=params)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("page", ["²", str(10**30), str(2**63 // 50 + 2), "-3", "x"])
def test_odd_page_numbers_fall_back_or_clamp(orgs: OrgFactory, page: str) -> None:
    org = orgs.new()
    g = Grafana(org)
    org.make_team("Payments")
    response = g.get("/teams", params={"page": page})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["count"], body["current_page_number"], body["total_pages"]) == (1, 1, 1)
    assert [team["name"] for team in body["results"]] == ["Payments"]


def test_a_page_past_the_end_of_nothing_is_page_one(orgs: OrgFactory) -> None:
    g = Grafana(orgs.new())
    body = g.get("/alerts", params={"page": 5}).json()
    assert (body["count"], body["current_page_number"], body["previous"], body["next"]) == (0, 1, None, None)


def test_swap_windows_off_the_calendar_are_400(orgs: OrgFactory) -> None:
    org = orgs.new()
    g = Grafana(org)
    schedule = _schedule(g)
    alice = org.make_user("Alice")
    body = {"schedule": schedule, "swap_start": "0001-01-01T00:00:00+01:00",
            "swap_end": "2030-01-08T00:00:00Z", "beneficiary": alice}  # fmt: skip
    response = g.post("/shift_swaps", json=body)
    assert response.status_code == 400, response.text
    listed = g.get("/shift_swaps", params={"starting_after": "0001-01-01T00:00:00+01:00"})
    assert listed.status_code == 400, listed.text
    native = org.get("/api/swap-requests", params={"starting_after": "0001-01-01T00:00:00+01:00"})
    assert native.status_code == 400, native.text
