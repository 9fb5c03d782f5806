"""What a channel's health record means to a person: ok, failing, unused or not configured, and
which hourly counts make "the last 24 hours".

A channel is a kind of delivery (``email``, ``sms``, ``voice``, ``push``, ``slack``, ``teams``,
``webhook``: the contact-method types, which is what the engine has at hand when it records an
attempt), not one address. "Failing" waits ``failing_after`` (a setting, minutes) so one refused
connection that the next retry gets through does not page anybody about the pager."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

# Every channel the health view always lists, configured or not, in the order people read them.
CHANNELS: Final = ("email", "sms", "voice", "push", "slack", "teams", "webhook")
# What the operator configures for each, where its name does not say (``tocsin doctor`` shows it).
PROVIDERS: Final = {"email": "SMTP", "sms": "Twilio", "voice": "Twilio", "push": "ntfy", "webhook": "HTTP"}
# The channels that need only an address (a room, a person's webhook, a subscription): an org
# configures them; the others need the server's settings (SMTP, Twilio, ntfy).
ADDRESSED: Final = frozenset({"slack", "teams", "webhook"})
# The channel names an attempt may be recorded under that mean one of CHANNELS.
ALIASES: Final = {"ntfy": "push"}

HOUR: Final = timedelta(hours=1)
WINDOW: Final = timedelta(hours=24)

Status = Literal["ok", "failing", "unused", "not_configured"]


def canonical(channel: str) -> str:
    """The name an attempt is stored under: ``ntfy`` is the ``push`` channel."""
    return ALIASES.get(channel, channel)


def hour_of(at: datetime) -> datetime:
    """The start of the clock hour ``at`` falls in: the key of its hourly count."""
    return at.replace(minute=0, second=0, microsecond=0)


def window_start(now: datetime) -> datetime:
    """The first hourly count inside "the last 24 h": the current, partial hour and the 24 whole
    hours before it, so the sum never misses an attempt of the last 24 hours (it may include up to
    one more hour; hourly rows cannot say which minute an attempt came in)."""
    return hour_of(now) - WINDOW


def is_failing(failing_since: datetime | None, now: datetime, failing_after: timedelta) -> bool:
    """Failing: no success since ``failing_since`` (the store clears it on success) and that has
    lasted at least ``failing_after``."""
    return failing_since is not None and now - failing_since >= failing_after


def status_of(*, configured: bool, attempted: bool, failing: bool) -> Status:
    """A failing channel says so even when no longer configured (its pages are still failing); an
    unconfigured one says so before its old successes; ``unused``: configured, never attempted."""
    if failing:
        return "failing"
    if not configured:
        return "not_configured"
    return "ok" if attempted else "unused"
