"""A real ``tocsin serve`` for the browser tests and the fan-out bench: a migrated SQLite file (or
the PostgreSQL database given), one org with a service and an admin key, and one-click link tokens
minted through the services as the engine mints them for a page."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.e2e.engine_proc import HOST, free_port, start, stop
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.access import keys, orgs
from tocsin.services.catalog import services as catalog
from tocsin.services.people import users
from tocsin.services.responders import links

SCOPES = ("events:write", "incidents:write", "services:write", "users:write")


@dataclass
class LiveServer:
    """``tocsin serve`` on a free port of 127.0.0.1; ``url`` is its base."""

    workdir: Path
    db_url: str
    port: int = field(default_factory=free_port)
    key: str = ""
    routing_key: str = ""
    tenant: Tenant = field(default_factory=lambda: Tenant(""))
    user_id: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TOCSIN_DATABASE_URL": self.db_url,
            "TOCSIN_BASE_URL": self.url,
            "TOCSIN_LOG_LEVEL": "WARNING",
            "TOCSIN_ENGINE_ENABLED": "false",  # the pages under test need no paging
            "TOCSIN_RATELIMIT_EVENTS": "1000000/minute",
            "TOCSIN_RATELIMIT_INTEGRATION": "1000000/minute",
            "TOCSIN_RATELIMIT_ORG_ALERTS": "1000000/minute",
            "TOCSIN_RATELIMIT_READ": "1000000/minute",
        }

    def start(self, *, extra_env: dict[str, str] | None = None) -> LiveServer:
        migrate = [sys.executable, "-m", "tocsin.cli", "migrate"]
        done = subprocess.run(migrate, env=self.env, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{done.stdout}{done.stderr}")
        self._seed()
        command = [sys.executable, "-m", "tocsin.cli", "serve", "--host", HOST, "--port", str(self.port)]
        self.process = start(
            command, {**self.env, **(extra_env or {})}, self.workdir / "serve.log", self.port
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def _seed(self) -> None:
        now = datetime.now(UTC)
        database = Database(self.db_url)
        try:
            with database.write() as session:
                slug = f"web-{os.getpid()}-{self.port}"
                org = orgs.create_org(session=session, slug=slug, name="Web test", now=now)
                self.tenant = Tenant(org.id, True)
                self.user_id = users.create_user(
                    session=session, tenant=self.tenant, now=now, name="Dana Reyes", email=f"dana@{slug}.test"
                ).id
                self.routing_key = f"rk-{slug}"
                catalog.create_service(
                    session=session,
                    tenant=self.tenant,
                    now=now,
                    name="Checkout API",
                    integrations=[{"name": "Events", "routing_key": self.routing_key}],
                )
                _, self.key = keys.create_key(
                    session=session, tenant=self.tenant, name="web", scopes=SCOPES, now=now
                )
        finally:
            database.dispose()

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)

    def trigger(self, summary: str, dedup_key: str) -> str:
        """An incident through ``POST /api/events``; its id."""
        with self.api() as client:
            body = {
                "routing_key": self.routing_key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {"summary": summary, "severity": "critical", "source": "web-test"},
            }
            assert client.post("/api/events", json=body).status_code == 202
            found = client.get("/api/incidents", params={"limit": 100}).json()["data"]
            return next(str(row["id"]) for row in found if row["dedup_key"] == dedup_key)

    def status(self, incident_id: str) -> str:
        with self.api() as client:
            return str(client.get(f"/api/incidents/{incident_id}").json()["data"]["status"])

    def link(self, incident_id: str, action: links.Action) -> str:
        """The path of a one-click link, minted as the engine does for a page to Dana."""
        now = datetime.now(UTC)
        database = Database(self.db_url)
        try:
            with database.write() as session:
                key = links.signing_key(session=session, now=now)
        finally:
            database.dispose()
        token = links.make_token(
            key,
            incident_id=incident_id,
            action=action,
            tenant=self.tenant,
            user_id=self.user_id,
            user_name="Dana Reyes",
            issued_at=now,
        )
        return f"/links/{token}"
