"""The demo org: seeding is idempotent, its routing keys resolve, and spec 003's quick start works
over HTTP with the demo key. The slug ``demo`` is global, so every test tolerates it existing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.db.session import Database
from tocsin.domain.scopes import SCOPES
from tocsin.services import catalog, keys, teams, users
from tocsin.services.demo import DemoResult, demo_admin_key, seed_demo


def _now() -> datetime:
    return datetime.now(UTC)


def _seed(database: Database) -> DemoResult:
    with database.write() as session:
        return seed_demo(session=session, now=_now())


def _counts(database: Database, result: DemoResult) -> dict[str, int]:
    with database.read() as session:
        tenant = result.tenant
        team = teams.get_team(session=session, tenant=tenant, team_id=result.team_id)
        return {
            "users": users.list_users(session=session, tenant=tenant, limit=1, offset=0).total,
            "teams": teams.list_teams(session=session, tenant=tenant, limit=1, offset=0).total,
            "members": len(team.members),
            "services": catalog.list_services(session=session, tenant=tenant, limit=1, offset=0).total,
            "keys": keys.list_keys(session=session, tenant=tenant, limit=1, offset=0).total,
        }


def test_seeding_twice_creates_nothing_new(database: Database) -> None:
    first = _seed(database)
    before = _counts(database, first)
    second = _seed(database)
    assert second.created == []
    assert second == DemoResult(
        org_id=first.org_id,
        org_slug="demo",
        user_ids=first.user_ids,
        team_id=first.team_id,
        service_ids=first.service_ids,
        created=[],
    )
    assert _counts(database, second) == before
    assert before["users"] == 3
    assert before["teams"] == 1
    assert before["members"] == 3
    assert before["services"] == 2


def test_demo_people_and_team(database: Database) -> None:
    result = _seed(database)
    with database.read() as session:
        people = users.list_users(session=session, tenant=result.tenant, limit=10, offset=0).items
        assert {(u.name, u.email, u.time_zone) for u in people} == {
            ("Alice Smith", "alice@demo.tocsin.dev", "America/New_York"),
            ("Bob Jones", "bob@demo.tocsin.dev", "Europe/Berlin"),
            ("Carol White", "carol@demo.tocsin.dev", "Asia/Kolkata"),
        }
        assert {u.email: u.role for u in people}["alice@demo.tocsin.dev"] == "admin"
        team = teams.get_team(session=session, tenant=result.tenant, team_id=result.team_id)
        assert team.name == "Payments"
        roles = {member.user_id: member.role for member in team.members}
        assert roles[result.user_ids["alice@demo.tocsin.dev"]] == "manager"
        assert set(roles) == set(result.user_ids.values())


def test_quickstart_routing_keys_resolve_to_the_demo_services(database: Database) -> None:
    result = _seed(database)
    with database.read() as session:
        for routing_key, name in (("payment-api", "Payment API"), ("checkout-web", "Checkout Web")):
            route = catalog.find_route(session=session, routing_key=routing_key)
            assert route is not None
            assert route.org_id == result.org_id
            assert route.livemode is True
            assert route.service_name == name
            assert route.service_id == result.service_ids[routing_key]
            service = catalog.get_service(session=session, tenant=result.tenant, service_id=route.service_id)
            assert service.team_id == result.team_id


def test_demo_key_is_reused_while_it_works(database: Database, orgs: OrgFactory) -> None:
    result = _seed(database)
    other = orgs.new()
    with database.write() as session:
        secret, minted = demo_admin_key(session=session, org_id=result.org_id, now=_now())
        assert minted
        again, minted = demo_admin_key(session=session, org_id=result.org_id, now=_now(), previous=secret)
        assert (again, minted) == (secret, False)
        record = keys.authenticate(session=session, secret=secret)
        assert record is not None
        assert record.scopes == frozenset(SCOPES)
        assert record.name == "demo admin"
        # A key of another org, or one that no longer authenticates, is replaced.
        replaced, minted = demo_admin_key(
            session=session, org_id=result.org_id, now=_now(), previous=other.key
        )
        assert minted and replaced not in (secret, other.key)
        keys.revoke_key(session=session, tenant=result.tenant, key_id=record.id, now=_now())
        _, minted = demo_admin_key(session=session, org_id=result.org_id, now=_now(), previous=secret)
        assert minted


def _event(action: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": "payment-api",
        "event_action": action,
        "dedup_key": "high-cpu-web01",
    }
    if action == "trigger":
        body["payload"] = {"summary": "High CPU on web-01", "severity": "critical", "source": "datadog"}
    return body


def _with_dedup(org: OrgHandle, status: str) -> list[dict[str, Any]]:
    response = org.get("/api/incidents", params={"status": status, "limit": 100})
    assert response.status_code == 200, response.text
    return [i for i in response.json()["data"] if i["dedup_key"] == "high-cpu-web01"]


def test_spec_003_quickstart_over_http(database: Database, app_client: TestClient) -> None:
    result = _seed(database)
    with database.write() as session:
        secret, _ = demo_admin_key(session=session, org_id=result.org_id, now=_now())
    org = OrgHandle(database, app_client, result.org_id, "demo", True, secret)
    # Start clean even if an earlier run left the quick-start incident open.
    assert org.post("/api/events", json=_event("resolve")).status_code == 202

    # Trigger an Incident
    response = org.post("/api/events", json=_event("trigger"))
    assert response.status_code == 202, response.text
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "high-cpu-web01",
    }

    # List Open Incidents
    [incident] = _with_dedup(org, "OPEN")
    assert incident["title"] == "High CPU on web-01"
    assert incident["urgency"] == "HIGH"
    assert incident["service_id"] == result.service_ids["payment-api"]
    assert incident["team_id"] == result.team_id

    # Acknowledge an Incident
    response = org.post("/api/events", json=_event("acknowledge"))
    assert response.status_code == 202, response.text
    assert _with_dedup(org, "OPEN") == []
    [acknowledged] = _with_dedup(org, "ACKNOWLEDGED")
    assert acknowledged["id"] == incident["id"]

    assert org.post("/api/events", json=_event("resolve")).status_code == 202
    assert _with_dedup(org, "OPEN,ACKNOWLEDGED") == []
    assert app_client.get("/docs").status_code == 200
