"""``tocsin oncall`` and ``tocsin schedules``: who is on call, and taking a shift, over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from tocsin.cli.client import EXIT_USAGE, ApiClient
from tocsin.cli.common import fail, now, print_json, stdout
from tocsin.cli.when import parse_when, rfc3339, show

app = typer.Typer(help="Schedules: take a shift.", no_args_is_help=True)

Url = Annotated[str | None, typer.Option("--url", help="Server URL (default: TOCSIN_URL).")]
Key = Annotated[str | None, typer.Option("--key", help="API key (default: TOCSIN_API_KEY).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the server's JSON instead of a table.")]


def _when(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_when(text, now())
    except ValueError as exc:
        fail(f"USAGE: {field}: {exc}", EXIT_USAGE)


def _schedule_id(client: ApiClient, ref: str) -> str:
    """A schedule id (``sch_…``) as it is, or a schedule name looked up (case-insensitive, exact)."""
    if ref.startswith("sch_"):
        return ref
    found = client.get("/api/schedules", query=ref, limit=100)["data"]
    exact = [s for s in found if s["name"].lower() == ref.lower()]
    if len(exact) != 1:
        names = ", ".join(s["name"] for s in found) or "none"
        fail(f"NOT_FOUND: no single schedule named {ref!r} (close: {names})")
    schedule_id: str = exact[0]["id"]
    return schedule_id


def _user_id(client: ApiClient, ref: str) -> str:
    """A user id (``usr_…``) as it is, or an email looked up."""
    if ref.startswith("usr_"):
        return ref
    found = client.get("/api/users", email=ref)["data"]
    if not found:
        fail(f"NOT_FOUND: no user with email {ref!r}")
    user_id: str = found[0]["id"]
    return user_id


def _table(rows: list[dict[str, Any]], with_schedule: bool) -> Table:
    table = Table(show_lines=False)
    if with_schedule:
        table.add_column("Schedule")
    for name in ("On call", "Email", "From", "Until", "Via"):
        table.add_column(name)
    moment = now()
    for row in rows:
        via = (
            f"override {row['override']['id']}"
            if row.get("override")
            else (row.get("layer") or {}).get("name", "")
        )
        cells = [
            row["user"]["name"],
            row["user"]["email"],
            show(row["start"], moment),
            show(row["end"], moment),
            via or "",
        ]
        table.add_row(*([row["schedule"]["name"]] if with_schedule else []), *cells)
    return table


def oncall(
    schedule: Annotated[
        str | None, typer.Argument(help="Schedule id or name; all schedules if left out.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When: now (default), 2h, -1d, 2024-03-31T09:00.")
    ] = None,
    url: Url = None,
    key: Key = None,
    as_json: AsJson = False,
) -> None:
    """Who is on call now (or --at a time), in one schedule or across all of them."""
    instant = _when(at, "--at")
    with ApiClient(url, key) as client:
        rows, body = _on_call_rows(client, schedule, rfc3339(instant) if instant else None)
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
    rows: list[Any] = []
    offset = 0
    while True:
        page = client.get("/api/oncalls", at=at_param, limit=100, offset=offset)
        rows += page["data"]
        if not page["pagination"]["has_more"]:
            return rows, {"data": rows}
        offset += 100


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
    as_json: AsJson = False,
) -> None:
    """Take someone's shift from now on: creates an override and shows the new on-call."""
    end = _when(until, "--until")
    with ApiClient(url, key) as client:
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
