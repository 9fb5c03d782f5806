"""``send_message``: a verification code or a test page through each HTTP channel, against a real
local server, as the provider receives it; errors map exactly as a page's do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.factories import recorder as recorder_factory
from tests.factories.recorder import Recorder
from tests.unit.notify.support import http_client
from tocsin.notify.base import Channel, Message, Permanent, Receipt
from tocsin.notify.ntfy import NtfyChannel, NtfyConfig
from tocsin.notify.registry import RecordingSink
from tocsin.notify.slack import SlackChannel
from tocsin.notify.teams import ADAPTIVE_CARD, TeamsChannel
from tocsin.notify.webhook import WebhookChannel

recorder = recorder_factory.recorder

MESSAGE = Message(
    idempotency_key="contact_check:cmc_1",
    kind="contact.test",
    subject="[TEST] Tocsin test notification — no action needed",
    text="[TEST] Tocsin test notification — no action needed\n\nThis push contact method reaches you.",
    spoken="This is a Tocsin test notification.",
)


def send(build: Callable[[httpx.AsyncClient], Channel], address: str) -> Receipt:
    async def go() -> Receipt:
        async with http_client() as http:
            return await build(http).send_message(address, MESSAGE)

    return asyncio.run(go())


def test_ntfy_publishes_the_subject_as_title(recorder: Recorder) -> None:
    recorder.respond(200, json={"id": "ntfy-1"})
    receipt = send(lambda http: NtfyChannel(http, NtfyConfig(server_url=recorder.url)), "lee-pager")
    [request] = recorder.wait_for(1)
    assert request.json == {
        "topic": "lee-pager",
        "title": MESSAGE.subject,
        "message": MESSAGE.text.strip(),
        "priority": 3,
    }
    assert receipt.provider_id == "ntfy-1"


def test_slack_teams_and_webhooks_carry_the_text(recorder: Recorder) -> None:
    send(SlackChannel, recorder.url + "/slack")
    send(TeamsChannel, recorder.url + "/teams")
    send(WebhookChannel, recorder.url + "/hook")
    slack, teams, hook = recorder.wait_for(3)
    assert slack.json == {"text": MESSAGE.text.strip()}
    [attachment] = teams.json["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    assert attachment["content"]["body"][0]["text"] == MESSAGE.text.strip()
    assert hook.json == {"event": "contact.test", "message": MESSAGE.text}
    assert hook.header("Idempotency-Key") == MESSAGE.idempotency_key


def test_a_refusal_is_permanent_with_the_providers_words(recorder: Recorder) -> None:
    recorder.respond(404, body="no_team")
    with pytest.raises(Permanent, match="slack: HTTP 404 from 127.0.0.1: no_team"):
        send(SlackChannel, recorder.url + "/slack")


def test_the_sink_keeps_messages_apart_from_pages() -> None:
    sink = RecordingSink().for_type("sms")
    receipt = asyncio.run(sink.send_message("+14155550123", MESSAGE))
    assert receipt.provider_id is not None and receipt.provider_id.startswith("sink-")
    [kept] = sink.messages
    assert (kept.channel_type, kept.address, kept.message) == ("sms", "+14155550123", MESSAGE)
    assert sink.deliveries == []
