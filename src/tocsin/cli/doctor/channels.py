"""``tocsin doctor``'s Channels section: each delivery channel's status, last success and
failure, its last error and the last 24 h counts, from ``GET /api/org/channel-health``. A failing
channel (no success for the server's TOCSIN_CHANNEL_FAILING_MINUTES) is a problem: the section is
not ok, and ``doctor`` exits nonzero, so a cron job or a deploy check notices a pager that cannot
page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Group
from rich.text import Text

from tocsin.cli.client import ApiClient, Refused
from tocsin.cli.common import now
from tocsin.cli.doctor.section import Section, refused
from tocsin.cli.render import table
from tocsin.cli.when import show, show_optional
from tocsin.domain.channel_health import PROVIDERS

PATH = "/api/org/channel-health"
COLUMNS = ("Channel", "Status", "Last success", "Last failure", "Last error", "Last 24 h")
STATUS_WORDS = {
    "ok": "ok",
    "failing": "FAILING",
    "unused": "not used yet",
    "not_configured": "not configured",
}


def _name(channel: str) -> str:
    provider = PROVIDERS.get(channel)
    return f"{channel} ({provider})" if provider else channel


def _status(entry: dict[str, Any]) -> str:
    """A channel whose last attempt failed, not yet for long enough to be failing, says so."""
    word = STATUS_WORDS.get(entry["status"], entry["status"])
    return f"{word} (last attempt failed)" if entry["status"] == "ok" and entry["failing_since"] else word


def _row(moment: datetime) -> Any:
    def row(entry: dict[str, Any]) -> list[str]:
        counts = entry["last_24h"]
        return [
            _name(entry["channel"]),
            _status(entry),
            show_optional(entry["last_success_at"], moment),
            show_optional(entry["last_failure_at"], moment),
            entry["last_error"] or "",
            f"{counts['succeeded']} sent, {counts['failed']} failed",
        ]

    return row


def _verdict(channels: list[dict[str, Any]], minutes: float, moment: datetime) -> list[Text]:
    failing = [entry for entry in channels if entry["status"] == "failing"]
    if not failing:
        return [Text("No channel is failing.", style="green")]
    lines = [
        Text(
            f"{_name(entry['channel'])} has failed since {show(entry['failing_since'], moment)} "
            f"with no success: {entry['last_error'] or 'no error recorded'}",
            style="red",
        )
        for entry in failing
    ]
    lines.append(Text(f"(failing: no success for {minutes:g} minutes or more)", style="dim"))
    return lines


def channels(client: ApiClient) -> Section:
    """The channels as the calling key's org and mode see them; a failing one is an error."""
    key, title = "channels", "Channels"
    try:
        data = client.call("GET", PATH)["data"]
    except Refused as exc:
        return refused(key, title, exc)
    moment = now()
    entries: list[dict[str, Any]] = data["channels"]
    view = Group(
        table(COLUMNS, entries, _row(moment)),
        *_verdict(entries, float(data["failing_after_minutes"]), moment),
    )
    failing = sum(1 for entry in entries if entry["status"] == "failing")
    return Section(key, title, data, view, failing)
