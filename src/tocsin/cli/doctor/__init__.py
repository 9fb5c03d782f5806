"""``tocsin doctor``: will a page reach someone, and can it get out? Asks the server (over the API,
like every client command) and prints one section per check, so the answer is readable at 3 am
and scriptable at any hour (``--json``).

A check is one function from the client to a ``Section``; ``CHECKS`` lists them in the order
printed. A check the server refuses (a key without the scope) is shown as that section's error
instead of hiding the others. Exit codes tell a script what happened: 0 nothing is wrong, 1 the
server refused every check, 2 usage, 3 the server cannot be reached, 4 a problem was found (a
readiness error or a failing channel; warnings do not count)."""

from __future__ import annotations

from typing import Final

import typer
from rich.text import Text

from tocsin.cli.client import ApiClient, AsJson, Key, ProfileName, Url
from tocsin.cli.common import print_json, stdout
from tocsin.cli.doctor.channels import channels
from tocsin.cli.doctor.readiness import readiness
from tocsin.cli.doctor.section import Check

EXIT_REFUSED: Final = 1
EXIT_NOT_READY: Final = 4

CHECKS: Final[tuple[Check, ...]] = (readiness, channels)


def doctor(url: Url = None, key: Key = None, profile: ProfileName = None, as_json: AsJson = False) -> None:
    """Check that pages will reach someone and can get out: readiness (services, escalation levels
    and schedules over the next 7 days, people's contact methods and rules, channels the server
    cannot send on) and each delivery channel's health (SMTP, Twilio, ntfy, Slack, Teams, webhooks:
    status, last success and failure, last error, 24 h counts)."""
    with ApiClient(url, key, profile) as client:
        sections = [check(client) for check in CHECKS]
    healthy = not any(section.errors for section in sections)
    if as_json:
        print_json({"ok": healthy, **{section.key: section.body for section in sections}})
    else:
        console = stdout()
        for section in sections:
            console.rule(Text(section.title, style="bold"), align="left")
            console.print(section.view)
            console.print()
        console.print(Text("All checks passed." if healthy else "Problems found.", style="bold"))
    if all(section.refused for section in sections):
        raise typer.Exit(EXIT_REFUSED)
    if not healthy:
        raise typer.Exit(EXIT_NOT_READY)
