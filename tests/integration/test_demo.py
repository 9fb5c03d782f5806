"""The demo org: seeding is idempotent, its routing keys resolve, spec 003's quick start works over
HTTP with the demo key, Payment API has one integration of every inbound type whose printed URLs
are the ones the API shows, and its schedule answers "who is on call". The slug ``demo`` is global,
so every test tolerates it existing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.cli.demo import integration_urls, quickstart
from tocsin.db.session import Database
from tocsin.domain.scopes import SCOPES
from tocsin.services.access import keys
from tocsin.services.catalog import services as catalog
from tocsin.services.demo.seed import DemoResult, demo_admin_key, seed_demo
from tocsin.services.escalation import policies as escalation_policies
from tocsin.services.people import contacts, teams, users
from tocsin.services.schedules import overrides as schedule_overrides
from tocsin.services.schedules import schedules

NEW_YORK = ZoneInfo("America/New_York")


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
            "integrations": sum(
                len(service.integrations)
                for service in catalog.list_services(
                    session=session, tenant=tenant, limit=100, offset=0
                ).items
            ),
            "keys": keys.list_keys(session=session, tenant=tenant, limit=1, offset=0).total,
            "schedules": schedules.list_schedules(session=session, tenant=tenant, limit=1, offset=0).total,
            "policies": escalation_policies.list_policies(
                session=session, tenant=tenant, limit=1, offset=0
            ).total,
            "contact_methods": sum(
                contacts.list_contact_methods(
                    session=session, tenant=tenant, user_id=u, limit=1, offset=0
                ).total
                for u in result.user_ids.values()
            ),
            "overrides": schedule_overrides.list_overrides(
                session=session, tenant=tenant, schedule_id=result.schedule_id, limit=1, offset=0
            ).total,
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
        schedule_id=first.schedule_id,
        policy_id=first.policy_id,
        created=[],
    )
    assert _counts(database, second) == before
    assert before["users"] == 3
    assert before["teams"] == 1
    assert before["members"] == 3
    assert before["services"] == 2
    assert before["integrations"] == 9  # payment-api, checkout-web, and seven foreign formats
    assert before["schedules"] == 1
    assert before["overrides"] == 1
    assert before["policies"] == 1
    assert before["contact_methods"] == 3


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


def _demo_org(database: Database, app_client: TestClient) -> tuple[DemoResult, OrgHandle]:
    result = _seed(database)
    with database.write() as session:
        secret, _ = demo_admin_key(session=session, org_id=result.org_id, now=_now())
    return result, OrgHandle(database, app_client, result.org_id, "demo", True, secret)


def _on_call(org: OrgHandle, schedule_id: str, at: datetime | None = None) -> list[dict[str, Any]]:
    params = {} if at is None else {"at": at.isoformat()}
    response = org.get(f"/api/schedules/{schedule_id}/on-call", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=NEW_YORK)


def test_demo_schedule_shape(database: Database, app_client: TestClient) -> None:
    result, org = _demo_org(database, app_client)
    response = org.get(f"/api/schedules/{result.schedule_id}")
    assert response.status_code == 200, response.text
    schedule = response.json()["data"]
    assert (schedule["name"], schedule["time_zone"]) == ("Payment API primary", "America/New_York")
    assert schedule["team_id"] == result.team_id
    weekly, business = schedule["layers"]
    alice, bob, carol = (result.user_ids[f"{n}@demo.tocsin.dev"] for n in ("alice", "bob", "carol"))
    assert ([u["id"] for u in weekly["users"]], weekly["rotation_unit"], weekly["rotation_length"]) == (
        [alice, bob, carol],
        "weeks",
        1,
    )
    start = datetime.fromisoformat(weekly["start"]).astimezone(NEW_YORK)
    assert (start.weekday(), start.time()) == (0, time(9))
    assert start < _now()
    assert business["name"] == "Weekday business hours"
    assert ([u["id"] for u in business["users"]], business["rotation_unit"]) == ([carol, bob], "days")
    assert [(r["start_day"], r["start"], r["end_day"], r["end"]) for r in business["restrictions"]] == [
        (day, "09:00", day, "17:00") for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    ]


def test_demo_schedule_on_call_over_http(database: Database, app_client: TestClient) -> None:
    result, org = _demo_org(database, app_client)
    names = {"alice@demo.tocsin.dev", "bob@demo.tocsin.dev", "carol@demo.tocsin.dev"}

    # Get Current On-Call: the weekly layer covers every instant, so someone always answers.
    [now_on_call] = _on_call(org, result.schedule_id)
    assert now_on_call["user"]["email"] in names
    assert now_on_call["user"]["id"] == result.user_ids[now_on_call["user"]["email"]]
    assert now_on_call["start"] <= _now().isoformat().replace("+00:00", "Z") < now_on_call["end"]

    # Saturday noon: only the weekly rotation; Wednesday 10:00: the business-hours layer wins.
    today = _now().astimezone(NEW_YORK).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)
    [weekend] = _on_call(org, result.schedule_id, _local(saturday, 12))
    assert weekend["layer"]["name"] == "Weekly rotation"
    assert weekend["override"] is None
    [weekday] = _on_call(org, result.schedule_id, _local(saturday + timedelta(days=4), 10))
    assert weekday["layer"]["name"] == "Weekday business hours"
    assert weekday["user"]["email"] in {"bob@demo.tocsin.dev", "carol@demo.tocsin.dev"}
    assert weekday["start"] == _local(saturday + timedelta(days=4), 9).astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )

    # The override: Bob, whoever the layers say.
    with database.read() as session:
        [override] = schedule_overrides.list_overrides(
            session=session, tenant=result.tenant, schedule_id=result.schedule_id, limit=10, offset=0
        ).items
    assert override.user_id == result.user_ids["bob@demo.tocsin.dev"]
    assert override.end - override.start == timedelta(hours=4)
    [covered] = _on_call(org, result.schedule_id, override.start + timedelta(hours=1))
    assert covered["user"]["email"] == "bob@demo.tocsin.dev"
    assert covered["override"] == {"id": override.id}
    assert covered["layer"] is None

    # /api/oncalls lists the demo schedule too.
    response = org.get("/api/oncalls", params={"schedule_id": result.schedule_id})
    assert response.status_code == 200, response.text
    [listed] = response.json()["data"]
    assert listed["schedule"] == {"id": result.schedule_id, "name": "Payment API primary"}
    assert listed["user"] == now_on_call["user"]


def test_demo_paging_setup(database: Database, app_client: TestClient) -> None:
    result, org = _demo_org(database, app_client)
    policy = org.get(f"/api/escalation-policies/{result.policy_id}").json()["data"]
    assert (policy["name"], policy["repeat_count"]) == ("Payment API escalation", 2)
    first, second = policy["rules"]
    assert [(t["type"], t["id"]) for t in first["targets"]] == [("schedule", result.schedule_id)]
    assert second["delay_minutes"] == 5
    assert [(t["type"], t["id"]) for t in second["targets"]] == [
        ("user", result.user_ids["alice@demo.tocsin.dev"])
    ]
    for service_id in result.service_ids.values():  # every demo service pages someone
        service = org.get(f"/api/services/{service_id}").json()["data"]
        assert service["escalation_policy_id"] == result.policy_id
    for email, user_id in result.user_ids.items():
        [method] = org.get(f"/api/users/{user_id}/contact-methods").json()["data"]
        assert (method["type"], method["address"]) == ("email", email)
        # Verified (their account address), so the demo keeps paging them.
        assert method["verified"] is True
        rules = org.get(f"/api/users/{user_id}/notification-rules").json()["data"]
        assert sorted((r["urgency"], r["delay_minutes"]) for r in rules) == [("high", 0), ("low", 0)]


ALL_TYPES = {
    "events_api_v2",
    "pagerduty",
    "alertmanager",
    "grafana_alerting",
    "webhook",
    "formatted_webhook",
    "opsgenie",
    "victorops",
}


def test_payment_api_has_one_integration_of_each_type(database: Database, app_client: TestClient) -> None:
    result, org = _demo_org(database, app_client)
    response = org.get(f"/api/services/{result.service_ids['payment-api']}/integrations")
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    assert sorted(i["type"] for i in listed) == sorted(ALL_TYPES)
    by_key = {i["routing_key"]: i for i in listed}
    assert by_key["payment-api"]["type"] == "events_api_v2"  # spec 003's key is unchanged
    assert by_key["payment-api-alertmanager"]["url"] == (
        "http://127.0.0.1:8080/integrations/v1/alertmanager/payment-api-alertmanager/"
    )
    assert all(i["url"] and i["config_snippet"] for i in listed)
    with database.read() as session:
        for key, integration in by_key.items():
            route = catalog.find_route(session=session, routing_key=key)
            assert route is not None
            assert (route.service_id, route.integration_type) == (
                result.service_ids["payment-api"],
                integration["type"],
            )

    # What the quick start prints is what the API shows, type by type.
    printed = integration_urls("http://127.0.0.1:8080")
    assert {(row["type"], row["routing_key"], row["url"]) for row in printed} == {
        (i["type"], i["routing_key"], i["url"]) for i in listed
    }


def test_seeding_again_keeps_edited_integrations(database: Database, app_client: TestClient) -> None:
    result, org = _demo_org(database, app_client)
    base = f"/api/services/{result.service_ids['payment-api']}/integrations"
    webhook = next(i for i in org.get(base).json()["data"] if i["routing_key"] == "payment-api-webhook")
    config = {"title_template": "{{ payload.title }}"}
    response = org.patch(f"{base}/{webhook['id']}", json={"config": config})
    assert response.status_code == 200, response.text
    assert _seed(database).created == []
    assert org.get(f"{base}/{webhook['id']}").json()["data"]["config"] == config
    # A deleted one comes back; the rest are left as they are.
    assert org.delete(f"{base}/{webhook['id']}").status_code == 204
    assert _seed(database).created == ["integration payment-api-webhook"]
    assert sorted(i["type"] for i in org.get(base).json()["data"]) == sorted(ALL_TYPES)


def test_quickstart_lists_every_inbound_url() -> None:
    text = quickstart("https://tocsin.example.com", "sk_live_demo", "sch_1", "svc_1", "0a1b2c3d4e5f")
    assert "http://127.0.0.1:8080" not in text
    assert 'curl https://tocsin.example.com/api/v1/alert_groups/ -H "Authorization: sk_live_demo"' in text
    assert '-H "X-VO-Api-Id: 0a1b2c3d4e5f" -H "X-VO-Api-Key: sk_live_demo"' in text
    for row in integration_urls("https://tocsin.example.com"):
        assert row["url"] in text
    for line in (
        "https://tocsin.example.com/v2/enqueue  (routing_key payment-api)",
        "https://tocsin.example.com/v2/enqueue  (routing_key payment-api-pagerduty)",
        "https://tocsin.example.com/generic/2010-04-15/create_event.json",
        "https://tocsin.example.com/integrations/v1/alertmanager/payment-api-alertmanager/",
        "https://tocsin.example.com/integrations/v1/grafana_alerting/payment-api-grafana/",
        "https://tocsin.example.com/integrations/v1/webhook/payment-api-webhook/",
        "https://tocsin.example.com/integrations/v1/formatted_webhook/payment-api-formatted-webhook/",
        "https://tocsin.example.com/v2/alerts  (Authorization: GenieKey payment-api-opsgenie)",
        "https://tocsin.example.com/integrations/generic/20131114/alert/payment-api-victorops/default",
        "curl https://tocsin.example.com/api/services/svc_1/integrations",
    ):
        assert line in text
