"""One org as the on-call screens see it: Bob on call now in "Primary" (a daily rotation of Bob
then Alice), a service paging that schedule at level 1, and signed-in Alice (user), Bob (user) and
Olive (observer). Built through the API and the services, like any org."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.web.signed_in import SignedInPerson, sign_in
from tocsin.web.session import COOKIE


@dataclass
class World:
    org: OrgHandle
    alice: SignedInPerson
    bob: SignedInPerson
    olive: SignedInPerson
    schedule_id: str
    service_id: str
    rotation_start: datetime

    def get(self, who: SignedInPerson | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.org.client.get(path, headers=_cookie(who), follow_redirects=False, **kwargs)

    def post(
        self, who: SignedInPerson | None, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf and who is not None:
            form["csrf_token"] = who.csrf
        return self.org.client.post(path, data=form, headers=_cookie(who), follow_redirects=False)


def _cookie(who: SignedInPerson | None) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={who.token}", "Accept": "text/html"} if who else {"Accept": "text/html"}


def person(org: OrgHandle, name: str, role: str = "user") -> SignedInPerson:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@example.com"
    user_id = org.make_user(name, email, role=role)
    return sign_in(org.database, org.tenant, user_id, email)


def schedule(org: OrgHandle, users: list[str], start: datetime, name: str = "Primary") -> str:
    layer = {
        "name": "Weekdays",
        "users": users,
        "rotation_unit": "days",
        "rotation_length": 1,
        "start": start.isoformat(),
    }
    response = org.post("/api/schedules", json={"name": name, "time_zone": "Europe/Paris", "layers": [layer]})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def build(orgs: OrgFactory) -> World:
    org = orgs.new()
    alice, bob = person(org, "Alice Smith"), person(org, "Bob Jones")
    olive = person(org, "Olive Watcher", role="observer")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    schedule_id = schedule(org, [bob.user_id, alice.user_id], start)
    policy = org.post(
        "/api/escalation-policies",
        json={
            "name": "Checkout default",
            "rules": [{"delay_minutes": 0, "targets": [{"type": "schedule", "id": schedule_id}]}],
        },
    )
    assert policy.status_code == 201, policy.text
    service = org.post(
        "/api/services", json={"name": "Checkout", "escalation_policy_id": policy.json()["data"]["id"]}
    )
    assert service.status_code == 201, service.text
    return World(org, alice, bob, olive, schedule_id, str(service.json()["data"]["id"]), start)
