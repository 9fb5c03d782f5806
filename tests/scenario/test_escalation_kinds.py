"""The rule kinds beyond ``notify``, end to end with the fake clock: a ``wait`` rule pages nobody
and only delays what follows; ``repeat`` starts the policy again at most 5 times, then goes on;
``resolve`` resolves the incident as the escalation policy; an ``important`` rule pages through the
high-urgency notification rules even for a low-urgency incident."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.orgs import OrgFactory
from tests.scenario.engine_harness import Harness, harness
from tests.scenario.test_escalation import _emails, _policy, _service, _trigger
from tocsin.db.session import Database


@pytest.fixture
def h(orgs: OrgFactory, app_client: TestClient, database: Database, db_url: str) -> Iterator[Harness]:
    yield from harness(orgs, app_client, database, db_url)


@pytest.fixture
def team(h: Harness) -> dict[str, str]:
    return {name: h.org.make_user(name, f"{name.lower()}@example.com") for name in ("Alice", "Bob", "Carol")}


def _notify(user: str, delay: int = 0, **extra: Any) -> dict[str, Any]:
    return {"delay_minutes": delay, "targets": [{"type": "user", "id": user}], **extra}


def test_a_wait_rule_pages_nobody_and_delays_the_next_rule(h: Harness, team: dict[str, str]) -> None:
    rules = [_notify(team["Alice"]), {"kind": "wait", "delay_minutes": 10}, _notify(team["Bob"])]
    incident = _trigger(h.org, _service(h.org, _policy(h.org, rules)))
    h.drain()
    assert _emails(h, incident) == ["alice@example.com"]
    h.advance(minutes=9, seconds=59)
    assert _emails(h, incident) == ["alice@example.com"]
    h.advance(seconds=1)
    assert _emails(h, incident) == ["alice@example.com", "bob@example.com"]
    steps = [e for e in h.timeline(incident) if e["type"] == "escalation_step"]
    assert [(e["data"]["kind"], e["data"]["level"]) for e in steps] == [("wait", 1)]
    body = h.org.get(f"/api/incidents/{incident}").json()["data"]
    assert (body["escalation_level"], body["assignee_ids"]) == (2, [team["Bob"]])


def test_a_repeat_rule_starts_over_five_times_then_goes_on(h: Harness, team: dict[str, str]) -> None:
    rules = [_notify(team["Alice"]), {"kind": "repeat", "delay_minutes": 5}, _notify(team["Carol"])]
    incident = _trigger(h.org, _service(h.org, _policy(h.org, rules)))
    h.drain()
    for _ in range(12):
        h.advance(minutes=5)
    # The first pass and five repeats page Alice; then the repeat rule is passed and Carol paged.
    assert _emails(h, incident) == ["alice@example.com"] * 6 + ["carol@example.com"]
    messages = [e["message"] for e in h.timeline(incident) if e["type"] == "escalation_step"]
    assert len(messages) == 6
    assert "repeat 5 of at most 5" in messages[4] and "already repeated 5 times" in messages[5]
    assert h.jobs(incident, "escalate")[-1].status == "done"


def test_repeat_stops_on_acknowledge(h: Harness, team: dict[str, str]) -> None:
    rules = [_notify(team["Alice"]), {"kind": "repeat", "delay_minutes": 5}]
    incident = _trigger(h.org, _service(h.org, _policy(h.org, rules)))
    h.drain()
    h.advance(minutes=5)
    assert h.org.post(f"/api/incidents/{incident}/acknowledge").status_code == 200
    h.advance(minutes=60)
    assert _emails(h, incident) == ["alice@example.com"] * 2


def test_a_resolve_rule_resolves_the_incident_as_the_policy(h: Harness, team: dict[str, str]) -> None:
    rules = [_notify(team["Alice"]), {"kind": "resolve", "delay_minutes": 30}, _notify(team["Bob"])]
    routing_key = _service(h.org, _policy(h.org, rules))
    incident = _trigger(h.org, routing_key)
    h.drain()
    h.advance(minutes=29)
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "OPEN"
    h.advance(minutes=1)
    assert h.org.get(f"/api/incidents/{incident}").json()["data"]["status"] == "RESOLVED"
    [resolved] = [e for e in h.timeline(incident) if e["type"] == "resolved"]
    assert (resolved["actor_type"], resolved["actor_name"]) == ("system", "Escalation policy")
    assert "level 2" in resolved["message"]
    h.advance(minutes=60)
    assert _emails(h, incident) == ["alice@example.com"]  # nothing after the resolve rule
    # Acknowledged before the resolve rule is due: it never runs.
    second = _trigger(h.org, routing_key, dedup_key="disk")
    h.drain()
    assert h.org.post(f"/api/incidents/{second}/acknowledge").status_code == 200
    h.advance(minutes=31)
    assert h.org.get(f"/api/incidents/{second}").json()["data"]["status"] == "ACKNOWLEDGED"


def test_an_important_rule_uses_the_high_urgency_rules(h: Harness, team: dict[str, str]) -> None:
    org = h.org
    # The methods below are never verified: this test is about rules, so the org pages them anyway.
    assert org.patch("/api/org", json={"page_unverified_contacts": True}).status_code == 200
    sms = org.post(
        f"/api/users/{team['Alice']}/contact-methods", json={"type": "sms", "address": "+15551234567"}
    )
    assert sms.status_code == 201, sms.text
    rule = org.post(
        f"/api/users/{team['Alice']}/notification-rules",
        json={"contact_method_id": sms.json()["data"]["id"], "urgency": "high", "delay_minutes": 0},
    )
    assert rule.status_code == 201, rule.text
    important = _service(org, _policy(org, [_notify(team["Alice"], important=True)]))
    plain = _service(org, _policy(org, [_notify(team["Alice"])]))
    low = _trigger(org, important, dedup_key="low", severity="info")
    h.drain()
    assert [p[:2] for p in h.pages(low)] == [("sms", "+15551234567")]
    paging = [e for e in h.timeline(low) if e["type"] == "paging"]
    assert paging[0]["data"]["important"] is True and "as important" in paging[0]["message"]
    # The same low-urgency incident through a plain rule: Alice's low rules (none: the default email).
    other = _trigger(org, plain, dedup_key="low2", severity="info")
    h.drain()
    assert [p[:2] for p in h.pages(other)] == [("email", "alice@example.com")]


def test_native_rules_show_and_check_kind_and_important(h: Harness, team: dict[str, str]) -> None:
    org = h.org
    rules = [
        _notify(team["Alice"], important=True),
        {"kind": "wait", "delay_minutes": 5},
        {"kind": "resolve"},
    ]
    created = org.post("/api/escalation-policies", json={"name": "Kinds", "rules": rules})
    assert created.status_code == 201, created.text
    shown = [(r["kind"], r["important"], len(r["targets"])) for r in created.json()["data"]["rules"]]
    assert shown == [("notify", True, 1), ("wait", False, 0), ("resolve", False, 0)]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"kind": "page"}, "rules.0.kind"),
        ({"kind": "wait", "targets": [{"type": "user", "id": team["Bob"]}]}, "rules.0.targets"),
        ({"kind": "repeat", "important": True}, "rules.0.important"),
        ({"kind": "notify"}, "rules.0.targets"),
    ]
    for rule, field in bad:
        response = org.post("/api/escalation-policies", json={"name": "Bad", "rules": [rule]})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"]["field"] == field, rule
