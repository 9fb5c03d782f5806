"""``GET /api/org/channel-health`` and the ``tocsin_channel_failing`` gauge on the real app and a real
database: what the server's settings and the org's rooms, people and subscriptions configure, what
recorded attempts show, who may read it, bad filters, tenants kept apart, and a scrape that
survives a database it cannot read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import settings_for
from tests.factories.orgs import OrgFactory, OrgHandle
from tocsin.api.app import create_app
from tocsin.clock import FakeClock
from tocsin.db.session import Database
from tocsin.domain.actor import Tenant
from tocsin.services.deliveries.attempts import record_attempt

NOW = datetime(2026, 12, 8, 9, 15, tzinfo=UTC)
PATH = "/api/org/channel-health"


@pytest.fixture(scope="module")
def client(db_url: str, database: Database) -> Iterator[TestClient]:
    """An app with SMTP set up (Twilio not), on a clock that stays at NOW."""
    settings = settings_for(db_url, smtp_host="127.0.0.1", channel_failing_minutes=10)
    app = create_app(settings, database=database, clock=FakeClock(NOW))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def factory(database: Database, client: TestClient) -> OrgFactory:
    return OrgFactory(database, client)


def _record(org: OrgHandle, channel: str, ago: timedelta, error: str | None = None, **kw: Any) -> None:
    tenant = Tenant(org.org_id, kw.get("livemode", org.livemode))
    with org.database.write() as session:
        record_attempt(
            session=session, tenant=tenant, channel=channel, ok=error is None, error=error, now=NOW - ago
        )


def _channels(org: OrgHandle, **params: str) -> dict[str, dict[str, Any]]:
    response = org.get(PATH, params=params)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["checked_at"] == "2026-12-08T09:15:00Z" and data["failing_after_minutes"] == 10
    return {entry["channel"]: entry for entry in data["channels"]}


def _gauge(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        if family.name == "tocsin_channel_failing":
            return {sample.labels["channel"]: sample.value for sample in family.samples}
    return {}


def test_a_new_org_sees_every_channel_and_what_the_server_configures(factory: OrgFactory) -> None:
    org = factory.new()
    channels = _channels(org)
    assert list(channels) == ["email", "sms", "voice", "push", "slack", "teams", "webhook"]
    assert channels["email"] == {
        "channel": "email",
        "configured": True,
        "status": "unused",
        "last_success_at": None,
        "last_failure_at": None,
        "last_error": None,
        "failing_since": None,
        "last_24h": {"succeeded": 0, "failed": 0},
    }
    assert {name: entry["status"] for name, entry in channels.items()} == {
        "email": "unused",
        "sms": "not_configured",
        "voice": "not_configured",
        "push": "unused",
        "slack": "not_configured",
        "teams": "not_configured",
        "webhook": "not_configured",
    }


def test_rooms_addresses_and_subscriptions_configure_the_org_channels(factory: OrgFactory) -> None:
    org = factory.new()
    service_id, _ = org.make_service("Payment API")
    room = org.post(
        f"/api/services/{service_id}/channels", json={"type": "slack", "url": "https://hooks.slack.test/T1"}
    )
    assert room.status_code == 201, room.text
    user_id = org.make_user("Dana Ops")
    method = org.post(
        f"/api/users/{user_id}/contact-methods", json={"type": "teams", "address": "https://teams.test/w/1"}
    )
    assert method.status_code == 201, method.text
    hook = org.post("/api/webhooks", json={"url": "https://receiver.test/hook", "enabled": False})
    assert hook.status_code == 201, hook.text
    channels = _channels(org)
    assert (channels["slack"]["configured"], channels["teams"]["configured"]) == (True, True)
    assert channels["webhook"]["configured"] is False  # only a disabled subscription
    assert org.patch(f"/api/webhooks/{hook.json()['data']['id']}", json={"enabled": True}).status_code == 200
    assert _channels(org)["webhook"]["status"] == "unused"
    assert org.test_mode().get(PATH).json()["data"]["channels"][4]["configured"] is False  # live rooms only


def test_recorded_attempts_show_failing_recovered_and_recent(factory: OrgFactory) -> None:
    org = factory.new()
    _record(org, "email", timedelta(minutes=45), "connection refused")
    _record(org, "email", timedelta(minutes=5), "SMTP 421 try later")
    _record(org, "push", timedelta(hours=2), "HTTP 502")
    _record(org, "push", timedelta(hours=1))
    _record(org, "sms", timedelta(minutes=3), "twilio is not configured")
    channels = _channels(org)

    email = channels["email"]
    assert email["status"] == "failing" and email["failing_since"] == "2026-12-08T08:30:00Z"
    assert email["last_failure_at"] == "2026-12-08T09:10:00Z" and email["last_success_at"] is None
    assert email["last_error"] == "SMTP 421 try later" and email["last_24h"] == {"succeeded": 0, "failed": 2}

    push = channels["push"]
    assert push["status"] == "ok" and push["failing_since"] is None
    assert push["last_success_at"] == "2026-12-08T08:15:00Z" and push["last_error"] == "HTTP 502"
    assert push["last_24h"] == {"succeeded": 1, "failed": 1}

    sms = channels["sms"]  # three minutes of failure: not yet "failing", and not configured
    assert sms["status"] == "not_configured" and sms["failing_since"] == "2026-12-08T09:12:00Z"

    only = _channels(org, channel="email,ntfy")
    assert list(only) == ["email", "push"]


def test_another_org_and_the_test_mode_are_kept_apart(factory: OrgFactory) -> None:
    org, other = factory.new(), factory.new()
    _record(org, "email", timedelta(hours=1), "connection refused")
    _record(org, "email", timedelta(minutes=1), livemode=False)
    assert _channels(org)["email"]["status"] == "failing"
    tested = _channels(org.test_mode())["email"]
    assert tested["status"] == "ok" and tested["last_failure_at"] is None
    assert tested["last_24h"] == {"succeeded": 1, "failed": 0}
    theirs = _channels(other)["email"]
    assert theirs["status"] == "unused" and theirs["last_24h"] == {"succeeded": 0, "failed": 0}


def test_reading_needs_services_read_and_a_known_channel(factory: OrgFactory) -> None:
    org = factory.new()
    assert org.get(PATH, key="sk_live_nope").status_code == 401
    narrow = org.get(PATH, key=org.make_key(["incidents:read"]))
    assert narrow.status_code == 403
    assert narrow.json()["error"]["code"] == "FORBIDDEN"
    assert narrow.json()["error"]["details"] == {"required_scope": "services:read"}
    assert org.get(PATH, key=org.make_key(["services:read"])).status_code == 200
    for bad in ("pigeon", "email,carrier-pigeon", ",", ""):
        refused = org.get(PATH, params={"channel": bad})
        assert refused.status_code == 400, (bad, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == "channel"
        assert "email, sms, voice, push, slack, teams, webhook" in error["message"]
    assert org.post(PATH, json={}).status_code == 405


def test_the_gauge_counts_orgs_failing_for_the_threshold(factory: OrgFactory, client: TestClient) -> None:
    before = _gauge(client)
    assert set(before) >= {"email", "sms", "voice", "push", "slack", "teams", "webhook"}
    old, young, test_only = factory.new(), factory.new(), factory.new()
    _record(old, "teams", timedelta(minutes=10), "HTTP 500")  # exactly the threshold: failing
    _record(young, "teams", timedelta(minutes=9, seconds=59), "HTTP 500")
    _record(test_only, "teams", timedelta(hours=1), "HTTP 500", livemode=False)
    after = _gauge(client)
    assert after["teams"] - before["teams"] == 1
    _record(old, "teams", timedelta(0))  # it recovers
    assert _gauge(client)["teams"] == before["teams"]


def test_a_scrape_survives_a_database_it_cannot_read(tmp_path: Path) -> None:
    """A database without the tables (never migrated) stands in for one that is down."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    empty = Database(url)
    try:
        app = create_app(settings_for(url), database=empty, clock=FakeClock(NOW))
        with TestClient(app, raise_server_exceptions=False) as test_client:
            response = test_client.get("/metrics")
        assert response.status_code == 200
        names = {family.name for family in text_string_to_metric_families(response.text)}
        assert "tocsin_http_requests" in names and "tocsin_channel_failing" not in names
    finally:
        empty.dispose()
