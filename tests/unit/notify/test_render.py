"""Rendering that every channel shares, and the pieces each channel builds without I/O."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.unit.notify.support import make_page
from tocsin.notify import render
from tocsin.notify.email import message_id, thread_id
from tocsin.notify.ntfy import ntfy_message
from tocsin.notify.render import DETAIL_LINES, DETAIL_WIDTH, all_links, facts, headline, plain_text
from tocsin.notify.slack import slack_message
from tocsin.notify.teams import ADAPTIVE_CARD, teams_message
from tocsin.notify.twilio import sms_body, twiml
from tocsin.notify.webhook import retry_after_seconds, webhook_payload


def test_subject_leads_with_number_urgency_title_and_service() -> None:
    assert render.subject(make_page()) == "[Tocsin] #42 HIGH: High CPU on web-01 (Payment API)"


@pytest.mark.parametrize(
    ("event", "label", "kinds"),
    [
        ("incident.triggered", "HIGH", ["ack", "resolve"]),
        ("incident.escalated", "HIGH", ["ack", "resolve"]),
        ("incident.acknowledged", "ACKNOWLEDGED", ["resolve"]),
        ("incident.resolved", "RESOLVED", []),
    ],
)
def test_notices_say_the_new_state_and_offer_only_actions_that_still_apply(
    event: str, label: str, kinds: list[str]
) -> None:
    page = make_page(event=event)
    assert render.subject(page) == f"[Tocsin] #42 {label}: High CPU on web-01 (Payment API)"
    assert [link.kind for link in render.actions(page)] == kinds
    assert render.all_links(page)[-1].url == page.incident_url


def test_a_multiline_title_cannot_break_a_header() -> None:
    page = make_page(title="line one\r\nBcc: victim@example.com\n  two")
    assert render.subject(page) == "[Tocsin] #42 HIGH: line one Bcc: victim@example.com two (Payment API)"


def test_plain_text_carries_facts_description_and_every_link() -> None:
    text = render.plain_text(make_page())
    assert "Service: Payment API" in text and "instance: web-01:9100" in text
    assert "CPU above 95% for 10 minutes." in text
    for url in (make_page().ack_url, make_page().resolve_url, make_page().incident_url):
        assert f": {url}\n" in text


def test_sms_is_short_and_ends_with_the_reply_hint_even_for_a_huge_title() -> None:
    page = make_page(title="x" * 5000, service_name="s" * 500)
    body = sms_body(page)
    assert len(body) < 320
    assert body.startswith("[Tocsin] #42 HIGH: xxx")
    assert body.endswith('Reply "42 ack" or "42 resolve"')


def test_sms_reply_hint_follows_the_event() -> None:
    assert sms_body(make_page()) == (
        '[Tocsin] #42 HIGH: High CPU on web-01 [instance=web-01:9100] (Payment API) Reply "42 ack" or "42 resolve"'
    )
    assert sms_body(make_page(event="incident.acknowledged")).endswith('Reply "42 resolve"')
    assert "Reply" not in sms_body(make_page(event="incident.resolved"))


def test_twiml_is_valid_xml_and_escapes_the_title() -> None:
    script = twiml(make_page(title='CPU <Hangup/> & "load"'))
    root = ET.fromstring(script)
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Say", "Pause", "Say", "Say"]
    said = root[0].text or ""
    assert 'CPU <Hangup/> & "load"' in said and "number 42" in said and "Payment API" in said
    assert "<Hangup/>" not in script


def test_slack_text_cannot_mention_channels_or_inject_links() -> None:
    message = slack_message(make_page(title="<!channel> see <https://evil|here>"))
    dumped = str(message)
    assert "<!channel>" not in dumped and "<https://evil|here>" not in dumped
    assert "&lt;!channel&gt;" in message["text"]


def test_slack_blocks_have_link_buttons_only_for_actions_that_apply() -> None:
    blocks = slack_message(make_page())["blocks"]
    assert [block["type"] for block in blocks] == ["section", "section", "context", "actions"]
    buttons = blocks[-1]["elements"]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [
        ("Acknowledge", make_page().ack_url),
        ("Resolve", make_page().resolve_url),
        ("View incident", make_page().incident_url),
    ]
    resolved = slack_message(make_page(event="incident.resolved"))["blocks"][-1]["elements"]
    assert [b["text"]["text"] for b in resolved] == ["View incident"]
    no_links = slack_message(make_page(ack_url=None, resolve_url=None))["blocks"][-1]["elements"]
    assert [b["text"]["text"] for b in no_links] == ["View incident"]


def test_teams_card_is_an_adaptive_card_1_4_with_facts_and_open_url_actions() -> None:
    message = teams_message(make_page())
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert {"title": "Service", "value": "Payment API"} in card["body"][-1]["facts"]
    assert [(a["type"], a["title"]) for a in card["actions"]] == [
        ("Action.OpenUrl", "Acknowledge"),
        ("Action.OpenUrl", "Resolve"),
        ("Action.OpenUrl", "View incident"),
    ]


def test_ntfy_priority_is_max_only_for_a_high_page() -> None:
    assert ntfy_message("t", make_page())["priority"] == 5
    assert ntfy_message("t", make_page(urgency="LOW"))["priority"] == 3
    assert ntfy_message("t", make_page(event="incident.resolved"))["priority"] == 3


def test_webhook_payload_shape() -> None:
    payload = webhook_payload(make_page())
    assert set(payload) == {"event", "incident", "recipient", "ack_url", "resolve_url"}
    assert payload["incident"]["number"] == 42 and payload["incident"]["service"] == "Payment API"


def test_message_id_is_stable_per_key_and_uses_the_sender_domain() -> None:
    first = message_id("key-1", "Tocsin <pager@example.com>")
    assert first == message_id("key-1", "Tocsin <pager@example.com>")
    assert first != message_id("key-2", "Tocsin <pager@example.com>")
    assert (
        first.startswith("<") and first.endswith("@example.com>") and len(first) == 32 + len("<@example.com>")
    )
    assert message_id("k", "no-domain").endswith("@tocsin>")
    assert thread_id("inc_1", "pager@example.com") != first


def _answer(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://x"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"}, 30.0),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT"}, None),  # no Date to measure against
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "inf"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(_answer(headers)) == expected


def test_a_page_carries_the_alert_count_runbook_and_a_bounded_set_of_details() -> None:
    labels = {f"label{n:02d}": "v" * 500 for n in range(30)}
    page = make_page(
        alert_count=4,
        details=labels,
        links=(("Runbook", "https://runbooks.example.com/cpu"), ("Source", "http://prom:9090/graph")),
    )
    rows = facts(page)
    assert ("Alerts", "4") in rows
    details = [(label, value) for label, value in rows if label.startswith("label") or label == "…"]
    assert len(details) == DETAIL_LINES and details[-1] == ("…", f"{30 - DETAIL_LINES + 1} more")
    assert all(len(value) <= DETAIL_WIDTH for _, value in details)
    assert [(link.label, link.kind) for link in all_links(page)] == [
        ("Acknowledge", "ack"),
        ("Resolve", "resolve"),
        ("Runbook", "link"),
        ("Source", "link"),
        ("View incident", "view"),
    ]
    text = plain_text(page)
    assert "Runbook: https://runbooks.example.com/cpu" in text and "Alerts: 4" in text
    sms = sms_body(page)
    assert len(sms) <= 300 and "4 alerts" in sms and sms.endswith('Reply "42 ack" or "42 resolve"')
    assert "label00=" in sms


def test_a_notice_says_who_acted() -> None:
    page = make_page(event="incident.acknowledged", changed_by="Erik")
    assert headline(page).startswith("#42 Acknowledged by Erik: High CPU on web-01")
    assert sms_body(page).startswith("[Tocsin] #42 Acknowledged by Erik: ")
    assert headline(make_page(event="incident.acknowledged")).startswith("#42 ACKNOWLEDGED: ")
