"""Escalation end to end, in-process: a trigger through the API pages level 1 (whoever is on call in
the schedule, overrides included), escalates to level 2 after its delay, repeats, and stops on
acknowledge; ack timeouts and snooze expiry escalate again; manual escalate and reassign; test-mode
incidents go through the whole pipeline into the sink."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory, OrgHandle
from tests.scenario.engine_harness import Harness, harness
from tocsin.db.session import Database


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


@pytest.fixture
def team(h: Harness) -> dict[str, str]:
    org = h.org
    return {name: org.make_user(name, f"{name.lower()}@example.com") for name in ("Alice", "Bob", "Carol")}


def _schedule(org: OrgHandle, users: list[str], start: str) -> str:
    response = org.post(
        "/api/schedules",
        json={
            "name": "Primary",
            "time_zone": "UTC",
            "layers": [{"users": users, "rotation_unit": "weeks", "rotation_length": 1, "start": start}],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _policy(org: OrgHandle, rules: list[dict[str, Any]], **extra: Any) -> str:
    response = org.post("/api/escalation-policies", json={"name": "Payments", "rules": rules, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _service(org: OrgHandle, policy_id: str, **extra: Any) -> str:
    service_id, routing_key = org.make_service()
    response = org.patch(f"/api/services/{service_id}", json={"escalation_policy_id": policy_id, **extra})
    assert response.status_code == 200, response.text
    return routing_key


def _trigger(org: OrgHandle, routing_key: str, dedup_key: str = "cpu", severity: str = "critical") -> str:
    response = org.trigger(routing_key, dedup_key=dedup_key, severity=severity)
    assert response.status_code == 202, response.text
    [incident] = org.get("/api/incidents", params={"service_id": "", "limit": 100}).json()["data"][:1] or [
        None
    ]
    found = [
        i
        for i in org.get("/api/incidents", params={"limit": 100}).json()["data"]
        if i["dedup_key"] == dedup_key
    ]
    return str(found[0]["id"])


def _emails(h: Harness, incident_id: str) -> list[str]:
    """The addresses emailed a page (not a notice that the incident was acknowledged or resolved)."""
    return [
        address
        for kind, address, event in h.pages(incident_id)
        if kind == "email" and event == "incident.triggered"
    ]


@pytest.fixture
def paging_setup(h: Harness, team: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Level 1: the schedule (Alice this week, Bob next); level 2 after 5 minutes: Carol; two repeats."""
    start = (h.clock.now() - timedelta(days=1)).isoformat()
    schedule = _schedule(h.org, [team["Alice"], team["Bob"]], start)
    policy = _policy(
        h.org,
        [
            {"delay_minutes": 0, "targets": [{"type": "schedule", "id": schedule}]},
            {"delay_minutes": 5, "targets": [{"type": "user", "id": team["Carol"]}]},
        ],
        repeat_count=2,
        repeat_delay_minutes=5,
    )
    return _service(h.org, policy), {"schedule": schedule, "policy": policy}


