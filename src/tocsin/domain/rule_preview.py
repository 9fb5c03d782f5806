"""A person's notification rules in plain words ("High urgency: SMS at once, voice call after
5 min"), so the profile says what a page will do before one comes at 3 am, instead of a table of
delays to add up in one's head."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

# How a person says each channel; an unknown type is shown as stored rather than hidden.
CHANNEL_WORDS: Final = {
    "email": "email",
    "sms": "SMS",
    "voice": "voice call",
    "push": "push notification",
    "slack": "Slack message",
    "teams": "Teams message",
    "webhook": "webhook",
}
URGENCY_WORDS: Final = {"high": "High urgency", "low": "Low urgency"}


@dataclass(frozen=True, slots=True)
class RuleStep:
    """One notification rule as the preview needs it: when, and through which kind of method."""

    urgency: str
    channel: str
    delay_minutes: int


def delay_text(minutes: int) -> str:
    """``at once``, ``after 5 min``, ``after 1 h``, ``after 1 h 30 min``."""
    if minutes <= 0:
        return "at once"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"after {rest} min"
    return f"after {hours} h" + (f" {rest} min" if rest else "")


def urgency_preview(urgency: str, steps: Iterable[RuleStep], account_email: str) -> str:
    """One urgency's rules, soonest first: ``High urgency: SMS at once, voice call after 5 min``;
    with none, what the engine does then (``people.contacts.plan_for``): one email to the
    person's account address at once, so a person paged is never silently unreachable."""
    mine = sorted((s for s in steps if s.urgency == urgency), key=lambda s: (s.delay_minutes, s.channel))
    label = URGENCY_WORDS.get(urgency, urgency)
    if not mine:
        return f"{label}: no rules, so one email to {account_email} at once"
    parts = [f"{CHANNEL_WORDS.get(s.channel, s.channel)} {delay_text(s.delay_minutes)}" for s in mine]
    return f"{label}: {', '.join(parts)}"


def preview(steps: Iterable[RuleStep], account_email: str) -> list[str]:
    """Both urgencies, high first: the lines the profile shows above the rules."""
    listed = list(steps)
    return [urgency_preview(urgency, listed, account_email) for urgency in URGENCY_WORDS]
