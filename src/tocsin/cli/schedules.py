"""``tocsin oncall`` and ``tocsin schedules``: who is on call, schedules, taking a shift and the iCal
export, over the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tocsin.cli import swaps
from tocsin.cli.client import ApiClient, AsJson, Key, ProfileName, Url
from tocsin.cli.common import now, print_json, stdout
from tocsin.cli.refs import SCHEDULE, TEAM, USER, Names, resolve, resolve_many, when, when_param
from tocsin.cli.render import All, Limit, details, emit, listing, table
from tocsin.cli.when import rfc3339, show

app = typer.Typer(
    help="Schedules: list, show, take a shift, export to a calendar.",
    epilog="Example: tocsin schedules show 'Payment API primary'",
    no_args_is_help=True,
)
app.add_typer(swaps.app, name="swap")


def _schedule_id(client: ApiClient, ref: str) -> str:
    """A schedule id (``sch_…``) as it is, or a schedule name looked up (case-insensitive, exact)."""
    return resolve(client, SCHEDULE, ref)


def _user_id(client: ApiClient, ref: str) -> str:
    """A user id (``usr_…``) as it is, or an email (or name) looked up."""
    return resolve(client, USER, ref)


def _table(rows: list[dict[str, Any]], with_schedule: bool) -> Table:
    moment = now()

    def row(entry: dict[str, Any]) -> list[str]:
        via = (
            f"override {entry['override']['id']}"
            if entry.get("override")
            else (entry.get("layer") or {}).get("name", "")
        )
        cells = [
            entry["user"]["name"],
            entry["user"]["email"],
            show(entry["start"], moment),
            show(entry["end"], moment),
            via or "",
        ]
        return ([entry["schedule"]["name"]] if with_schedule else []) + cells

    columns = (["Schedule"] if with_schedule else []) + ["On call", "Email", "From", "Until", "Via"]
    return table(columns, rows, row)


def _rotation(layer: dict[str, Any]) -> str:
    """``every 2 weeks``, ``every day``; an iCal layer says so."""
    unit, length = layer.get("rotation_unit"), layer.get("rotation_length")
    if not unit:
        return str(layer.get("source") or "")
    return f"every {length} {unit}" if length != 1 else f"every {unit.removesuffix('s')}"


def oncall(
    schedule: Annotated[
        str | None, typer.Argument(help="Schedule id or name; all schedules if left out.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When: now (default), 2h, -1d, 2024-03-31T09:00.")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Who is on call now (or --at a time), in one schedule or across all of them."""
    at_param = when_param(at, "--at")
    with ApiClient(url, key, profile) as client:
        rows, body = _on_call_rows(client, schedule, at_param)
    if as_json:
        print_json(body)
        return
    if not rows:
        stdout().print("Nobody is on call.", markup=False)
        return
    stdout().print(_table(rows, with_schedule=schedule is None))


def _on_call_rows(client: ApiClient, schedule: str | None, at_param: str | None) -> tuple[list[Any], Any]:
    if schedule is not None:
        body = client.get(f"/api/schedules/{_schedule_id(client, schedule)}/on-call", at=at_param)
        return list(body["data"]), body
    body = client.pages("/api/oncalls", {"at": at_param}, limit=None)
    return list(body["data"]), {"data": body["data"]}


