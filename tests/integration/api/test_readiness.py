"""Readiness over HTTP: each finding kind is flagged in an org built to have it and absent from a
healthy one; a schedule's gap on day 5 shows with its exact window; the service, policy and
schedule views hold only their own findings; unknown and other orgs' ids are 404.

The app here runs on a fixed clock (so the 7-day window is exact) with SMTP configured and Twilio
not, which is what "configured" means to readiness (``Settings.channel_types``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.factories.errors import expect_error
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.session import Database
from tocsin.services.demo.seed import seed_demo
from tocsin.services.readiness.check import check_tenant

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


def z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def client(db_url: str, database: Database) -> Iterator[TestClient]:
    settings = settings_for(db_url, smtp_host="127.0.0.1")
    app = create_app(settings, database=database, clock=FakeClock(T0))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def factory(database: Database, client: TestClient) -> OrgFactory:
    return OrgFactory(database, client)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def reachable(org: OrgHandle, name: str, urgencies: tuple[str, ...] = ("high", "low")) -> str:
    """A user with an email contact method and a rule for each of ``urgencies``."""
    user = org.make_user(name)
    email = ok(org.get(f"/api/users/{user}"))["email"]
    method = ok(org.post(f"/api/users/{user}/contact-methods", json={"type": "email", "address": email}), 201)
    for urgency in urgencies:
        body = {"contact_method_id": method["id"], "urgency": urgency, "delay_minutes": 0}
        ok(org.post(f"/api/users/{user}/notification-rules", json=body), 201)
    return user


def schedule(org: OrgHandle, users: list[str], name: str = "Primary", **layer: Any) -> str:
    spec = {"users": users, "rotation_unit": "days", "rotation_length": 1, "start": z(T0 - 3 * DAY)}
    spec.update(layer)
    body = {"name": name, "time_zone": "UTC", "layers": [spec]}
    return str(ok(org.post("/api/schedules", json=body), 201)["id"])


def policy(org: OrgHandle, *levels: list[dict[str, str]], name: str = "Payments") -> str:
    rules = [{"delay_minutes": 5 * i, "targets": targets} for i, targets in enumerate(levels)]
    return str(ok(org.post("/api/escalation-policies", json={"name": name, "rules": rules}), 201)["id"])


def service(org: OrgHandle, name: str, policy_id: str | None) -> str:
    body: dict[str, Any] = {"name": name}
    if policy_id is not None:
        body["escalation_policy_id"] = policy_id
    return str(ok(org.post("/api/services", json=body), 201)["id"])


def healthy(org: OrgHandle) -> dict[str, str]:
    """Two reachable people in a round-the-clock rotation, paged by a service's policy."""
    alice, bob = reachable(org, "Alice Smith"), reachable(org, "Bob Jones")
    sched = schedule(org, [alice, bob])
    pol = policy(org, [{"type": "schedule", "id": sched}])
    return {
        "alice": alice,
        "bob": bob,
        "schedule": sched,
        "policy": pol,
        "service": service(org, "Payments", pol),
    }


def readiness(org: OrgHandle, path: str = "/api/readiness") -> dict[str, Any]:
    return dict(ok(org.get(path)))


def kinds(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["severity"], f["kind"], f["object"]["name"]) for f in report["findings"]]


def test_a_healthy_org_is_ready_with_nothing_to_say(factory: OrgFactory) -> None:
    org = factory.new()
    healthy(org)
    report = readiness(org)
    assert report["ready"] is True
    assert report["findings"] == []
    assert report["summary"] == {"errors": 0, "warnings": 0}
    assert report["checked_at"] == z(T0)
    assert report["window"] == {"start": z(T0), "end": z(T0 + 7 * DAY)}


def test_the_demo_org_is_ready(database: Database, client: TestClient) -> None:
    with database.write() as session:
        demo = seed_demo(session=session, now=T0)
    with database.read() as session:
        report = check_tenant(
            session=session,
            tenant=demo.tenant,
            now=T0,
            configured={"email", "push", "slack", "teams", "webhook"},
        )
    assert [(f.kind, f.message) for f in report.findings] == []
    assert report.ready


