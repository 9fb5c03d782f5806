"""The one small interface every channel implements, and the message it renders.

A channel turns a ``Page`` into one provider call. It never retries by itself and never touches the
database: the engine owns retries (a durable job per page, with backoff) and records outcomes. A
channel says how an attempt failed by raising ``Transient`` (worth retrying: 5xx, 429, timeouts,
connection errors) or ``Permanent`` (a 4xx, a bad address); anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Transient(Exception):  # noqa: N818 - a kind of outcome, named like the others
    """Try again later; ``retry_after`` (seconds) when the provider said how long to wait."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Permanent(Exception):  # noqa: N818
    """Retrying cannot help; the page fails with ``reason`` on the incident's timeline."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Page:
    """Everything a channel may show about an incident, already decided by the engine.

    ``ack_url`` / ``resolve_url`` are signed one-click links (None when the channel must not carry
    them, e.g. a shared room). ``idempotency_key`` is stable across retries of the same page; a
    channel passes it to providers that deduplicate (Twilio's ``I-Twilio-Idempotency-Token``, the
    email ``Message-ID``, an ``Idempotency-Key`` header)."""

    idempotency_key: str
    incident_id: str
    incident_number: int
    title: str
    status: str  # OPEN | ACKNOWLEDGED | RESOLVED ...
    urgency: str  # HIGH | MEDIUM | LOW
    service_name: str
    incident_url: str
    recipient_name: str | None = None
    description: str | None = None
    source: str | None = None
    ack_url: str | None = None
    resolve_url: str | None = None
    event: str = "incident.triggered"
    # Who acknowledged or resolved, on a notice to the others paged (``incident.acknowledged`` ...).
    changed_by: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    # The escalation level that paged, counted from 1 as the timeline and the CLI count it.
    escalation_level: int | None = None
    # The incident's own links (``runbook_url`` first for Alertmanager), as (label, URL).
    links: tuple[tuple[str, str], ...] = ()
    # Alerts grouped into the incident so far (1 for a single event).
    alert_count: int = 1


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the provider answered: its id for the message when it gives one, and a short note."""

    provider_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A few words to one person that are not about an incident: a contact method's verification
    code or its test page. ``subject`` is one line (an email subject, a push title); ``text`` is
    the whole message in plain words (short enough for one SMS); ``spoken`` is what a call reads.
    ``kind`` (``contact.verification``, ``contact.test``) tells a webhook receiver what it is."""

    idempotency_key: str
    kind: str
    subject: str
    text: str
    spoken: str


class Channel(Protocol):
    """``address`` is the contact method's address (email, E.164 number, ntfy topic, webhook URL).
    ``send`` pages about an incident; ``send_message`` carries a ``Message`` through the same
    provider, so a test page or a code proves exactly the path a page would take."""

    name: str

    async def send(self, address: str, page: Page) -> Receipt: ...

    async def send_message(self, address: str, message: Message) -> Receipt: ...