@app.command("list", epilog="Example: tocsin schedules list --query payment --json")
def list_schedules(
    query: Annotated[str | None, typer.Option("--query", help="Part of the name.")] = None,
    team: Annotated[
        list[str] | None, typer.Option("--team", help="Team id or name; repeat or comma-separate.")
    ] = None,
    limit: Limit = 25,
    every: All = False,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Schedules, by name, with their time zone and layers."""
    with ApiClient(url, key, profile) as client:
        params = {"query": query, "team_id": resolve_many(client, TEAM, team)}
        body = client.pages("/api/schedules", params, limit=None if every else limit, progress=every)
        names = Names(client)
        emit(
            body,
            as_json,
            lambda: listing(
                body,
                ["Name", "Id", "Time zone", "Team", "Layers"],
                lambda s: [
                    s["name"],
                    s["id"],
                    s["time_zone"],
                    names.of(TEAM, s["team_id"]),
                    ", ".join(layer["name"] for layer in s["layers"]),
                ],
                "schedules",
            ),
        )


@app.command("show", epilog="Example: tocsin schedules show 'Payment API primary'")
def show_schedule(
    schedule: Annotated[str, typer.Argument(help="Schedule id or name.")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """A schedule: its layers (lowest first; a later layer wins) and who is on call now."""
    with ApiClient(url, key, profile) as client:
        schedule_id = _schedule_id(client, schedule)
        body = client.get(f"/api/schedules/{schedule_id}")
        on_call = client.get(f"/api/schedules/{schedule_id}/on-call")["data"]
        team_name = Names(client).of(TEAM, body["data"]["team_id"])
    if as_json:
        print_json({**body, "on_call": on_call})
        return
    data = body["data"]
    moment = now()
    layers = table(
        ["Layer", "Rotation", "Users", "Start", "End"],
        data["layers"],
        lambda layer: [
            layer["name"],
            _rotation(layer),
            ", ".join(user["name"] for user in layer["users"]),
            show(layer["start"], moment) if layer.get("start") else "",
            show(layer["end"], moment) if layer.get("end") else "",
        ],
        title="Layers",
    )
    now_on = _table(on_call, with_schedule=False) if on_call else Text("Nobody is on call now.")
    stdout().print(
        Group(
            details(
                [
                    ("Schedule", data["name"]),
                    ("Id", data["id"]),
                    ("Time zone", data["time_zone"]),
                    ("Team", team_name),
                    ("Description", data.get("description")),
                ]
            ),
            layers,
            Text("On call now", style="bold"),
            now_on,
        )
    )


@app.command(
    "take-shift",
    epilog="Example: tocsin schedules take-shift 'Payment API primary' --user bob@example.com --until 4h",
)
def take_shift(
    schedule: Annotated[str, typer.Argument(help="Schedule id or name.")],
    user: Annotated[str, typer.Option("--user", help="Who takes the shift: user id or email.")],
    from_user: Annotated[
        str | None,
        typer.Option("--from", help="Whose shift: user id or email (default: whoever is on call)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Until when (default: the end of the current shift).")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Take someone's shift from now on: creates an override and shows the new on-call."""
    end = when(until, "--until")
    with ApiClient(url, key, profile) as client:
        body = client.post(
            f"/api/schedules/{_schedule_id(client, schedule)}/take-shift",
            {
                "user_id": _user_id(client, user),
                "from_user_id": _user_id(client, from_user) if from_user else None,
                "end": rfc3339(end) if end else None,
            },
        )
    if as_json:
        print_json(body)
        return
    override = body["data"]["override"]
    moment = now()
    stdout().print(f"Override {override['id']}: until {show(override['end'], moment)}.", markup=False)
    stdout().print(_table(body["data"]["on_call"], with_schedule=False))


@app.command(
    "export",
    epilog="Example: tocsin schedules export 'Payment API primary' --since 7d --until 60d -o oncall.ics",
)
def export(
    schedule: Annotated[str, typer.Argument(help="Schedule id or name.")],
    since: Annotated[
        str | None, typer.Option("--since", help="From (default 7 days ago): 7d (ago), 2024-03-01T00:00.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="To (default 60 days ahead): 30d, 2024-04-01T00:00.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
) -> None:
    """The schedule's final shifts as an iCalendar (.ics) file, for calendars and scripts."""
    window = {"since": when_param(since, "--since", past=True), "until": when_param(until, "--until")}
    with ApiClient(url, key, profile) as client:
        calendar = client.text(f"/api/schedules/{_schedule_id(client, schedule)}/ical", **window)
    if output is None:
        typer.echo(calendar, nl=False)
        return
    output.write_text(calendar, encoding="utf-8")
    stdout().print(f"Wrote {output} ({calendar.count('BEGIN:VEVENT')} shifts).", markup=False)