def test_a_service_without_a_policy_is_an_error(factory: OrgFactory) -> None:
    org = factory.new()
    healthy(org)
    orphan = service(org, "Checkout", None)
    report = readiness(org)
    assert report["ready"] is False
    assert kinds(report) == [("error", "service_without_policy", "Checkout")]
    [finding] = report["findings"]
    assert finding["object"] == {"type": "service", "id": orphan, "name": "Checkout"}
    assert finding["message"] == "'Checkout' has no escalation policy: its incidents page nobody"
    assert finding["window"] is None and finding["level"] is None
    assert report["summary"] == {"errors": 1, "warnings": 0}


def test_a_gap_on_day_five_is_an_error_with_its_window(factory: OrgFactory) -> None:
    org = factory.new()
    alice, bob = reachable(org, "Alice Smith"), reachable(org, "Bob Jones")
    gap_start, gap_end = T0 + 4 * DAY + timedelta(hours=2), T0 + 4 * DAY + timedelta(hours=8)
    sched = schedule(org, [alice], end=z(gap_start))
    body = {
        "layers": [
            {
                "users": [alice],
                "rotation_unit": "days",
                "rotation_length": 1,
                "start": z(T0 - 3 * DAY),
                "end": z(gap_start),
            },
            {"users": [bob], "rotation_unit": "days", "rotation_length": 1, "start": z(gap_end)},
        ]
    }
    ok(org.patch(f"/api/schedules/{sched}", json=body))
    pol = policy(org, [{"type": "schedule", "id": sched}])
    svc = service(org, "Payments", pol)
    report = readiness(org)
    assert kinds(report) == [("error", "coverage_gap", "Payments")]
    [gap] = report["findings"]
    assert gap["object"] == {"type": "escalation_policy", "id": pol, "name": "Payments"}
    assert gap["level"] == 1
    assert gap["window"] == {"start": z(gap_start), "end": z(gap_end)}
    assert gap["message"] == (
        "Level 1 of 'Payments' reaches nobody from Fri 11 Dec 02:00 to Fri 11 Dec 08:00 UTC: "
        "schedule 'Primary' has a gap, and no other level reaches anyone then"
    )
    assert {"type": "service", "id": svc, "name": "Payments"} in gap["related"]
    assert {"type": "schedule", "id": sched, "name": "Primary"} in gap["related"]

    # A second level that reaches someone then turns the hole into a late page: a warning.
    ok(
        org.patch(
            f"/api/escalation-policies/{pol}",
            json={
                "rules": [
                    {"delay_minutes": 0, "targets": [{"type": "schedule", "id": sched}]},
                    {"delay_minutes": 10, "targets": [{"type": "user", "id": bob}]},
                ]
            },
        )
    )
    report = readiness(org)
    assert report["ready"] is True
    assert kinds(report) == [("warning", "coverage_gap", "Payments")]
    assert report["findings"][0]["message"].endswith("(another level reaches someone then)")


def test_a_level_that_reaches_nobody_at_all(factory: OrgFactory) -> None:
    org = factory.new()
    ids = healthy(org)
    empty_team = org.make_team("Nobody home")
    lonely = policy(org, [{"type": "team", "id": empty_team}], name="Lonely")
    service(org, "Reports", lonely)
    report = readiness(org)
    assert kinds(report) == [("error", "level_without_responders", "Lonely")]
    assert report["findings"][0]["message"] == (
        "Level 1 of 'Lonely' reaches nobody in the next 7 days: team 'Nobody home' has no members"
    )
    assert report["findings"][0]["window"] == {"start": z(T0), "end": z(T0 + 7 * DAY)}

    # Behind a level that reaches someone, the empty level only delays nobody: a warning.
    ok(
        org.patch(
            f"/api/escalation-policies/{lonely}",
            json={
                "rules": [
                    {"delay_minutes": 0, "targets": [{"type": "team", "id": empty_team}]},
                    {"delay_minutes": 5, "targets": [{"type": "schedule", "id": ids["schedule"]}]},
                ]
            },
        )
    )
    assert kinds(readiness(org)) == [("warning", "level_without_responders", "Lonely")]


def test_a_policy_that_only_waits_pages_nobody(factory: OrgFactory) -> None:
    org = factory.new()
    healthy(org)
    body = {"name": "Idle", "rules": [{"kind": "wait", "delay_minutes": 5}]}
    idle = ok(org.post("/api/escalation-policies", json=body), 201)["id"]
    service(org, "Batch", idle)
    assert kinds(readiness(org)) == [("error", "policy_without_levels", "Idle")]


