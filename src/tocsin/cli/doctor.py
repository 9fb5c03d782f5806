"""``tocsin doctor``: will a page reach someone? Asks the server (over the API, like every client
command) and prints one section per check, errors first, so the answer is readable at 3 am and
scriptable at any hour (``--json``; exit 4 while any check has an error).

A check is one function from the client to a ``Section``; ``CHECKS`` lists them in the order
printed. Adding one (the channel health of ``GET /api/org/channel-health``) is one function and
one line there. A check the server refuses (a key without the scope) is shown as that section's
error instead of hiding the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from tocsin.cli.client import ApiClient, AsJson, Key, ProfileName, Refused, Url
from tocsin.cli.common import print_json, stdout

EXIT_NOT_READY: Final = 4

# How each readiness kind is headed; a kind this client does not know is shown by its code.
KIND_TITLES: Final = {
    "service_without_policy": "Services without an escalation policy",
    "policy_without_levels": "Policies that page nobody",
    "level_without_responders": "Levels that reach nobody",
    "coverage_gap": "Gaps in coverage",
    "user_without_contact": "People without a contact method",
    "user_without_rule": "People without notification rules",
    "channel_not_configured": "Channels not configured on the server",
    "service_in_maintenance": "Services in maintenance",
}
STYLES: Final = {"error": "bold red", "warning": "yellow"}


@dataclass(frozen=True, slots=True)
class Section:
    """One check's answer: ``body`` is what ``--json`` prints under ``key``, ``view`` what people
    read under ``title``; ``errors`` counts what makes the exit code nonzero."""

    key: str
    title: str
    body: Any
    view: RenderableType
    errors: int


Check = Callable[[ApiClient], Section]


def _refused(key: str, title: str, exc: Refused) -> Section:
    line = Text(f"Could not check: {exc.line}", style=STYLES["error"])
    return Section(key, title, {"error": {"code": exc.code, "message": exc.message}}, line, 1)


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
        return _refused(key, title, exc)
    return Section(key, title, report, readiness_view(report), int(report["summary"]["errors"]))


CHECKS: Final[tuple[Check, ...]] = (readiness,)


def doctor(url: Url = None, key: Key = None, profile: ProfileName = None, as_json: AsJson = False) -> None:
    """Check that pages will reach someone: readiness (services, escalation levels and schedules
    over the next 7 days, people's contact methods and rules, channels the server cannot send
    on). Exit 0 when nothing is an error, 4 when something is (warnings do not count)."""
    with ApiClient(url, key, profile) as client:
        sections = [check(client) for check in CHECKS]
    if as_json:
        print_json({section.key: section.body for section in sections})
    else:
        console = stdout()
        for section in sections:
            console.rule(Text(section.title, style="bold"), align="left")
            console.print(section.view)
            console.print()
    if any(section.errors for section in sections):
        raise typer.Exit(EXIT_NOT_READY)
