"""Grafana OnCall ``users``, ``teams``, ``organizations`` and ``personal_notification_rules``."""

from __future__ import annotations

from tests.factories.orgs import OrgFactory
from tests.integration.compat.grafana_oncall.conftest import Grafana

USER_FIELDS = [
    "id",
    "grafana_id",
    "email",
    "slack",
    "username",
    "role",
    "is_phone_number_verified",
    "timezone",
    "teams",
]


def test_users_in_grafana_words(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice", email=f"alice-{org.slug}@example.com", role="admin")
    bob = org.make_user("Bob", email=f"bob-{org.slug}@example.com")
    carol = org.make_user("Carol", email=f"carol-{org.slug}@example.com", role="observer")
    team = org.make_team("Payments", member_ids=(bob,))
    grafana = Grafana(org)

    listed = grafana.get("/users").json()
    assert listed["page_size"] == 100
    assert [user["id"] for user in listed["results"]] == [alice, bob, carol]  # oldest first
    bob_row = listed["results"][1]
    assert list(bob_row) == USER_FIELDS
    assert bob_row == {
        "id": bob,
        "grafana_id": None,
        "email": f"bob-{org.slug}@example.com",
        "slack": None,
        "username": f"bob-{org.slug}",
        "role": "editor",
        "is_phone_number_verified": False,
        "timezone": "UTC",
        "teams": [team],
    }
    assert [user["role"] for user in listed["results"]] == ["admin", "editor", "viewer"]
    assert grafana.get(f"/users/{bob}").json() == bob_row

    def ids(*params: tuple[str, str]) -> list[str]:
        response = grafana.get("/users", params=list(params))
        assert response.status_code == 200, response.text
        return [user["id"] for user in response.json()["results"]]

    assert ids(("email", f"ALICE-{org.slug}@example.com")) == [alice]
    assert ids(("username", f"Carol-{org.slug}")) == [carol]
    assert ids(("roles", "0"), ("roles", "2")) == [alice, carol]
    assert ids(("roles", "editor")) == [bob]
    assert ids(("roles", "3")) == []
    bad = grafana.get("/users", params={"roles": "7"})
    assert (bad.status_code, bad.json()) == (
        400,
        {"roles": ["Select a valid choice. 7 is not one of the available choices."]},
    )
    short = grafana.get("/users", params={"short": "true"}).json()["results"][0]
    assert list(short) == ["id", "grafana_id", "email", "username", "role", "is_phone_number_verified"]


def test_current_user_and_schedule_export(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice")
    as_alice = Grafana(org, org.make_key(["users:read", "schedules:read"], user_id=alice))
    assert as_alice.get("/users/current").json()["id"] == alice
    assert Grafana(org).get("/users/current").status_code == 404  # a service key is nobody

    exported = as_alice.get("/users/current/schedule_export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/calendar")
    assert exported.text.startswith("BEGIN:VCALENDAR")
    assert Grafana(org).get("/users/usr_missing/schedule_export").status_code == 404


def test_teams(orgs: OrgFactory) -> None:
    org = orgs.new()
    payments = org.make_team("Payments")
    search = org.make_team("Search")
    grafana = Grafana(org)
    listed = grafana.get("/teams").json()
    assert [team["id"] for team in listed["results"]] == [payments, search]
    assert listed["results"][0] == {
        "id": payments,
        "grafana_id": None,
        "name": "Payments",
        "email": None,
        "avatar_url": "",
    }
    assert [team["id"] for team in grafana.get("/teams", params={"name": "Search"}).json()["results"]] == [
        search
    ]
    assert grafana.get(f"/teams/{search}").json()["name"] == "Search"


def test_organizations(orgs: OrgFactory) -> None:
    org = orgs.new()
    grafana = Grafana(org)
    listed = grafana.get("/organizations").json()
    assert (listed["results"], listed["page_size"]) == ([{"id": org.org_id}], 25)
    assert grafana.get(f"/organizations/{org.org_id}").json() == {"id": org.org_id}
    assert grafana.get("/organizations/org_other").status_code == 404


def test_personal_rules_are_steps_with_derived_waits(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice")
    method = org.post(f"/api/users/{alice}/contact-methods", json={"type": "sms", "address": "+14155550123"})
    sms = method.json()["data"]["id"]
    email = org.post(
        f"/api/users/{alice}/contact-methods", json={"type": "email", "address": "alice@example.com"}
    ).json()["data"]["id"]
    for contact, delay, urgency in ((email, 0, "high"), (sms, 5, "high"), (email, 0, "low")):
        created = org.post(
            f"/api/users/{alice}/notification-rules",
            json={"contact_method_id": contact, "delay_minutes": delay, "urgency": urgency},
        )
        assert created.status_code == 201, created.text
    as_alice = Grafana(org, org.make_key(["users:read"], user_id=alice))

    steps = as_alice.get("/personal_notification_rules", params={"user_id": alice}).json()["results"]
    assert [(s["position"], s["type"], s["important"], s.get("duration")) for s in steps] == [
        (0, "notify_by_email", False, None),
        (0, "notify_by_email", True, None),
        (1, "wait", True, 300),
        (2, "notify_by_sms", True, None),
    ]
    assert list(steps[2]) == ["position", "id", "user_id", "type", "duration", "important"]
    assert list(steps[3]) == ["position", "id", "user_id", "type", "important"]
    wait = steps[2]
    assert wait["id"].startswith("nrw_")
    assert as_alice.get(f"/personal_notification_rules/{wait['id']}").json() == wait
    important = as_alice.get("/personal_notification_rules", params={"important": "true"}).json()
    assert important["count"] == 3
    bad = as_alice.get("/personal_notification_rules", params={"important": "maybe"})
    assert (bad.status_code, bad.json()) == (400, {"detail": "Important is not bool"})
    unknown = as_alice.get("/personal_notification_rules", params={"user_id": "usr_missing"})
    assert (unknown.status_code, unknown.json()) == (400, {"detail": "User not found."})


def test_personal_rules_create_update_delete(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.make_user("Alice")
    bob = org.make_user("Bob")
    as_alice = Grafana(org, org.make_key(["incidents:write"], user_id=alice))  # no users scope

    created = as_alice.post(
        "/personal_notification_rules", json={"user_id": alice, "type": "notify_by_email", "important": True}
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["position"], rule["type"], rule["important"], rule["user_id"]) == (
        0,
        "notify_by_email",
        True,
        alice,
    )
    no_push = as_alice.post(
        "/personal_notification_rules", json={"user_id": alice, "type": "notify_by_mobile_app"}
    )
    assert no_push.status_code == 400 and "contact method" in no_push.json()["type"][0]

    for body, error in (
        ({"type": "notify_by_email"}, {"user_id": ["This field is required."]}),
        ({"user_id": alice}, {"type": ["Type is required"]}),
        ({"user_id": alice, "type": "notify_by_pigeon"}, {"type": ["Invalid type"]}),
        (
            {"user_id": alice, "type": "notify_by_email", "duration": 60},
            {"duration": ["Duration can't be set"]},
        ),
        (
            {"user_id": alice, "type": "notify_by_email", "important": "sure"},
            {"important": ["Must be a valid boolean."]},
        ),
    ):
        response = as_alice.post("/personal_notification_rules", json=body)
        assert (response.status_code, response.json()) == (400, error), body
    wait = as_alice.post(
        "/personal_notification_rules", json={"user_id": alice, "type": "wait", "duration": 300}
    )
    assert wait.status_code == 400 and "wait" in wait.json()["type"][0]
    someone_else = as_alice.post(
        "/personal_notification_rules", json={"user_id": bob, "type": "notify_by_email"}
    )
    assert someone_else.status_code == 403

    method = org.post(f"/api/users/{alice}/contact-methods", json={"type": "sms", "address": "+14155550123"})
    assert method.status_code == 201
    changed = as_alice.put(f"/personal_notification_rules/{rule['id']}", json={"type": "notify_by_sms"})
    assert changed.json()["type"] == "notify_by_sms"
    duplicate = as_alice.post(
        "/personal_notification_rules", json={"user_id": alice, "type": "notify_by_sms", "important": True}
    )
    assert duplicate.status_code == 400 and "detail" in duplicate.json()

    assert as_alice.delete(f"/personal_notification_rules/{rule['id']}").status_code == 204
    assert as_alice.get(f"/personal_notification_rules/{rule['id']}").status_code == 404
    assert as_alice.get("/personal_notification_rules").json()["count"] == 0


def test_personal_rules_need_a_users_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    response = Grafana(org).get("/personal_notification_rules")
    assert (response.status_code, response.json()) == (403, {"detail": "Invalid token."})


def test_another_users_rules_need_the_users_scope(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice, bob = org.make_user("Alice"), org.make_user("Bob")
    as_bob = Grafana(org, org.make_key(["users:write"], user_id=bob))
    rule = as_bob.post(
        "/personal_notification_rules", json={"user_id": alice, "type": "notify_by_email"}
    ).json()
    as_alice = Grafana(org, org.make_key(["incidents:read"], user_id=alice))
    assert as_alice.get(f"/personal_notification_rules/{rule['id']}").json() == rule
    as_carol = Grafana(org, org.make_key(["incidents:write"], user_id=org.make_user("Carol")))
    assert as_carol.get(f"/personal_notification_rules/{rule['id']}").status_code == 404
    assert as_carol.get("/personal_notification_rules").json()["count"] == 0
    assert as_carol.delete(f"/personal_notification_rules/{rule['id']}").status_code == 404