def test_people_without_contacts_or_rules(factory: OrgFactory) -> None:
    org = factory.new()
    bare = org.make_user("Dana Lee")
    partial = reachable(org, "Erik Berg", urgencies=("high",))
    sched = schedule(org, [bare, partial])
    service(org, "Payments", policy(org, [{"type": "schedule", "id": sched}]))
    report = readiness(org)
    assert kinds(report) == [
        ("warning", "user_without_contact", "Dana Lee"),
        ("warning", "user_without_rule", "Erik Berg"),
    ]
    dana, erik = report["findings"]
    dana_email = ok(org.get(f"/api/users/{bare}"))["email"]
    assert dana["message"] == f"Dana Lee has no contact method: pages fall back to one email to {dana_email}"
    assert dana["object"] == {"type": "user", "id": bare, "name": "Dana Lee"}
    assert {"type": "schedule", "id": sched, "name": "Primary"} in dana["related"]
    assert "no notification rule for low-urgency incidents" in erik["message"]


def test_a_channel_the_server_cannot_send_on(factory: OrgFactory) -> None:
    org = factory.new()
    ok(org.patch("/api/org", json={"page_unverified_contacts": True}))  # verification is not the point
    ids = healthy(org)
    carol = org.make_user("Carol White")
    sms = ok(
        org.post(f"/api/users/{carol}/contact-methods", json={"type": "sms", "address": "+15555550100"}), 201
    )
    for urgency in ("high", "low"):
        body = {"contact_method_id": sms["id"], "urgency": urgency, "delay_minutes": 0}
        ok(org.post(f"/api/users/{carol}/notification-rules", json=body), 201)
    ok(
        org.patch(
            f"/api/escalation-policies/{ids['policy']}",
            json={
                "rules": [
                    {
                        "delay_minutes": 0,
                        "targets": [
                            {"type": "schedule", "id": ids["schedule"]},
                            {"type": "user", "id": carol},
                        ],
                    }
                ]
            },
        )
    )
    report = readiness(org)
    assert kinds(report) == [("error", "channel_not_configured", "Carol White")]
    [finding] = report["findings"]
    assert "SMS is not configured on this server (set TOCSIN_TWILIO_ACCOUNT_SID" in finding["message"]
    assert {"type": "contact_method", "id": sms["id"], "name": "+15555550100"} in finding["related"]
    assert {"type": "escalation_policy", "id": ids["policy"], "name": "Payments"} in finding["related"]

    # In test mode pages go to the sink, which takes every channel.
    test_org = org.test_mode()
    assert readiness(test_org)["findings"] == []


def test_a_rule_through_an_unverified_method_is_flagged_until_verified_or_allowed(
    factory: OrgFactory,
) -> None:
    org = factory.new()
    ids = healthy(org)
    alice = ids["alice"]
    sms = ok(
        org.post(
            f"/api/users/{alice}/contact-methods", json={"type": "email", "address": "pager@example.com"}
        ),
        201,
    )
    assert sms["verified"] is False
    body = {"contact_method_id": sms["id"], "urgency": "high", "delay_minutes": 5}
    ok(org.post(f"/api/users/{alice}/notification-rules", json=body), 201)
    report = readiness(org)
    assert kinds(report) == [("warning", "contact_not_verified", "Alice Smith")]
    [finding] = report["findings"]
    assert finding["message"] == (
        "Alice Smith's email contact pager@example.com is not verified, so its rules do not page it "
        "until Alice Smith enters the code sent to it"
    )
    assert {"type": "contact_method", "id": sms["id"], "name": "pager@example.com"} in finding["related"]
    assert report["ready"] is True  # her verified email still reaches her

    ok(org.patch("/api/org", json={"page_unverified_contacts": True}))
    assert readiness(org)["findings"] == []


def test_maintenance_in_the_window_is_noted(factory: OrgFactory) -> None:
    org = factory.new()
    ids = healthy(org)
    start, end = T0 + DAY, T0 + DAY + timedelta(hours=2)
    window = {"start": z(start), "end": z(end)}
    ok(org.post(f"/api/services/{ids['service']}/maintenance-windows", json=window), 201)
    report = readiness(org)
    assert kinds(report) == [("warning", "service_in_maintenance", "Payments")]
    assert report["findings"][0]["window"] == window
    assert report["ready"] is True


