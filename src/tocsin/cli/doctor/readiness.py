"""``tocsin doctor``'s Readiness section, from ``GET /api/readiness``: services without a policy,
levels and gaps that reach nobody in the next 7 days, people who cannot be reached, channels used
but not configured; grouped by severity and kind, errors first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from rich.console import Group, RenderableType
from rich.text import Text

from tocsin.cli.client import ApiClient, Refused
from tocsin.cli.doctor.section import STYLES, Section, refused

# How each readiness kind is headed; a kind this client does not know is shown by its code.
KIND_TITLES: Final = {
    "service_without_policy": "Services without an escalation policy",
    "policy_without_levels": "Policies that page nobody",
    "level_without_responders": "Levels that reach nobody",
    "coverage_gap": "Gaps in coverage",
    "user_without_contact": "People without a contact method",
    "user_without_rule": "People without notification rules",
    "contact_not_verified": "Contact methods not verified",
    "channel_not_configured": "Channels not configured on the server",
    "service_in_maintenance": "Services in maintenance",
}


def _finding(item: dict[str, Any]) -> Text:
    line = Text("  • ")
    line.append(item["message"], style=STYLES.get(item["severity"], ""))
    return line


def readiness_view(report: dict[str, Any]) -> RenderableType:
    """A summary line, then the findings grouped by severity and kind, in the server's order."""
    window = report["window"]
    summary = report["summary"]
    start, end = (datetime.fromisoformat(window[edge].replace("Z", "+00:00")) for edge in ("start", "end"))
    horizon = f"over the next {round((end - start) / timedelta(days=1))} days"
    if report["ready"]:
        head = Text("Ready: every page reaches someone ", style="green")
        head.append(horizon)
        if summary["warnings"]:
            head.append(f" ({summary['warnings']} warning{'s' if summary['warnings'] != 1 else ''})")
    else:
        head = Text(
            f"Not ready: {summary['errors']} error{'s' if summary['errors'] != 1 else ''}, "
            f"{summary['warnings']} warning{'s' if summary['warnings'] != 1 else ''} {horizon}",
            style=STYLES["error"],
        )
    parts: list[RenderableType] = [head]
    for severity, heading in (("error", "Errors: a page will reach nobody"), ("warning", "Warnings")):
        chosen = [item for item in report["findings"] if item["severity"] == severity]
        if not chosen:
            continue
        parts.append(Text(f"\n{heading}", style=STYLES[severity]))
        for kind in dict.fromkeys(item["kind"] for item in chosen):
            parts.append(Text(f" {KIND_TITLES.get(kind, kind)} ({kind})", style="bold"))
            parts += [_finding(item) for item in chosen if item["kind"] == kind]
    return Group(*parts)


def readiness(client: ApiClient) -> Section:
    """``GET /api/readiness``: services without a policy, levels and gaps that reach nobody in the
    next 7 days, people who cannot be reached, channels used but not configured."""
    key, title = "readiness", "Readiness"
    try:
        report = client.call("GET", "/api/readiness")["data"]
    except Refused as exc:
        return refused(key, title, exc)
    return Section(key, title, report, readiness_view(report), int(report["summary"]["errors"]))
