"""``tocsin incidents``: list (filters, every page, a live view), show with the timeline, and act on
one or several incidents by number (``#42``, ``42``) or id."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.rule import Rule
from rich.text import Text

from tocsin.cli.client import (
    EXIT_REFUSED,
    EXIT_USAGE,
    ApiClient,
    AsJson,
    Key,
    ProfileName,
    Refused,
    Url,
    incident_path,
)
from tocsin.cli.common import fail, now, print_json, stderr, stdout
from tocsin.cli.refs import POLICY, SERVICE, TEAM, USER, Names, resolve, resolve_many, when, when_param
from tocsin.cli.render import All, Limit, details, listing, table
from tocsin.cli.when import parse_duration, rfc3339, show, show_optional
from tocsin.domain.incident import Status, Urgency

app = typer.Typer(
    help="Incidents: list, show and act on them.",
    epilog="Example: tocsin incidents list --status open --watch",
    no_args_is_help=True,
)

Sort = Literal["created_at", "updated_at", "urgency", "status"]
Order = Literal["asc", "desc"]
COLUMNS = ["#", "Status", "Urgency", "Title", "Service", "Assignees", "Created"]
STATUS_STYLE = {"OPEN": "red", "ACKNOWLEDGED": "yellow", "SNOOZED": "blue", "RESOLVED": "green"}

Refs = Annotated[list[str], typer.Argument(help="Incident numbers (#42 or 42) or ids; several allowed.")]


# Waiting between redraws goes through this name, so a test can stand in for Ctrl-C.
pause: Callable[[float], None] = time.sleep


def _csv(values: list[str] | None, allowed: type[Status] | type[Urgency], option: str) -> str | None:
    """``open,acknowledged`` or repeated options, checked here so a typo is a usage error (exit 2)."""
    if not values:
        return None
    parts = [part.strip().upper() for value in values for part in value.split(",") if part.strip()]
    bad = [part for part in parts if part not in allowed.__members__]
    if bad:
        choices = ", ".join(member.lower() for member in allowed.__members__)
        fail(f"USAGE: {option}: {', '.join(bad).lower()} is not one of {choices}", EXIT_USAGE)
    return ",".join(parts)


def _row(names: Names, moment: datetime) -> Callable[[dict[str, Any]], list[str]]:
    def row(incident: dict[str, Any]) -> list[str]:
        return [
            f"#{incident['number']}",
            incident["status"],
            incident["urgency"],
            incident["title"],
            names.of(SERVICE, incident["service_id"]),
            names.all(USER, incident["assignee_ids"]),
            show(incident["created_at"], moment),
        ]

    return row


@app.command(
    "list",
    epilog="Example: tocsin incidents list --status open,acknowledged --urgency high --since 2h",
)
def list_incidents(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="open, acknowledged, resolved, snoozed, suppressed; comma-separate."),
    ] = None,
    urgency: Annotated[
        list[str] | None, typer.Option("--urgency", help="high, medium, low; comma-separate.")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Service id or name; repeat or comma-separate.")
    ] = None,
    team: Annotated[
        list[str] | None, typer.Option("--team", help="Team id or name; repeat or comma-separate.")
    ] = None,
    assignee: Annotated[
        list[str] | None, typer.Option("--assignee", help="User id or email; repeat or comma-separate.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Created after: 2h (ago), 1d, 2024-03-31T09:00.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Created before: 30m (ago), 2024-03-31T18:00.")
    ] = None,
    sort: Annotated[
        Sort, typer.Option("--sort", case_sensitive=False, help=f"One of {', '.join(get_args(Sort))}.")
    ] = "created_at",
    order: Annotated[Order, typer.Option("--order", case_sensitive=False, help="asc or desc.")] = "desc",
    limit: Limit = 25,
    every: All = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Redraw every --interval seconds until Ctrl-C.")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", min=1, help="Seconds between redraws.")] = 5.0,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Incidents, newest first, filtered as the API filters them."""
    if watch and as_json:
        fail("USAGE: --watch draws a table; leave out --json", EXIT_USAGE)
    statuses = _csv(status, Status, "--status")
    urgencies = _csv(urgency, Urgency, "--urgency")
    window = {
        "created_after": when_param(since, "--since", past=True),
        "created_before": when_param(until, "--until", past=True),
    }
    with ApiClient(url, key, profile) as client:
        params = {
            "status": statuses,
            "urgency": urgencies,
            "service_id": resolve_many(client, SERVICE, service),
            "team_id": resolve_many(client, TEAM, team),
            "assignee_id": resolve_many(client, USER, assignee),
            **window,
            "sort": sort,
            "order": order,
        }
        names = Names(client)

        def fetch(progress: bool) -> dict[str, Any]:
            return client.pages("/api/incidents", params, limit=None if every else limit, progress=progress)

        def view(body: dict[str, Any]) -> RenderableType:
            return listing(body, COLUMNS, _row(names, now()), "incidents")

        if watch:
            _watch(lambda: view(fetch(progress=False)), interval)
            return
        body = fetch(progress=every)
        if as_json:
            print_json(body)
        else:
            stdout().print(view(body))