def test_scoped_views_hold_only_their_own_findings(factory: OrgFactory) -> None:
    org = factory.new()
    ids = healthy(org)
    orphan = service(org, "Checkout", None)
    lonely_team = org.make_team("Empty")
    lonely = policy(org, [{"type": "team", "id": lonely_team}], name="Lonely")
    reports = service(org, "Reports", lonely)
    bare = org.make_user("Dana Lee")
    other = schedule(org, [bare], name="Secondary")

    assert kinds(readiness(org, f"/api/services/{ids['service']}/readiness")) == []
    assert kinds(readiness(org, f"/api/services/{orphan}/readiness")) == [
        ("error", "service_without_policy", "Checkout")
    ]
    assert kinds(readiness(org, f"/api/services/{reports}/readiness")) == [
        ("error", "level_without_responders", "Lonely")
    ]
    assert kinds(readiness(org, f"/api/escalation-policies/{lonely}/readiness")) == [
        ("error", "level_without_responders", "Lonely")
    ]
    assert kinds(readiness(org, f"/api/escalation-policies/{ids['policy']}/readiness")) == []
    assert kinds(readiness(org, f"/api/schedules/{other}/readiness")) == [
        ("warning", "user_without_contact", "Dana Lee")
    ]
    assert readiness(org, f"/api/schedules/{ids['schedule']}/readiness")["ready"] is True
    whole = kinds(readiness(org))
    assert sorted(whole) == sorted(
        [
            ("error", "service_without_policy", "Checkout"),
            ("error", "level_without_responders", "Lonely"),
            ("warning", "user_without_contact", "Dana Lee"),
        ]
    )


@pytest.mark.parametrize("kind", ["services", "escalation-policies", "schedules"])
def test_unknown_and_other_orgs_ids_are_not_found(factory: OrgFactory, kind: str) -> None:
    org, other = factory.new(), factory.new()
    ids = healthy(other)
    theirs = {"services": ids["service"], "escalation-policies": ids["policy"], "schedules": ids["schedule"]}[
        kind
    ]
    for ident in (theirs, "nope", "svc_00000000000000000000000000"):
        expect_error(org.get(f"/api/{kind}/{ident}/readiness"), 404, "NOT_FOUND")


def test_the_read_scope_is_required(factory: OrgFactory) -> None:
    org = factory.new()
    ids = healthy(org)
    narrow = org.make_key(["incidents:read"])
    for path in (
        "/api/readiness",
        f"/api/services/{ids['service']}/readiness",
        f"/api/schedules/{ids['schedule']}/readiness",
    ):
        expect_error(org.get(path, key=narrow), 403, "FORBIDDEN")
    assert (
        org.get(
            f"/api/schedules/{ids['schedule']}/readiness", key=org.make_key(["schedules:read"])
        ).status_code
        == 200
    )
    assert org.get("/api/readiness", key=org.make_key(["services:read"])).status_code == 200


def test_without_smtp_a_person_reached_only_by_email_is_an_error(orgs: OrgFactory) -> None:
    """The shared app has no SMTP host: the fallback and email rules cannot be sent."""
    org = orgs.new()
    alice = reachable(org, "Alice Smith")
    bare = org.make_user("Dana Lee")
    sched = schedule(org, [alice, bare])
    service(org, "Payments", policy(org, [{"type": "schedule", "id": sched}]))
    report = dict(ok(org.get("/api/readiness")))
    assert sorted(kinds(report)) == [
        ("error", "channel_not_configured", "Alice Smith"),
        ("error", "user_without_contact", "Dana Lee"),
    ]
    assert all(
        "email is not configured on this server (set TOCSIN_SMTP_HOST)" in f["message"]
        for f in report["findings"]
    )


def test_the_metric_counts_live_findings_across_orgs(db_url: str, database: Database) -> None:
    """Computed at scrape time (here kept 0 s): a new service without a policy adds one error."""
    app = create_app(
        settings_for(db_url, smtp_host="127.0.0.1", readiness_metric_seconds=0),
        database=database,
        clock=FakeClock(T0),
    )
    with TestClient(app, raise_server_exceptions=False) as metrics_client:
        org = OrgFactory(database, metrics_client).new()

        def orphans() -> float:
            response = metrics_client.get("/metrics")
            assert response.status_code == 200
            line = 'tocsin_readiness_findings{kind="service_without_policy",severity="error"} '
            found = [row for row in response.text.splitlines() if row.startswith(line)]
            return float(found[0].removeprefix(line)) if found else 0.0

        before = orphans()
        service(org, "Checkout", None)
        service(org.test_mode(), "Test checkout", None)  # test-mode data pages nobody real: not counted
        assert orphans() == before + 1
