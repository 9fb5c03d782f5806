"""A key bound to a person acts with at most that person's role: an observer's key is read-only
whatever its scopes (``domain.roles``); a responder's or an admin's key keeps its scopes."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories.orgs import OrgFactory
from tocsin.domain.scopes import SCOPES
from tocsin.services.people import users


def test_an_observers_key_may_read_but_not_write(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, routing_key = org.make_service()
    observer = org.make_user(name="Olive Observer", role="observer")
    key = org.make_key(SCOPES, user_id=observer)
    assert org.get("/api/incidents", key=key).status_code == 200
    assert org.get(f"/api/users/{observer}", key=key).json()["data"]["role"] == "observer"
    for response in (
        org.post("/api/incidents", key=key, json={"title": "Disk full", "service_id": svc}),
        org.patch(f"/api/users/{observer}", key=key, json={"role": "admin"}),
        org.post(
            "/api/events",
            key=key,
            json={
                "routing_key": routing_key,
                "event_action": "trigger",
                "payload": {"summary": "s", "severity": "critical", "source": "x"},
            },
        ),
    ):
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "FORBIDDEN"
        assert error["details"] == {"role": "observer"}  # read_only is a hint for the dialects
        assert "observer" in error["message"] and "only GET" in error["message"]
    # Nothing was written: no incident, and the observer did not promote themselves.
    assert org.get("/api/incidents").json()["pagination"]["total"] == 0
    assert org.get(f"/api/users/{observer}").json()["data"]["role"] == "observer"


def test_responders_and_admins_keep_their_scopes_and_a_promotion_counts(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    responder = org.make_user(name="Rae Responder", role="user")
    admin = org.make_user(name="Ada Admin", role="admin")
    for person in (responder, admin):
        key = org.make_key(SCOPES, user_id=person)
        created = org.post("/api/incidents", key=key, json={"title": "Disk full", "service_id": svc})
        assert created.status_code == 201, created.text
    # An observer made a responder may write with the same key (the key cache is off in tests).
    observer = org.make_user(name="Olive Observer", role="observer")
    key = org.make_key(SCOPES, user_id=observer)
    assert org.post("/api/incidents", key=key, json={"title": "t", "service_id": svc}).status_code == 403
    with org.database.write() as session:
        users.update_user(
            session=session,
            tenant=org.tenant,
            user_id=observer,
            changes={"role": "user"},
            now=datetime.now(UTC),
        )
    assert org.post("/api/incidents", key=key, json={"title": "t", "service_id": svc}).status_code == 201


def test_service_keys_have_no_role_and_keep_their_scopes(orgs: OrgFactory) -> None:
    org = orgs.new()
    svc, _ = org.make_service()
    assert org.post("/api/incidents", json={"title": "Disk full", "service_id": svc}).status_code == 201
