"""Slack, Teams, ntfy and webhooks against a real local server: wire formats, then one status
table that every HTTP channel (Twilio included) must map the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.factories import recorder as recorder_factory
from tests.factories.recorder import Recorder, silent_listener, unused_port
from tests.unit.notify.support import http_client, make_page
from tocsin.notify.base import Channel, Page, Permanent, Receipt, Transient
from tocsin.notify.ntfy import NtfyChannel, NtfyConfig
from tocsin.notify.slack import SlackChannel, SlackConfig
from tocsin.notify.teams import ADAPTIVE_CARD, TeamsChannel, TeamsConfig
from tocsin.notify.twilio import TwilioConfig, TwilioSms
from tocsin.notify.webhook import WebhookChannel, WebhookConfig

recorder = recorder_factory.recorder  # the fixture, requested by name below

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"
NTFY_TOKEN = "tk_secret_ntfy_token"


def send(build: Callable[[httpx.AsyncClient], Channel], address: str, page: Page) -> Receipt:
    async def go() -> Receipt:
        async with http_client() as http:
            return await build(http).send(address, page)

    return asyncio.run(go())


# wire formats


def test_slack_posts_blocks_to_the_webhook_url(recorder: Recorder) -> None:
    page = make_page(title="<script>x</script>")
    receipt = send(SlackChannel, recorder.url + SECRET_PATH, page)

    [request] = recorder.wait_for(1)
    assert (request.method, request.path) == ("POST", SECRET_PATH)
    assert request.content_type == "application/json"
    body = request.json
    assert body["text"] == "#42 HIGH: &lt;script&gt;x&lt;/script&gt; (Payment API)"
    assert "<script>" not in request.text
    assert [block["type"] for block in body["blocks"]] == ["section", "section", "context", "actions"]
    assert [button["url"] for button in body["blocks"][-1]["elements"]] == [
        page.ack_url,
        page.resolve_url,
        page.incident_url,
    ]
    assert receipt.detail == "ok"


def test_teams_posts_an_adaptive_card_message(recorder: Recorder) -> None:
    recorder.respond(202, body="")  # Workflows answer 202 Accepted
    page = make_page()
    send(TeamsChannel, recorder.url + "/webhookb2/abc", page)

    [request] = recorder.wait_for(1)
    body = request.json
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert [block["type"] for block in card["body"]] == ["TextBlock", "TextBlock", "TextBlock", "FactSet"]
    assert card["body"][1]["text"] == "#42 High CPU on web-01"
    assert [(a["title"], a["url"]) for a in card["actions"]] == [
        ("Acknowledge", page.ack_url),
        ("Resolve", page.resolve_url),
        ("View incident", page.incident_url),
    ]


def test_teams_throttling_reported_in_a_200_body_is_transient(recorder: Recorder) -> None:
    recorder.respond(200, body="Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0")
    with pytest.raises(Transient, match="throttled"):
        send(TeamsChannel, recorder.url + "/webhookb2/abc", make_page())


def test_ntfy_publishes_json_to_the_server_root(recorder: Recorder) -> None:
    recorder.respond(200, json={"id": "hwQ2YpKdmg", "event": "message", "topic": "oncall-ada"})
    page = make_page()
    receipt = send(
        lambda http: NtfyChannel(http, NtfyConfig(server_url=recorder.url, access_token=NTFY_TOKEN)),
        "oncall-ada",
        page,
    )

    [request] = recorder.wait_for(1)
    assert (request.method, request.path) == ("POST", "/")
    assert request.header("Authorization") == f"Bearer {NTFY_TOKEN}"
    body = request.json
    assert body["topic"] == "oncall-ada"
    assert body["title"] == "#42 HIGH: High CPU on web-01 (Payment API)"
    assert "CPU above 95% for 10 minutes." in body["message"]
    assert body["priority"] == 5
    assert "rotating_light" in body["tags"]
    assert body["click"] == page.incident_url
    assert body["actions"] == [
        {"action": "view", "label": "Acknowledge", "url": page.ack_url, "clear": True},
        {"action": "view", "label": "Resolve", "url": page.resolve_url, "clear": True},
    ]
    assert receipt.provider_id == "hwQ2YpKdmg"


def test_ntfy_on_a_path_prefix_without_a_token(recorder: Recorder) -> None:
    send(lambda http: NtfyChannel(http, NtfyConfig(server_url=recorder.url + "/ntfy/")), "t1", make_page())
    [request] = recorder.wait_for(1)
    assert request.path == "/ntfy/" and request.header("Authorization") is None
    assert request.json["priority"] == 5


def test_ntfy_rejects_a_topic_it_cannot_publish_to(recorder: Recorder) -> None:
    with pytest.raises(Permanent, match="topic"):
        send(lambda http: NtfyChannel(http, NtfyConfig(server_url=recorder.url)), "a/b c", make_page())
    assert recorder.requests == []


def test_webhook_posts_the_documented_payload_with_an_idempotency_key(recorder: Recorder) -> None:
    page = make_page(event="incident.escalated")
    send(WebhookChannel, recorder.url + "/hooks/ada?x=1", page)

    [request] = recorder.wait_for(1)
    assert (request.method, request.path, request.query) == ("POST", "/hooks/ada", {"x": ["1"]})
    assert request.header("Idempotency-Key") == page.idempotency_key
    assert request.header("User-Agent") == "Tocsin"
    assert request.json == {
        "event": "incident.escalated",
        "incident": {
            "id": "inc_01J0",
            "number": 42,
            "title": "High CPU on web-01",
            "status": "OPEN",
            "urgency": "HIGH",
            "service": "Payment API",
            "url": page.incident_url,
            "description": "CPU above 95% for 10 minutes.",
            "source": "prometheus",
            "details": {"instance": "web-01:9100"},
        },
        "recipient": "Ada Lovelace",
        "ack_url": page.ack_url,
        "resolve_url": page.resolve_url,
    }


def test_a_retried_webhook_carries_the_same_key(recorder: Recorder) -> None:
    recorder.respond(503)
    page = make_page()
    with pytest.raises(Transient):
        send(WebhookChannel, recorder.url + "/h", page)
    send(WebhookChannel, recorder.url + "/h", page)
    first, retry = recorder.wait_for(2)
    assert first.header("Idempotency-Key") == retry.header("Idempotency-Key") == page.idempotency_key
    assert first.body == retry.body


@pytest.mark.parametrize("address", ["ftp://example.com/x", "not a url", "/relative", "mailto:a@b.c"])
def test_a_webhook_address_that_is_not_http_is_permanent(address: str) -> None:
    with pytest.raises(Permanent, match="http"):
        send(WebhookChannel, address, make_page())


# one status table for every HTTP channel


@dataclass(frozen=True)
class Target:
    name: str
    build: Callable[[httpx.AsyncClient, str, float], Channel]  # (http, server url, timeout)
    address: Callable[[str], str]  # server url -> address
    secrets: tuple[str, ...]

    def send(self, server_url: str, timeout: float = 5.0) -> Receipt:
        return send(lambda http: self.build(http, server_url, timeout), self.address(server_url), make_page())


TARGETS = [
    Target(
        "slack",
        lambda http, url, t: SlackChannel(http, SlackConfig(timeout=t)),
        lambda url: url + SECRET_PATH,
        (SECRET_PATH, "XXXXsecretXXXX"),
    ),
    Target(
        "teams",
        lambda http, url, t: TeamsChannel(http, TeamsConfig(timeout=t)),
        lambda url: url + SECRET_PATH,
        (SECRET_PATH, "XXXXsecretXXXX"),
    ),
    Target(
        "push",
        lambda http, url, t: NtfyChannel(
            http, NtfyConfig(server_url=url, access_token=NTFY_TOKEN, timeout=t)
        ),
        lambda url: "secret-topic-name",
        (NTFY_TOKEN, "secret-topic-name"),
    ),
    Target(
        "webhook",
        lambda http, url, t: WebhookChannel(http, WebhookConfig(timeout=t)),
        lambda url: url + SECRET_PATH,
        (SECRET_PATH, "XXXXsecretXXXX"),
    ),
    Target(
        "sms",
        lambda http, url, t: TwilioSms(
            http,
            TwilioConfig(
                account_sid="AC1", auth_token="tw-token", from_number="+15550001111", base_url=url, timeout=t
            ),
        ),
        lambda url: "+15557654321",
        ("tw-token",),
    ),
]
IDS = [target.name for target in TARGETS]


def assert_no_secrets(target: Target, error: Exception) -> None:
    for secret in target.secrets:
        assert secret not in str(error)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_a_receipt(recorder: Recorder, target: Target, status: int) -> None:
    recorder.respond(status, body="" if status == 204 else None)
    assert isinstance(target.send(recorder.url), Receipt)
    assert len(recorder.wait_for(1)) == 1


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_429_is_transient_with_retry_after(recorder: Recorder, target: Target) -> None:
    recorder.respond(429, body="rate_limited", headers={"Retry-After": "12"})
    with pytest.raises(Transient) as caught:
        target.send(recorder.url)
    assert caught.value.retry_after == 12.0
    assert caught.value.reason.startswith(f"{target.name}: HTTP 429 from 127.0.0.1")
    assert_no_secrets(target, caught.value)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
@pytest.mark.parametrize("status", [500, 503, 408])
def test_5xx_and_408_are_transient(recorder: Recorder, target: Target, status: int) -> None:
    recorder.respond(status, body="rollup_error")
    with pytest.raises(Transient) as caught:
        target.send(recorder.url)
    assert caught.value.retry_after is None
    assert f"HTTP {status}" in caught.value.reason
    assert_no_secrets(target, caught.value)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
        (301, ""),
    ],
)
def test_other_answers_are_permanent(recorder: Recorder, target: Target, status: int, body: str) -> None:
    recorder.respond(status, body=body, headers={"Location": "http://elsewhere/"} if status == 301 else None)
    with pytest.raises(Permanent) as caught:
        target.send(recorder.url)
    assert f"HTTP {status}" in caught.value.reason and body in caught.value.reason
    assert_no_secrets(target, caught.value)
    assert len(recorder.requests) == 1  # no redirect followed


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_an_error_body_is_clipped(recorder: Recorder, target: Target) -> None:
    recorder.respond(400, body="e" * 5000)
    with pytest.raises(Permanent) as caught:
        target.send(recorder.url)
    assert len(caught.value.reason) < 360


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_a_slow_answer_times_out_as_transient(recorder: Recorder, target: Target) -> None:
    recorder.respond(200, delay=30)
    with pytest.raises(Transient) as caught:
        target.send(recorder.url, timeout=0.1)
    assert caught.value.reason == f"{target.name}: no answer from 127.0.0.1 within 0.1s"
    assert len(recorder.wait_for(1)) == 1


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_a_server_that_accepts_but_never_answers_is_transient(target: Target) -> None:
    with silent_listener() as port, pytest.raises(Transient, match="no answer"):
        target.send(f"http://127.0.0.1:{port}", timeout=0.1)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_connection_refused_is_transient(target: Target) -> None:
    with pytest.raises(Transient) as caught:
        target.send(f"http://127.0.0.1:{unused_port()}")
    assert caught.value.reason.startswith(f"{target.name}: cannot reach 127.0.0.1")
    assert_no_secrets(target, caught.value)