def test_trigger_pages_level_one_then_escalates_repeats_and_stops_on_ack(
    h: Harness, team: dict[str, str], paging_setup: tuple[str, dict[str, str]]
) -> None:
    routing_key, _ = paging_setup
    incident = _trigger(h.org, routing_key)
    print(
        "DRAINED",
        h.drain(),
        [(j.kind, j.status, j.result, j.run_at) for j in h.jobs(incident)],
        h.clock.now(),
    )
    # Nobody has rules: each person gets the default, an email to their own address at once.
    assert _emails(h, incident) == ["alice@example.com"]
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["assignee_ids"] == [team["Alice"]]

    h.advance(minutes=4, seconds=59)
    assert _emails(h, incident) == ["alice@example.com"]
    h.advance(seconds=1)
    assert _emails(h, incident) == ["alice@example.com", "carol@example.com"]
    body = h.org.get(f"/api/incidents/{incident}").json()["data"]
    assert (body["escalation_level"], body["assignee_ids"]) == (1, [team["Carol"]])

    # Second pass 5 minutes later (repeat delay), level 2 five minutes after that.
    h.advance(minutes=5)
    assert _emails(h, incident)[-1] == "alice@example.com"
    assert len(_emails(h, incident)) == 3

    # Acknowledge: the pending level-2 step and any later page are cancelled.
    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    h.advance(minutes=60)
    assert len(_emails(h, incident)) == 3
    # A service key acknowledged: everyone paged hears of it, once per address.
    notices = [(address, event) for _, address, event in h.pages(incident) if event != "incident.triggered"]
    assert sorted(notices) == [
        ("alice@example.com", "incident.acknowledged"),
        ("carol@example.com", "incident.acknowledged"),
    ]
    assert all(job.status in ("done", "cancelled") for job in h.jobs(incident))
    kinds = [entry["type"] for entry in h.timeline(incident)]
    assert kinds.count("notified") == 3
    assert "escalated" in kinds and "acknowledged" in kinds


def test_a_full_run_repeats_then_stops(
    h: Harness, team: dict[str, str], paging_setup: tuple[str, dict[str, str]]
) -> None:
    routing_key, _ = paging_setup
    incident = _trigger(h.org, routing_key)
    h.drain()
    for _ in range(12):
        h.advance(minutes=5)
    # Three passes of two levels, nothing more.
    assert _emails(h, incident) == ["alice@example.com", "carol@example.com"] * 3
    assert h.jobs(incident, "escalate")[-1].status == "done"


