"""``GET /api/org`` and the handles every user and team gets: what Splunk On-Call clients need."""

from __future__ import annotations

from tests.factories.orgs import OrgFactory


def test_org_shows_its_api_id_to_any_valid_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    narrow = org.make_key(["incidents:read"], name="dashboard")
    response = org.get("/api/org", key=narrow)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert list(data) == [
        "id",
        "slug",
        "name",
        "api_id",
        "page_unverified_contacts",
        "livemode",
        "created_at",
    ]
    assert data["page_unverified_contacts"] is False
    assert (data["id"], data["slug"], data["livemode"]) == (org.org_id, org.slug, True)
    assert len(data["api_id"]) == 12
    assert org.test_mode().get("/api/org").json()["data"]["api_id"] == data["api_id"]
    other = orgs.new().get("/api/org").json()["data"]
    assert other["api_id"] != data["api_id"]


def test_org_needs_a_key(orgs: OrgFactory) -> None:
    org = orgs.new()
    assert org.get("/api/org", key="sk_live_nope").status_code == 401
    assert org.post("/api/org", json={}).status_code == 405
    assert org.patch("/api/org", json={}, key="sk_live_nope").status_code == 401


def test_users_get_unique_usernames_from_their_email(orgs: OrgFactory) -> None:
    org = orgs.new()
    first = org.post("/api/users", json={"name": "Alice", "email": "alice@a.example"}).json()["data"]
    second = org.post("/api/users", json={"name": "Alice B", "email": "Alice+x@b.example"}).json()["data"]
    assert (first["username"], second["username"]) == ("alice", "alice-2")
    chosen = org.post("/api/users", json={"name": "Bob", "email": "b@x.example", "username": "Bob.Ops"})
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["data"]["username"] == "bob.ops"
    found = org.get("/api/users", params={"username": "ALICE-2"}).json()["data"]
    assert [user["id"] for user in found] == [second["id"]]
    # the same handle in another org is fine
    assert (
        orgs.new()
        .post("/api/users", json={"name": "A", "email": "alice@c.example"})
        .json()["data"]["username"]
        == "alice"
    )


def test_a_taken_or_malformed_username_changes_nothing(orgs: OrgFactory) -> None:
    org = orgs.new()
    alice = org.post("/api/users", json={"name": "Alice", "email": "alice@a.example"}).json()["data"]
    taken = org.post("/api/users", json={"name": "X", "email": "x@a.example", "username": "alice"})
    assert taken.status_code == 409
    assert taken.json()["error"]["details"] == {"field": "username"}
    bad = org.post("/api/users", json={"name": "X", "email": "x@a.example", "username": "no spaces"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["field"] == "username"
    assert org.get("/api/users").json()["pagination"]["total"] == 1
    renamed = org.patch(f"/api/users/{alice['id']}", json={"username": "al"})
    assert renamed.json()["data"]["username"] == "al"


def test_teams_get_unique_slugs(orgs: OrgFactory) -> None:
    org = orgs.new()
    team = org.post("/api/teams", json={"name": "Payments SRE"}).json()["data"]
    assert team["slug"] == "payments-sre"
    other = org.post("/api/teams", json={"name": "Payments: SRE"}).json()["data"]
    assert other["slug"] == "payments-sre-2"
    taken = org.post("/api/teams", json={"name": "Other", "slug": "payments-sre"})
    assert taken.status_code == 409
    renamed = org.patch(f"/api/teams/{other['id']}", json={"slug": "payments-nights"})
    assert renamed.json()["data"]["slug"] == "payments-nights"


def test_page_unverified_contacts_is_an_org_setting_for_users_write(orgs: OrgFactory) -> None:
    org, other = orgs.new(), orgs.new()
    narrow = org.make_key(["users:read"], name="reader")
    refused = org.patch("/api/org", json={"page_unverified_contacts": True}, key=narrow)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    for bad in ({"page_unverified_contacts": "yes"}, {"page_unverified_contacts": 1}, {"paging": True}):
        answer = org.patch("/api/org", json=bad)
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["code"] == "VALIDATION_ERROR"
    assert org.get("/api/org").json()["data"]["page_unverified_contacts"] is False
    turned = org.patch("/api/org", json={"page_unverified_contacts": True})
    assert turned.status_code == 200, turned.text
    assert turned.json()["data"]["page_unverified_contacts"] is True
    assert org.get("/api/org").json()["data"]["page_unverified_contacts"] is True
    # Another org keeps its own setting; an empty body changes nothing.
    assert other.get("/api/org").json()["data"]["page_unverified_contacts"] is False
    assert org.patch("/api/org", json={}).json()["data"]["page_unverified_contacts"] is True
