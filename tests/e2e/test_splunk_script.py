"""A script written only against the Splunk On-Call API, run against a live Tocsin server: it
lists incidents, acknowledges one by number as a user, takes on-call for a policy and reads who is
on call now. Set-up uses the native API; the script itself sends only the X-VO headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import settings_for
from tests.e2e.test_cli_oncall import running_server
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.db.session import Database

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(db_url: str, database: Database) -> Iterator[str]:
    with running_server(create_app(settings_for(db_url), database=database)) as url:
        yield url


def _set_up(org: OrgHandle) -> tuple[str, str]:
    """Alice on call now in a daily rotation paged by a policy; a service with a routing key.
    Returns (policy slug, routing key)."""
    alice = org.make_user("Alice Smith", "alice@example.com")
    bob = org.make_user("Bob Jones", "bob@example.com")
    carol = org.make_user("Carol White", "carol@example.com")
    team = org.post(
        "/api/teams", json={"name": "Ops", "members": [{"user_id": u} for u in (alice, bob, carol)]}
    )
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    layer = {
        "name": "Daily",
        "users": [alice, bob],
        "rotation_unit": "days",
        "rotation_length": 1,
        "start": start,
    }
    schedule = org.post("/api/schedules", json={"name": "Ops rota", "time_zone": "UTC", "layers": [layer]})
    policy = org.post(
        "/api/escalation-policies",
        json={
            "name": "Ops EP",
            "team_id": team.json()["data"]["id"],
            "rules": [{"targets": [{"type": "schedule", "id": schedule.json()["data"]["id"]}]}],
        },
    ).json()["data"]
    routing_key = f"ops-{org.slug}"
    service = org.post(
        "/api/services",
        json={
            "name": "Ops API",
            "escalation_policy_id": policy["id"],
            "integrations": [{"routing_key": routing_key}],
        },
    )
    assert service.status_code == 201, service.text
    event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {"summary": "Queue backlog", "severity": "error", "source": "worker-3"},
    }
    assert org.post("/api/events", json=event).status_code == 202
    return policy["id"], routing_key


def splunk_script(base_url: str, api_id: str, api_key: str, policy: str) -> dict[str, Any]:
    """What a team's existing Splunk On-Call tooling does, unchanged but for the host."""
    headers = {"X-VO-Api-Id": api_id, "X-VO-Api-Key": api_key, "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as vo:
        incidents = vo.get("/api-public/v1/incidents").json()["incidents"]
        open_numbers = [i["incidentNumber"] for i in incidents if i["currentPhase"] == "UNACKED"]
        acked = vo.patch(
            "/api-public/v1/incidents/ack",
            json={"userName": "bob", "incidentNames": open_numbers[:1], "message": "looking"},
        ).json()["results"]
        before = vo.get("/api-public/v1/oncall/current").json()
        taken = vo.patch(
            f"/api-public/v1/policies/{policy}/oncall/user", json={"fromUser": "alice", "toUser": "carol"}
        )
        taken.raise_for_status()
        after = vo.get("/api-public/v1/oncall/current").json()
        return {
            "incidents": incidents,
            "acked": acked,
            "before": before,
            "after": after,
            "result": taken.json(),
        }


def _on_call(current: dict[str, Any]) -> list[str]:
    return [
        user["onCallUser"]["username"]
        for team in current["teamsOnCall"]
        for policy in team["onCallNow"]
        for user in policy["users"]
    ]


def test_a_splunk_only_script_runs_against_tocsin(orgs: OrgFactory, server: str) -> None:
    org = orgs.new()
    policy, routing_key = _set_up(org)
    api_id = org.get("/api/org").json()["data"]["api_id"]
    outcome = splunk_script(server, api_id, org.key, policy)
    [incident] = outcome["incidents"]
    assert (incident["entityDisplayName"], incident["routingKey"], incident["host"]) == (
        "Queue backlog",
        routing_key,
        "worker-3",
    )
    [ack] = outcome["acked"]
    assert (ack["incidentNumber"], ack["cmdAccepted"]) == (incident["incidentNumber"], True)
    assert _on_call(outcome["before"]) == ["alice"]
    assert "carol" in outcome["result"]["result"]
    assert _on_call(outcome["after"]) == ["carol"]
    native = org.get(f"/api/incidents/{incident['incidentNumber']}").json()["data"]
    assert native["status"] == "ACKNOWLEDGED"
