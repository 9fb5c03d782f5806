"""Which channel serves which type, the unconfigured-channel error, and the test-mode sink."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.notify.support import http_client, make_page
from tocsin.notify.base import Permanent, Receipt
from tocsin.notify.email import EmailChannel, EmailConfig
from tocsin.notify.ntfy import NtfyChannel, NtfyConfig
from tocsin.notify.registry import CHANNEL_TYPES, Channels, RecordingSink
from tocsin.notify.slack import SlackChannel
from tocsin.notify.teams import TeamsChannel
from tocsin.notify.twilio import TwilioConfig, TwilioSms, TwilioVoice
from tocsin.notify.webhook import WebhookChannel

TWILIO = TwilioConfig(account_sid="AC1", auth_token="secret-token", from_number="+15550001111")
EMAIL = EmailConfig(host="127.0.0.1", from_address="pager@example.com")


def test_each_type_maps_to_its_channel_when_configured() -> None:
    async def check() -> None:
        async with http_client() as http:
            channels = Channels(http, email=EMAIL, twilio=TWILIO, ntfy=NtfyConfig())
            expected = {
                "email": EmailChannel,
                "sms": TwilioSms,
                "voice": TwilioVoice,
                "push": NtfyChannel,
                "slack": SlackChannel,
                "teams": TeamsChannel,
                "webhook": WebhookChannel,
            }
            assert set(expected) == set(CHANNEL_TYPES) == channels.configured
            for channel_type, cls in expected.items():
                channel = channels.channel_for(channel_type)
                assert isinstance(channel, cls)
                assert channel.name == channel_type

    asyncio.run(check())


@pytest.mark.parametrize("channel_type", ["email", "sms", "voice", "push", "slack", "teams", "webhook"])
def test_an_unconfigured_channel_fails_the_page_with_a_reason(channel_type: str) -> None:
    channels = Channels()  # no HTTP client, no email, no Twilio, no ntfy
    assert channels.configured == frozenset()
    with pytest.raises(Permanent) as caught:
        channels.channel_for(channel_type)
    assert caught.value.reason == f"{channel_type} is not configured on this server"


def test_sms_without_twilio_is_not_configured_even_with_http() -> None:
    async def check() -> None:
        async with http_client() as http:
            channels = Channels(http, slack=None)
            assert channels.configured == {"teams", "webhook"}
            with pytest.raises(Permanent, match="^sms is not configured on this server$"):
                channels.channel_for("sms")
            with pytest.raises(Permanent, match="slack is not configured"):
                channels.channel_for("slack")

    asyncio.run(check())


def test_an_unknown_type_is_permanent() -> None:
    with pytest.raises(Permanent, match="unknown channel type 'pager'"):
        Channels().channel_for("pager")
    with pytest.raises(Permanent, match="unknown channel type"):
        Channels(record_all=True).channel_for("pager")


def test_test_mode_pages_go_to_the_sink_even_for_unconfigured_types() -> None:
    sink = RecordingSink()
    channels = Channels(sink=sink)
    page = make_page()
    sms = channels.channel_for("sms", livemode=False)
    email = channels.channel_for("email", livemode=False)
    assert sms.name == email.name == "sink"

    first = asyncio.run(sms.send("+15551234567", page))
    second = asyncio.run(email.send("ada@example.com", page))

    assert isinstance(first, Receipt) and first.provider_id == "sink-1" and second.provider_id == "sink-2"
    assert [(d.channel_type, d.address, d.page) for d in sink.deliveries] == [
        ("sms", "+15551234567", page),
        ("email", "ada@example.com", page),
    ]
    assert [d.address for d in sink.of_type("email")] == ["ada@example.com"]
    assert len(sink) == 2
    sink.clear()
    assert sink.deliveries == []


def test_recording_channels_send_nothing_for_any_type() -> None:
    channels = Channels.recording()
    assert channels.configured == frozenset(CHANNEL_TYPES)
    for channel_type in CHANNEL_TYPES:
        asyncio.run(channels.channel_for(channel_type).send(f"addr-{channel_type}", make_page()))
    assert [d.channel_type for d in channels.sink.deliveries] == list(CHANNEL_TYPES)


def test_the_twilio_token_is_not_in_the_config_repr() -> None:
    assert "secret-token" not in repr(TWILIO)
    assert "hunter2" not in repr(EmailConfig(host="h", from_address="a@b", password="hunter2"))
