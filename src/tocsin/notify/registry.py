"""Which channel serves a contact method type, built once from plain config objects.

The engine builds one ``Channels`` from its settings and asks it per page:
``channels.channel_for(method.type, livemode=incident.livemode)``. Test-mode pages go to the
``RecordingSink`` and are never sent. A type the server has no configuration for raises
``Permanent``, so the page fails with a reason an admin can act on instead of retrying.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Final

import httpx

from tocsin.notify.base import Channel, Message, Page, Permanent, Receipt
from tocsin.notify.email import EmailChannel, EmailConfig
from tocsin.notify.ntfy import NtfyChannel, NtfyConfig
from tocsin.notify.slack import SlackChannel, SlackConfig
from tocsin.notify.teams import TeamsChannel, TeamsConfig
from tocsin.notify.twilio import TwilioConfig, TwilioSms, TwilioVoice
from tocsin.notify.webhook import WebhookChannel, WebhookConfig

CHANNEL_TYPES: Final = ("email", "sms", "voice", "push", "slack", "teams", "webhook")

_SLACK: Final = SlackConfig()
_TEAMS: Final = TeamsConfig()
_WEBHOOK: Final = WebhookConfig()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One page the sink took instead of a provider."""

    channel_type: str
    address: str
    page: Page
    provider_id: str


@dataclass(frozen=True, slots=True)
class MessageDelivery:
    """One message (a verification code, a test page) the sink took instead of a provider."""

    channel_type: str
    address: str
    message: Message
    provider_id: str


class _Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[Delivery] = []
        self.messages: list[MessageDelivery] = []
        self.ids = itertools.count(1)


class RecordingSink:
    """A channel that keeps pages in memory and sends nothing: where test-mode incidents page,
    and what scenario tests read. ``for_type`` gives views that share one record, each stamping
    its channel type; it is safe to use from several threads."""

    name = "sink"

    def __init__(self, channel_type: str = "sink", *, _log: _Log | None = None) -> None:
        self.channel_type = channel_type
        self._log = _log if _log is not None else _Log()

    def for_type(self, channel_type: str) -> RecordingSink:
        return RecordingSink(channel_type, _log=self._log)

    async def send(self, address: str, page: Page) -> Receipt:
        with self._log.lock:
            provider_id = f"sink-{next(self._log.ids)}"
            self._log.items.append(Delivery(self.channel_type, address, page, provider_id))
        return Receipt(provider_id=provider_id, detail=f"recorded, not sent ({self.channel_type})")

    async def send_message(self, address: str, message: Message) -> Receipt:
        with self._log.lock:
            provider_id = f"sink-{next(self._log.ids)}"
            self._log.messages.append(MessageDelivery(self.channel_type, address, message, provider_id))
        return Receipt(provider_id=provider_id, detail=f"recorded, not sent ({self.channel_type})")

    @property
    def messages(self) -> list[MessageDelivery]:
        """Every message (not page) recorded so far, oldest first (a copy)."""
        with self._log.lock:
            return list(self._log.messages)

    @property
    def deliveries(self) -> list[Delivery]:
        """Everything recorded so far, oldest first (a copy)."""
        with self._log.lock:
            return list(self._log.items)

    def of_type(self, channel_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.channel_type == channel_type]

    def clear(self) -> None:
        with self._log.lock:
            self._log.items.clear()
            self._log.messages.clear()

    def __len__(self) -> int:
        with self._log.lock:
            return len(self._log.items)


class Channels:
    """The channels this server can use. Email needs ``email``; sms and voice need ``twilio``;
    push needs ``ntfy`` (pass ``NtfyConfig()`` for the public ntfy.sh). Slack, Teams and
    webhooks need only the HTTP client (pass None to switch one off). ``http`` is the engine's
    pooled client; without it no HTTP channel is available. ``record_all`` sends every page,
    live or not, to the sink: what scenario tests use."""

    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        email: EmailConfig | None = None,
        twilio: TwilioConfig | None = None,
        ntfy: NtfyConfig | None = None,
        slack: SlackConfig | None = _SLACK,
        teams: TeamsConfig | None = _TEAMS,
        webhook: WebhookConfig | None = _WEBHOOK,
        sink: RecordingSink | None = None,
        record_all: bool = False,
    ) -> None:
        self.sink = sink if sink is not None else RecordingSink()
        self.record_all = record_all
        channels: dict[str, Channel] = {}
        if email is not None:
            channels["email"] = EmailChannel(email)
        if http is not None:
            if twilio is not None:
                channels["sms"] = TwilioSms(http, twilio)
                channels["voice"] = TwilioVoice(http, twilio)
            if ntfy is not None:
                channels["push"] = NtfyChannel(http, ntfy)
            if slack is not None:
                channels["slack"] = SlackChannel(http, slack)
            if teams is not None:
                channels["teams"] = TeamsChannel(http, teams)
            if webhook is not None:
                channels["webhook"] = WebhookChannel(http, webhook)
        self._channels = channels

    @classmethod
    def recording(cls, sink: RecordingSink | None = None) -> Channels:
        """Every type goes to ``sink``; nothing is ever sent."""
        return cls(sink=sink, record_all=True)

    @property
    def configured(self) -> frozenset[str]:
        """The types a live page can use on this server."""
        return frozenset(CHANNEL_TYPES) if self.record_all else frozenset(self._channels)

    def channel_for(self, channel_type: str, *, livemode: bool = True) -> Channel:
        """The channel for a contact method type; ``Permanent`` when unknown or unconfigured."""
        if channel_type not in CHANNEL_TYPES:
            raise Permanent(f"unknown channel type {channel_type!r}; known types: {', '.join(CHANNEL_TYPES)}")
        if self.record_all or not livemode:
            return self.sink.for_type(channel_type)
        channel = self._channels.get(channel_type)
        if channel is None:
            raise Permanent(f"{channel_type} is not configured on this server")
        return channel
