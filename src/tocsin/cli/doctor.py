"""``tocsin doctor``: will a page get out? Asks the server, as any client would, and prints one
section per check (today: the delivery channels); exits 4 when a check finds a problem, so a script
tells "the pager is broken" (4) from "the server refused" (1) or "cannot reach it" (3)."""

from __future__ import annotations

import typer
from rich.console import Group
from rich.text import Text

from tocsin.cli.client import ApiClient, AsJson, Key, ProfileName, Url
from tocsin.cli.common import now, print_json, stdout
from tocsin.cli.doctor_channels import channel_section

EXIT_PROBLEMS = 4


def doctor(url: Url = None, key: Key = None, profile: ProfileName = None, as_json: AsJson = False) -> None:
    """Check that pages can reach people: each delivery channel (SMTP, Twilio, ntfy, Slack, Teams,
    webhooks) with its status, last success and failure, last error and 24 h counts. Exit codes:
    0 all well, 1 the server refused, 2 usage, 3 unreachable, 4 a problem found (a failing channel)."""
    with ApiClient(url, key, profile) as client:
        sections = [channel_section(client, now())]
    healthy = all(section.ok for section in sections)
    if as_json:
        print_json({"ok": healthy, **{section.name: section.data for section in sections}})
    else:
        verdict = Text("All checks passed." if healthy else "Problems found.", style="bold")
        stdout().print(Group(*(section.view for section in sections), Text(""), verdict))
    if not healthy:
        raise typer.Exit(EXIT_PROBLEMS)
