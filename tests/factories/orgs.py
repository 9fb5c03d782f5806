"""Orgs with keys and an HTTP client that sends them: the starting point of nearly every API test."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.domain.scopes import SCOPES
from tocsin.services.access import keys, orgs
from tocsin.services.catalog import services as catalog
from tocsin.services.people import teams, users

_counter = itertools.count()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class OrgHandle:
    """One org (in one mode) and a key for it; HTTP helpers send that key."""

    database: Database
    client: TestClient
    org_id: str
    slug: str
    livemode: bool
    key: str
    extra_keys: dict[str, str] = field(default_factory=dict)

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.org_id, self.livemode)

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(key), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def make_key(
        self,
        scopes: list[str] | tuple[str, ...],
        *,
        name: str = "test key",
        user_id: str | None = None,
        livemode: bool | None = None,
    ) -> str:
        mode = self.livemode if livemode is None else livemode
        with self.database.write() as session:
            _, secret = keys.create_key(
                session=session,
                tenant=Tenant(self.org_id, mode),
                name=name,
                scopes=scopes,
                user_id=user_id,
                now=now(),
            )
        return secret

    def test_mode(self) -> OrgHandle:
        """The same org seen through an all-scopes ``sk_test_`` key."""
        secret = self.make_key(SCOPES, name="test-mode admin", livemode=False)
        return OrgHandle(self.database, self.client, self.org_id, self.slug, False, secret)

    def make_user(self, name: str = "Alice Smith", email: str | None = None, role: str = "user") -> str:
        with self.database.write() as session:
            user = users.create_user(
                session=session,
                tenant=self.tenant,
                now=now(),
                name=name,
                email=email or f"{uuid.uuid4().hex[:10]}@example.com",
                role=role,
            )
            return user.id

    def make_team(self, name: str | None = None, member_ids: tuple[str, ...] = ()) -> str:
        with self.database.write() as session:
            team = teams.create_team(
                session=session,
                tenant=self.tenant,
                now=now(),
                name=name or f"team-{uuid.uuid4().hex[:8]}",
                members=[{"user_id": user_id} for user_id in member_ids],
            )
            return team.id

    def make_service(
        self, name: str = "Payment API", routing_key: str | None = None, team_id: str | None = None
    ) -> tuple[str, str]:
        """A service with one Events API integration; returns (service_id, routing_key)."""
        routing_key = routing_key or f"rk-{uuid.uuid4().hex}"
        with self.database.write() as session:
            service = catalog.create_service(
                session=session,
                tenant=self.tenant,
                now=now(),
                name=name,
                team_id=team_id,
                integrations=[{"name": "Events API v2", "routing_key": routing_key}],
            )
            return service.id, routing_key

    def trigger(
        self,
        routing_key: str,
        summary: str = "High CPU on web-01",
        severity: str = "critical",
        dedup_key: str | None = None,
        **payload: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "payload": {"summary": summary, "severity": severity, "source": "datadog", **payload},
        }
        if dedup_key is not None:
            body["dedup_key"] = dedup_key
        return self.post("/api/events", json=body)


class OrgFactory:
    def __init__(self, database: Database, client: TestClient) -> None:
        self.database = database
        self.client = client

    def new(
        self, scopes: list[str] | tuple[str, ...] = SCOPES, *, rate_limits: dict[str, str] | None = None
    ) -> OrgHandle:
        slug = f"org-{next(_counter)}-{uuid.uuid4().hex[:8]}"
        with self.database.write() as session:
            org = orgs.create_org(session=session, slug=slug, name=slug, now=now())
            if rate_limits:
                orgs.set_rate_limits(session=session, org_id=org.id, overrides=dict(rate_limits))
            _, secret = keys.create_key(
                session=session, tenant=Tenant(org.id, True), name="admin", scopes=scopes, now=now()
            )
            return OrgHandle(self.database, self.client, org.id, slug, True, secret)
