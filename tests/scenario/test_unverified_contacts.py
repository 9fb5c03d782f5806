"""An unverified contact method is not paged unless the org says so, and the timeline says why: a
person whose every rule points at one gets their account email instead, and nobody is silently
unreachable. With ``page_unverified_contacts`` on, the rules are followed as written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.session import Database


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


def _method(org: OrgHandle, user_id: str, kind: str, address: str) -> dict[str, Any]:
    method = org.post(f"/api/users/{user_id}/contact-methods", json={"type": kind, "address": address})
    assert method.status_code == 201, method.text
    rule = org.post(
        f"/api/users/{user_id}/notification-rules",
        json={"contact_method_id": method.json()["data"]["id"], "urgency": "high", "delay_minutes": 0},
    )
    assert rule.status_code == 201, rule.text
    return dict(method.json()["data"])


def _service_paging(org: OrgHandle, *user_ids: str) -> str:
    targets = [{"type": "user", "id": user_id} for user_id in user_ids]
    policy = org.post(
        "/api/escalation-policies",
        json={"name": "Payments", "rules": [{"delay_minutes": 0, "targets": targets}]},
    )
    assert policy.status_code == 201, policy.text
    service_id, routing_key = org.make_service()
    linked = org.patch(
        f"/api/services/{service_id}", json={"escalation_policy_id": policy.json()["data"]["id"]}
    )
    assert linked.status_code == 200, linked.text
    return routing_key


def _open(h: Harness, routing_key: str, dedup_key: str) -> str:
    assert h.org.trigger(routing_key, dedup_key=dedup_key).status_code == 202
    h.drain()
    found = h.org.get("/api/incidents", params={"limit": 100}).json()["data"]
    return str(next(i["id"] for i in found if i["dedup_key"] == dedup_key))


def test_unverified_methods_are_skipped_loudly_unless_the_org_pages_them(h: Harness) -> None:
    org = h.org
    alice = org.make_user("Alice", "alice@example.com")
    bob = org.make_user("Bob", "bob@example.com")
    _method(org, alice, "sms", "+14155550123")
    _method(org, bob, "sms", "+14155550124")
    bob_push = _method(org, bob, "push", "bob-pager")
    assert bob_push["verified"] is True
    routing_key = _service_paging(org, alice, bob)

    first = _open(h, routing_key, "disk")
    pages = sorted((kind, address) for kind, address, _ in h.pages(first))
    # Alice's only rule is unverified: her account email instead. Bob's push is verified: only it.
    assert pages == [("email", "alice@example.com"), ("push", "bob-pager")]
    skipped = [entry for entry in h.timeline(first) if entry["type"] == "notify_skipped"]
    by_user = {entry["data"]["user_id"]: entry for entry in skipped}
    assert set(by_user) == {alice, bob}
    assert by_user[alice]["message"] == (
        "Not paging Alice by sms (+14155550123): not verified (verify the contact method, or let the "
        "org page unverified contacts); emailing their account address (alice@example.com) instead"
    )
    assert by_user[bob]["message"].startswith("Not paging Bob by sms (+14155550124): not verified")
    assert "instead" not in by_user[bob]["message"]
    assert by_user[bob]["data"]["reason"] == "unverified"

    turned_on = org.patch("/api/org", json={"page_unverified_contacts": True})
    assert turned_on.status_code == 200, turned_on.text
    second = _open(h, routing_key, "cpu")
    pages = sorted((kind, address) for kind, address, _ in h.pages(second))
    assert pages == [("push", "bob-pager"), ("sms", "+14155550123"), ("sms", "+14155550124")]
    assert not [entry for entry in h.timeline(second) if entry["type"] == "notify_skipped"]
