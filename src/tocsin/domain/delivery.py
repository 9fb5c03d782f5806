"""One page's delivery attempts, as pure decisions: whether a failed attempt is tried again and
when, until when retries make sense, and how an attempt reads in a timeline entry or a log line.

Why a deadline: a page is worth sending only while the level that sent it is still the one
escalating. After an outage, retries that kept piling up would reach a responder all at once,
long after the policy moved on (six stale emails in one minute, seen in issue 19). So retries stop
at the next escalation step, and where there is none at a cap counted from the first failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

# With no next step to wait for (the last level of the last pass), how long a page keeps being
# retried after its first failure: long enough for a provider's blip, short enough that the
# page still means "now".
LAST_LEVEL_RETRY_CAP: Final = timedelta(minutes=10)

_LABELS: Final = {
    "email": "Email",
    "sms": "SMS",
    "voice": "Voice call",
    "push": "Push notification",
    "slack": "Slack message",
    "teams": "Teams message",
    "webhook": "Webhook",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What follows a failed attempt: ``retry_at`` is set when it is tried again; ``stop`` says
    why not otherwise (``attempts`` used up, the ``deadline`` comes first, or ``permanent``)."""

    retry_at: datetime | None
    stop: Literal["attempts", "deadline", "permanent"] | None = None


def after_failure(
    *, attempt: int, max_attempts: int, now: datetime, wait: timedelta, deadline: datetime, permanent: bool
) -> Verdict:
    """Attempt ``attempt`` (1-based) failed at ``now``: retry after ``wait`` unless the failure is
    permanent, the attempts are spent, or the retry would not come before ``deadline`` (a retry at
    the moment the escalation moves on would be the stale page the deadline exists to stop)."""
    if permanent:
        return Verdict(None, "permanent")
    if attempt >= max_attempts:
        return Verdict(None, "attempts")
    retry_at = now + wait
    if retry_at >= deadline:
        return Verdict(None, "deadline")
    return Verdict(retry_at)


def retry_deadline(
    *, next_step_at: datetime | None, first_failed_at: datetime, cap: timedelta = LAST_LEVEL_RETRY_CAP
) -> datetime:
    """Until when a page may be retried: the next escalation step of its incident (which pages
    someone else or the same people again), or ``cap`` after its first failure, whichever is sooner."""
    capped = first_failed_at + cap
    return capped if next_step_at is None else min(next_step_at, capped)


def spoken_wait(wait: timedelta) -> str:
    """A wait as people read it on a timeline: "20 s", "2 min 40 s", "1 h 5 min"."""
    seconds = max(0, round(wait.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def channel_label(channel: str) -> str:
    """The word a timeline entry starts with for a contact type: ``email`` reads "Email"."""
    return _LABELS.get(channel, channel.capitalize())


def loggable_address(channel: str, address: str) -> str | None:
    """What a log line may show of an address: an email address whole, a phone number masked to
    its country code and last two digits (a log is read by more people than the contact list),
    nothing of a URL or a topic (Slack, Teams and webhook URLs and push topics are secrets)."""
    if channel == "email":
        return address
    if channel in ("sms", "voice"):
        if len(address) <= 5:
            return "*" * len(address)
        return address[:3] + "*" * (len(address) - 5) + address[-2:]
    return None