def test_schedule_target_pages_whoever_is_on_call_then_overrides_included(
    h: Harness, team: dict[str, str], paging_setup: tuple[str, dict[str, str]]
) -> None:
    routing_key, ids = paging_setup
    now = h.clock.now()
    response = h.org.post(
        f"/api/schedules/{ids['schedule']}/overrides",
        json={
            "user_id": team["Bob"],
            "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    incident = _trigger(h.org, routing_key)
    h.drain()
    assert _emails(h, incident) == ["bob@example.com"]
    # After the override, the rotation again: next week's person is Bob too, this week's Alice.
    h.advance(minutes=61)
    h.org.post(f"/api/incidents/{incident}/resolve")
    second = _trigger(h.org, routing_key, dedup_key="disk")
    h.drain()
    assert _emails(h, second) == ["alice@example.com"]


def test_notification_rules_pick_channels_and_delays(h: Harness, team: dict[str, str]) -> None:
    org = h.org
    # The methods below are never verified: this test is about rules, so the org pages them anyway.
    assert org.patch("/api/org", json={"page_unverified_contacts": True}).status_code == 200
    sms = org.post(
        f"/api/users/{team['Alice']}/contact-methods", json={"type": "sms", "address": "+15551234567"}
    )
    assert sms.status_code == 201, sms.text
    email = org.post(
        f"/api/users/{team['Alice']}/contact-methods", json={"type": "email", "address": "a@pager.example"}
    )
    assert email.status_code == 201, email.text
    for method, delay in ((email, 0), (sms, 2)):
        rule = org.post(
            f"/api/users/{team['Alice']}/notification-rules",
            json={
                "contact_method_id": method.json()["data"]["id"],
                "urgency": "high",
                "delay_minutes": delay,
            },
        )
        assert rule.status_code == 201, rule.text
    policy = _policy(org, [{"delay_minutes": 0, "targets": [{"type": "user", "id": team["Alice"]}]}])
    routing_key = _service(org, policy)
    incident = _trigger(org, routing_key)
    h.drain()
    assert h.pages(incident) == [("email", "a@pager.example", "incident.triggered")]
    h.advance(minutes=2)
    assert [p[:2] for p in h.pages(incident)] == [("email", "a@pager.example"), ("sms", "+15551234567")]
    # Low urgency has no rules for Alice: the default email to her own address.
    low = _trigger(org, routing_key, dedup_key="low", severity="info")
    h.drain()
    assert h.pages(low) == [("email", "alice@example.com", "incident.triggered")]


def test_ack_timeout_reopens_and_escalates_again(h: Harness, team: dict[str, str]) -> None:
    policy = _policy(h.org, [{"delay_minutes": 0, "targets": [{"type": "user", "id": team["Bob"]}]}])
    routing_key = _service(h.org, policy, ack_timeout_minutes=30)
    incident = _trigger(h.org, routing_key)
    h.drain()
    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    h.advance(minutes=29)
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "ACKNOWLEDGED"
    h.advance(minutes=1)
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "OPEN"
    assert _emails(h, incident) == ["bob@example.com", "bob@example.com"]
    assert "ack_timeout" in [e["type"] for e in h.timeline(incident)]
    # Resolved in time: the timer does nothing.
    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    assert h.org.post(f"/api/incidents/{incident}/resolve").status_code == 200
    h.advance(minutes=31)
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "RESOLVED"
    assert len(_emails(h, incident)) == 2


def test_snooze_expiry_reopens_and_pages(h: Harness, team: dict[str, str]) -> None:
    policy = _policy(h.org, [{"delay_minutes": 0, "targets": [{"type": "user", "id": team["Bob"]}]}])
    incident = _trigger(h.org, _service(h.org, policy))
    h.drain()
    response = h.org.post(f"/api/incidents/{incident}/snooze", json={"duration_minutes": 15})
    assert response.status_code == 200, response.text
    h.advance(minutes=14)
    assert len(_emails(h, incident)) == 1
    h.advance(minutes=1)
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "OPEN"
    assert len(_emails(h, incident)) == 2


def test_manual_escalate_and_reassign(
    h: Harness, team: dict[str, str], paging_setup: tuple[str, dict[str, str]]
) -> None:
    routing_key, _ = paging_setup
    incident = _trigger(h.org, routing_key)
    h.drain()
    response = h.org.post(f"/api/incidents/{incident}/escalate")
    assert response.status_code == 200, response.text
    h.drain()
    assert _emails(h, incident) == ["alice@example.com", "carol@example.com"]
    assert h.org.post(f"/api/incidents/{incident}/escalate").json()["error"]["code"] == "CONFLICT"
    response = h.org.post(f"/api/incidents/{incident}/escalate", json={"level": 1})
    assert response.status_code == 200, response.text
    h.drain()
    assert _emails(h, incident)[-1] == "alice@example.com"
    assert h.org.post(f"/api/incidents/{incident}/escalate", json={"level": 9}).status_code == 400

    response = h.org.post(f"/api/incidents/{incident}/reassign", json={"user_ids": [team["Bob"]]})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["assignee_ids"] == [team["Bob"]]
    h.drain()
    assert _emails(h, incident)[-1] == "bob@example.com"
    # The old run's pending level-2 step was dropped: nothing more after the delay.
    count = len(_emails(h, incident))
    h.advance(minutes=5)
    assert len(_emails(h, incident)) == count
    for body in ({}, {"user_ids": []}, {"user_ids": ["usr_nope"]}, {"escalation_policy_id": "ep_nope"}):
        assert h.org.post(f"/api/incidents/{incident}/reassign", json=body).status_code == 400, body


def test_test_mode_pages_go_to_the_sink_only(h: Harness, orgs: OrgFactory) -> None:
    test = h.org.test_mode()
    sandy = test.make_user("Sandy", "sandy@example.com")
    response = test.post(
        "/api/escalation-policies",
        json={"name": "Sandbox", "rules": [{"delay_minutes": 0, "targets": [{"type": "user", "id": sandy}]}]},
    )
    assert response.status_code == 201, response.text
    service_id, routing_key = test.make_service()
    assert (
        test.patch(
            f"/api/services/{service_id}", json={"escalation_policy_id": response.json()["data"]["id"]}
        ).status_code
        == 200
    )
    assert test.trigger(routing_key, dedup_key="t").status_code == 202
    [incident] = test.get("/api/incidents").json()["data"]
    h.drain()
    assert h.pages(incident["id"]) == [("email", "sandy@example.com", "incident.triggered")]
    timeline = test.get(f"/api/incidents/{incident['id']}/timeline").json()["data"]
    assert any("test mode" in entry["message"] for entry in timeline)


def test_no_policy_pages_nobody_and_says_so(h: Harness) -> None:
    _, routing_key = h.org.make_service()
    incident = _trigger(h.org, routing_key)
    h.drain()
    assert h.pages(incident) == []
    assert "unpaged" in [e["type"] for e in h.timeline(incident)]


def test_sms_reply_acknowledges_then_resolves(h: Harness, team: dict[str, str]) -> None:
    from urllib.parse import urlencode

    from tocsin.domain.sms_reply import twilio_signature

    org = h.org
    phone = "+15557654321"
    assert (
        org.post(
            f"/api/users/{team['Bob']}/contact-methods", json={"type": "sms", "address": phone}
        ).status_code
        == 201
    )
    policy = _policy(org, [{"delay_minutes": 0, "targets": [{"type": "user", "id": team["Bob"]}]}])
    incident = _trigger(org, _service(org, policy))
    number = org.get(f"/api/incidents/{incident}").json()["data"]["number"]
    settings = org.client.app.state.settings  # type: ignore[attr-defined]
    url = settings.base_url.rstrip("/") + "/integrations/twilio/sms"

    def reply(body: str, sender: str = phone, token: str = "twilio-token") -> Any:
        params = {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": "SM1"}
        return org.client.post(
            "/integrations/twilio/sms",
            content=urlencode(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(token, url, params),
            },
        )

    settings.twilio_auth_token = "twilio-token"
    try:
        answer = reply(f"{number} ack")
        assert answer.status_code == 200, answer.text
        assert f"Incident #{number} acknowledged" in answer.text
        assert org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "ACKNOWLEDGED"
        timeline = h.timeline(incident)
        assert any(
            e["type"] == "acknowledged" and "SMS reply" in e["message"] and e["actor_id"] == team["Bob"]
            for e in timeline
        )
        assert "already acknowledged" in reply(f"ack {number}").text
        assert "did not understand" in reply("hello").text
        assert "No incident #999999" in reply("999999 ack").text
        assert "No incident" in reply(f"{number} resolve", sender="+15550001111").text
        assert reply(f"{number} resolve", token="wrong").status_code == 403
        assert org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "ACKNOWLEDGED"
        assert f"Incident #{number} resolved" in reply(f"{number} resolve").text
    finally:
        settings.twilio_auth_token = None
    assert reply("1 ack").status_code == 404


def test_one_click_links_work_once_then_refuse(h: Harness, team: dict[str, str]) -> None:
    org = h.org
    policy = _policy(org, [{"delay_minutes": 0, "targets": [{"type": "user", "id": team["Alice"]}]}])
    routing_key = _service(org, policy)
    incident = _trigger(org, routing_key)
    h.drain()
    [delivery] = [d for d in h.sink.deliveries if d.page.incident_id == incident]
    ack, resolve = delivery.page.ack_url, delivery.page.resolve_url
    assert ack and resolve and ack != resolve
    base = org.client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    ack_path, resolve_path = ack.removeprefix(base), resolve.removeprefix(base)

    # The GET only asks: link scanners that fetch every URL change nothing.
    page = org.client.get(ack_path)
    assert page.status_code == 200 and "<form" in page.text and "Acknowledge incident" in page.text
    assert org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "OPEN"
    done = org.client.post(ack_path)
    assert done.status_code == 200, done.text
    assert org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "ACKNOWLEDGED"
    entry = [e for e in h.timeline(incident) if e["type"] == "acknowledged"][0]
    assert (entry["actor_id"], "one-click link" in entry["message"]) == (team["Alice"], True)
    # Once only.
    assert org.client.post(ack_path).status_code == 410
    assert org.client.get(ack_path).status_code == 410
    # Tampered.
    assert org.client.post(ack_path[:-3] + "xyz").status_code == 400
    assert org.client.get("/links/not-a-token").status_code == 400
    # Expired after 24 hours; the resolve link has not been used but is too old now.
    h.clock.advance(timedelta(hours=24, seconds=1))
    assert org.client.post(resolve_path).status_code == 410
    assert org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "ACKNOWLEDGED"


def test_resolve_link_and_html_escaping(h: Harness, team: dict[str, str]) -> None:
    org = h.org
    policy = _policy(org, [{"delay_minutes": 0, "targets": [{"type": "user", "id": team["Alice"]}]}])
    routing_key = _service(org, policy)
    response = org.trigger(routing_key, summary="<script>alert(1)</script>", dedup_key="xss")
    assert response.status_code == 202
    incident = _trigger(org, routing_key, dedup_key="xss")
    h.drain()
    [delivery] = [d for d in h.sink.deliveries if d.page.incident_id == incident]
    base = org.client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
    path = str(delivery.page.resolve_url).removeprefix(base)
    page = org.client.get(path)
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert org.client.post(path).status_code == 200
    assert org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "RESOLVED"


def test_pages_reach_a_real_smtp_server_with_working_links(h: Harness, team: dict[str, str]) -> None:
    from tests.factories.smtp import SmtpServer
    from tocsin.notify.email import EmailConfig
    from tocsin.notify.registry import Channels

    with SmtpServer() as smtp:
        config = EmailConfig(host="127.0.0.1", port=smtp.port, from_address="Tocsin <pager@example.com>")
        h.channels_factory = lambda http: Channels(http, email=config)
        policy = _policy(
            h.org,
            [
                {"delay_minutes": 0, "targets": [{"type": "user", "id": team["Alice"]}]},
                {"delay_minutes": 5, "targets": [{"type": "user", "id": team["Bob"]}]},
            ],
        )
        incident = _trigger(h.org, _service(h.org, policy))
        h.drain()
        [first] = smtp.wait_for(1)
        assert first.rcpt_tos == ["alice@example.com"]
        assert "High CPU on web-01" in str(first.message["Subject"])
        html, text = first.part("text/html"), first.part("text/plain")
        base = h.org.client.app.state.settings.base_url.rstrip("/")  # type: ignore[attr-defined]
        links = [word for word in text.split() if word.startswith(base + "/links/")]
        assert len(links) == 2 and all(link in html for link in links)  # acknowledge, resolve
        # "View incident" opens the Incident screen (behind sign-in).
        number = h.org.get(f"/api/incidents/{incident}").json()["data"]["number"]
        assert f"{base}/incidents/{number}" in text and f"{base}/incidents/{number}" in html
        h.advance(minutes=5)
        [_, second] = smtp.wait_for(2)
        assert second.rcpt_tos == ["bob@example.com"]
        # Alice acknowledges from her email: the link works once, and nobody else is paged.
        assert h.org.client.post(links[0].removeprefix(base)).status_code == 200
        assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "ACKNOWLEDGED"
        h.advance(minutes=30)
        # Bob, paged too, hears that Alice acknowledged; Alice does not hear of her own doing.
        [*_, notice] = smtp.wait_for(3)
        assert notice.rcpt_tos == ["bob@example.com"]
        assert "Acknowledged by Alice" in str(notice.message["Subject"])
        assert len(smtp.messages) == 3
        notified = [e for e in h.timeline(incident) if e["type"] == "notified"]
        assert [e["data"]["channel"] for e in notified] == ["email", "email"]
