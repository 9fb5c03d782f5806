"""Acknowledge and resolve notices end to end: the people paged for an incident get a short email
through a real SMTP server when someone else acknowledges or resolves it; the one who acted gets
none, and neither does anyone who turned ``status_notices`` off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory
from tests.factories.smtp import ReceivedMail, SmtpServer
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.session import Database
from tocsin.notify.email import EmailConfig
from tocsin.notify.registry import Channels


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


@pytest.fixture
def smtp(h: Harness) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        config = EmailConfig(host="127.0.0.1", port=server.port, from_address="Tocsin <pager@example.com>")
        h.channels_factory = lambda http: Channels(http, email=config)
        yield server


def _page_dana_and_erik(h: Harness) -> tuple[str, str, str, str]:
    """Dana and Erik both paged by level 1; returns (incident, Dana's id, Erik's id, Erik's key)."""
    org = h.org
    dana = org.make_user("Dana", "dana@example.com")
    erik = org.make_user("Erik", "erik@example.com")
    erik_key = org.make_key(["incidents:read", "incidents:write"], name="erik", user_id=erik)
    policy = org.post(
        "/api/escalation-policies",
        json={
            "name": "Storage",
            "rules": [
                {"delay_minutes": 0, "targets": [{"type": "user", "id": dana}, {"type": "user", "id": erik}]}
            ],
        },
    )
    assert policy.status_code == 201, policy.text
    service_id, routing_key = org.make_service("Storage")
    patched = org.patch(
        f"/api/services/{service_id}", json={"escalation_policy_id": policy.json()["data"]["id"]}
    )
    assert patched.status_code == 200, patched.text
    assert org.trigger(routing_key, dedup_key="disk").status_code == 202
    [incident] = org.get("/api/incidents", params={"service_id": service_id}).json()["data"]
    return str(incident["id"]), dana, erik, erik_key


def _to(mails: list[ReceivedMail], address: str) -> list[ReceivedMail]:
    return [mail for mail in mails if mail.rcpt_tos == [address]]


def test_dana_hears_that_erik_acknowledged_and_erik_does_not(h: Harness, smtp: SmtpServer) -> None:
    incident, _, _, erik_key = _page_dana_and_erik(h)
    h.drain()
    pages = smtp.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in pages) == ["dana@example.com", "erik@example.com"]
    assert h.org.post(f"/api/incidents/{incident}/acknowledge", key=erik_key).status_code == 200
    h.drain()
    mails = smtp.wait_for(3)
    [notice] = _to(mails[2:], "dana@example.com")
    assert "Acknowledged by Erik" in str(notice.message["Subject"])
    assert notice.message["X-Tocsin-Event"] == "incident.acknowledged"
    text = notice.part("text/plain")
    assert "Acknowledged by Erik" in text and "Acknowledge:" not in text  # no ack link on a notice
    [resolve] = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Resolve: ")]
    # ... but a one-click "Resolve" for Dana, as acknowledged is not yet done.
    base = h.org.client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    confirm = h.org.client.get(resolve.removeprefix(base))
    assert confirm.status_code == 200 and "Resolve incident" in confirm.text
    # Erik resolves: Dana hears again; Erik never gets a notice of his own doing.
    assert h.org.post(f"/api/incidents/{incident}/resolve", key=erik_key).status_code == 200
    h.drain()
    mails = smtp.wait_for(4)
    assert "Resolved by Erik" in str(mails[3].message["Subject"]) and mails[3].rcpt_tos == [
        "dana@example.com"
    ]
    assert len(_to(mails, "erik@example.com")) == 1
    h.advance(minutes=30)
    assert len(smtp.messages) == 4
    notices = h.jobs(incident, "notice")
    assert sorted((j.payload["user_name"], j.payload["event"], j.status) for j in notices) == [
        ("Dana", "incident.acknowledged", "done"),
        ("Dana", "incident.resolved", "done"),
    ]


def test_no_notice_when_dana_turned_them_off(h: Harness, smtp: SmtpServer) -> None:
    incident, dana, _, erik_key = _page_dana_and_erik(h)
    off = h.org.patch(f"/api/users/{dana}", json={"status_notices": False})
    assert off.status_code == 200, off.text
    assert off.json()["data"]["status_notices"] is False
    h.drain()
    smtp.wait_for(2)
    assert h.org.post(f"/api/incidents/{incident}/acknowledge", key=erik_key).status_code == 200
    h.drain()
    h.advance(minutes=30)
    assert len(smtp.messages) == 2
    assert h.jobs(incident, "notice") == []