def _watch(render: Callable[[], RenderableType], interval: float) -> None:
    """Redraw in place on a terminal; elsewhere (a pipe, a log) print each view under a rule."""
    console = stdout()

    def frame() -> RenderableType:
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        return Group(Text(f"Every {interval:g} s, last at {stamp}; Ctrl-C to stop.", style="dim"), render())

    try:
        if console.is_terminal:
            with Live(frame(), console=console, auto_refresh=False) as live:
                while True:
                    pause(interval)
                    live.update(frame(), refresh=True)
        while True:
            console.print(Rule())
            console.print(frame())
            pause(interval)
    except KeyboardInterrupt:
        return


@app.command("show", epilog="Example: tocsin incidents show '#42'")
def show_incident(
    ref: Annotated[str, typer.Argument(help="Incident number (#42 or 42) or id.")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """An incident's details and its timeline, oldest first."""
    path = f"/api/incidents/{incident_path(ref)}"
    with ApiClient(url, key, profile) as client:
        body = client.get(path)
        entries = client.pages(f"{path}/timeline", {}, limit=None)["data"]
        notes = client.pages(f"{path}/notes", {}, limit=None)["data"]
        if as_json:
            print_json({**body, "timeline": entries, "notes": notes})
            return
        names = Names(client)
        incident = body["data"]
        moment = now()
        summary = details(
            [
                ("Incident", f"#{incident['number']} {incident['title']}"),
                ("Id", incident["id"]),
                ("Status", incident["status"]),
                ("Urgency", incident["urgency"]),
                ("Priority", incident.get("priority")),
                ("Service", names.of(SERVICE, incident["service_id"])),
                ("Team", names.of(TEAM, incident.get("team_id"))),
                ("Assignees", names.all(USER, incident["assignee_ids"])),
                ("Escalation", _escalation(names, incident)),
                ("Created", show(incident["created_at"], moment)),
                ("Acknowledged", show_optional(incident.get("acknowledged_at"), moment)),
                ("Resolved", show_optional(incident.get("resolved_at"), moment)),
                ("Snoozed until", show_optional(incident.get("snoozed_until"), moment)),
                ("Alerts", str(incident["alert_count"])),
                ("Dedup key", incident["dedup_key"]),
                ("Source", incident.get("source")),
                ("Severity", incident.get("severity")),
                ("Description", incident.get("description")),
                ("Links", ", ".join(link.get("href", "") for link in incident.get("links") or [])),
            ]
        )
    timeline = table(
        ["When", "What", "Who", "Message"],
        entries,
        lambda entry: [
            show(entry["created_at"], moment),
            entry["type"],
            entry["actor_name"],
            _message(entry, {note["id"]: note["content"] for note in notes}),
        ],
        title="Timeline",
    )
    stdout().print(Group(summary, Text(""), timeline))


def _message(entry: dict[str, Any], notes: dict[str, str]) -> str:
    """A note's entry says only that a note was added; show what it says."""
    content = notes.get((entry.get("data") or {}).get("note_id", ""))
    return f"{entry['message']}: {content}" if content else str(entry["message"])


def _escalation(names: Names, incident: dict[str, Any]) -> str | None:
    """People count levels from 1, as the timeline does; the API's ``escalation_level`` is the
    0-based index of the policy's rule."""
    if not incident.get("escalation_policy_id"):
        return None
    return f"{names.of(POLICY, incident['escalation_policy_id'])}, level {incident['escalation_level'] + 1}"


def _act(
    refs: list[str],
    action: str,
    body: dict[str, Any] | None,
    done: str,
    conn: tuple[str | None, str | None, str | None],
    as_json: bool,
    prepare: Callable[[ApiClient], dict[str, Any]] | None = None,
) -> None:
    """POST ``action`` to each incident in turn. A refusal is one red line naming the incident and
    does not stop the others; the exit code is 1 if any was refused."""
    paths = [(ref, incident_path(ref)) for ref in refs]  # every ref checked before anything is sent
    results: list[Any] = []
    errors: list[dict[str, str]] = []
    with ApiClient(*conn) as client:
        payload = prepare(client) if prepare else body
        for ref, path in paths:
            try:
                answer = client.call("POST", f"/api/incidents/{path}/{action}", json=payload)
            except Refused as exc:
                errors.append({"incident": ref, "code": exc.code, "message": exc.message})
                stderr().print(Text(f"{exc.line} (incident {ref})", style="red"))
                continue
            results.append(answer["data"])
            if not as_json:
                data = answer["data"]
                name = (
                    f"#{data['number']} {data['title']}"
                    if "number" in data
                    else (path if path.startswith("inc_") else f"#{path}")
                )
                stdout().print(Text(f"{name}: {done}"))
    if as_json:
        print_json({"data": results, **({"errors": errors} if errors else {})})
    if errors:
        raise typer.Exit(EXIT_REFUSED)


def _plain(action: str, done: str) -> Callable[..., None]:
    """A command that POSTs ``action`` with no body to each incident."""

    def command(
        refs: Refs, url: Url = None, key: Key = None, profile: ProfileName = None, as_json: AsJson = False
    ) -> None:
        _act(refs, action, None, done, (url, key, profile), as_json)

    return command


for _name, _action, _done, _help in (
    ("ack", "acknowledge", "acknowledged", "Acknowledge: stop the escalation, you are on it."),
    ("resolve", "resolve", "resolved", "Resolve: the problem is gone."),
    ("unsnooze", "unsnooze", "open again", "Unsnooze: open again now."),
):
    app.command(_name, help=_help, epilog=f"Example: tocsin incidents {_name} 42 '#43'")(
        _plain(_action, _done)
    )


@app.command("snooze", epilog="Example: tocsin incidents snooze 42 --for 2h")
def snooze(
    refs: Refs,
    duration: Annotated[str | None, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until when: 2h, 2024-03-31T09:00.")] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Snooze: quiet until a time, then open again."""
    if (duration is None) == (until is None):
        fail("USAGE: give --for or --until (one of them)", EXIT_USAGE)
    if duration is not None:
        try:
            minutes = max(1, round(parse_duration(duration).total_seconds() / 60))
        except ValueError as exc:
            fail(f"USAGE: --for: {exc}", EXIT_USAGE)
        body: dict[str, Any] = {"duration_minutes": minutes}
    else:
        instant = when(until, "--until")
        assert instant is not None
        body = {"until": rfc3339(instant)}
    _act(refs, "snooze", body, "snoozed", (url, key, profile), as_json)


@app.command("note", epilog="Example: tocsin incidents note 42 -m 'Rolled back deploy 1234'")
def note(
    refs: Refs,
    message: Annotated[str, typer.Option("--message", "-m", help="The note's text.")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Add a note to the timeline."""
    _act(refs, "notes", {"content": message}, "note added", (url, key, profile), as_json)


@app.command("reassign", epilog="Example: tocsin incidents reassign 42 --user bob@example.com")
def reassign(
    refs: Refs,
    user: Annotated[
        list[str] | None, typer.Option("--user", help="User id or email; repeat for several. Paged now.")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Escalation policy id or name, from its first level.")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Reassign to people (paged now) or to an escalation policy."""
    if bool(user) == bool(policy):
        fail("USAGE: give --user (one or more) or --policy", EXIT_USAGE)

    def prepare(client: ApiClient) -> dict[str, Any]:
        if policy:
            return {"escalation_policy_id": resolve(client, POLICY, policy)}
        return {"user_ids": [resolve(client, USER, ref) for ref in user or []]}

    _act(refs, "reassign", None, "reassigned", (url, key, profile), as_json, prepare)


@app.command("escalate", epilog="Example: tocsin incidents escalate 42 --level 2")
def escalate(
    refs: Refs,
    level: Annotated[
        int | None, typer.Option("--level", min=1, help="Jump to this level (default: the next one).")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Escalate: page the next level of the escalation policy now (or --level N)."""
    body = {"level": level} if level is not None else {}
    _act(refs, "escalate", body, "escalated", (url, key, profile), as_json)
