"""``tocsin schedules swap``: ask for cover over a window, see the open requests, take one (which
puts you on call there) or cancel your own, over the API."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from tocsin.cli.client import EXIT_USAGE, ApiClient, AsJson, Key, ProfileName, Url, segment
from tocsin.cli.common import fail, now, print_json, stdout
from tocsin.cli.refs import SCHEDULE, USER, Names, resolve
from tocsin.cli.render import All, Limit, emit, listing
from tocsin.cli.when import parse_when, rfc3339, show, show_optional

app = typer.Typer(
    help="Swap requests: ask for cover, list open requests, take one, cancel yours.",
    epilog="Example: tocsin schedules swap list --status open",
    no_args_is_help=True,
)

_DAY_AT = re.compile(r"^(today|tomorrow)\s+(\d{1,2}):(\d{2})$")


def _moment(text: str, option: str) -> datetime:
    """``tomorrow 09:00`` / ``today 18:30`` in local time, or whatever ``tocsin.cli.when`` reads
    (``+2h``, ``1d``, ``2024-03-31T09:00``)."""
    match = _DAY_AT.match(text.strip().lower())
    if match:
        day, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            fail(f"USAGE: {option}: {text!r} is not a time of day", EXIT_USAGE)
        local = now().astimezone() + timedelta(days=1 if day == "tomorrow" else 0)
        return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    try:
        return parse_when(text, now())
    except ValueError as exc:
        fail(f"USAGE: {option}: {exc}", EXIT_USAGE)


def _who(swap: dict[str, Any]) -> str:
    taker = swap.get("benefactor")
    return f"{swap['beneficiary']['name']} → {taker['name']}" if taker else swap["beneficiary"]["name"]


@app.command(
    "request",
    epilog="Example: tocsin schedules swap request 'Payment API primary' "
    "--start 'tomorrow 09:00' --end 'tomorrow 17:00'",
)
def request(
    schedule: Annotated[str, typer.Argument(help="Schedule id or name.")],
    start: Annotated[str, typer.Option("--start", help="From: +2h, 1d, 'tomorrow 09:00', 2024-03-31T09:00.")],
    end: Annotated[str, typer.Option("--end", help="Until: same forms as --start.")],
    user: Annotated[
        str | None, typer.Option("--user", help="Whose shift: user id or email (default: the key's user).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="Why, for whoever takes it.")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Ask for someone to cover your on-call time in a window that has not started yet."""
    window = (_moment(start, "--start"), _moment(end, "--end"))
    with ApiClient(url, key, profile) as client:
        schedule_id = resolve(client, SCHEDULE, schedule)
        body = client.post(
            f"/api/schedules/{segment(schedule_id)}/swap-requests",
            {
                "start": rfc3339(window[0]),
                "end": rfc3339(window[1]),
                "user_id": resolve(client, USER, user) if user else None,
                "description": description,
            },
        )
    if as_json:
        print_json(body)
        return
    swap = body["data"]
    moment = now()
    stdout().print(
        f"Swap request {swap['id']}: cover for {swap['beneficiary']['name']} from "
        f"{show(swap['start'], moment)} until {show(swap['end'], moment)}.",
        markup=False,
    )


@app.command("list", epilog="Example: tocsin schedules swap list 'Payment API primary' --status open --json")
def list_swaps(
    schedule: Annotated[str | None, typer.Argument(help="Schedule id or name; all if left out.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, taken, cancelled, past_due (comma-separate).")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Asked by this user: id or email.")] = None,
    limit: Limit = 25,
    every: All = False,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Swap requests, soonest window first: who asked, who took it, and its status."""
    with ApiClient(url, key, profile) as client:
        params = {
            "schedule_id": resolve(client, SCHEDULE, schedule) if schedule else None,
            "status": status,
            "beneficiary_id": resolve(client, USER, user) if user else None,
        }
        body = client.pages("/api/swap-requests", params, limit=None if every else limit, progress=every)
        names = Names(client)
        moment = now()
        emit(
            body,
            as_json,
            lambda: listing(
                body,
                ["Id", "Schedule", "Status", "Who", "From", "Until", "Description"],
                lambda s: [
                    s["id"],
                    names.of(SCHEDULE, s["schedule_id"]),
                    s["status"],
                    _who(s),
                    show(s["start"], moment),
                    show(s["end"], moment),
                    s.get("description") or "",
                ],
                "swap requests",
            ),
        )


def _swap_path(client: ApiClient, swap_id: str) -> str:
    """The request's path under its schedule (the id alone finds it)."""
    swap = client.get(f"/api/swap-requests/{segment(swap_id)}")["data"]
    return f"/api/schedules/{segment(swap['schedule_id'])}/swap-requests/{segment(swap['id'])}"


@app.command("take", epilog="Example: tocsin schedules swap take ssr_01J2ABCDEF --user bob@example.com")
def take(
    swap_id: Annotated[str, typer.Argument(help="Swap request id (ssr_…).")],
    user: Annotated[
        str | None, typer.Option("--user", help="Who covers: user id or email (default: the key's user).")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Take an open request: you are on call for its window (an override is made)."""
    with ApiClient(url, key, profile) as client:
        path = _swap_path(client, swap_id)
        body = client.post(f"{path}/take", {"user_id": resolve(client, USER, user) if user else None})
    if as_json:
        print_json(body)
        return
    swap, override = body["data"]["swap_request"], body["data"]["override"]
    moment = now()
    stdout().print(
        f"Taken: {swap['benefactor']['name']} covers {swap['beneficiary']['name']} from "
        f"{show(swap['start'], moment)} until {show(swap['end'], moment)} (override {override['id']}).",
        markup=False,
    )


@app.command("cancel", epilog="Example: tocsin schedules swap cancel ssr_01J2ABCDEF")
def cancel(
    swap_id: Annotated[str, typer.Argument(help="Swap request id (ssr_…).")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Withdraw your open request (an admin or a service key may cancel anyone's)."""
    with ApiClient(url, key, profile) as client:
        body = client.post(f"{_swap_path(client, swap_id)}/cancel")
    if as_json:
        print_json(body)
        return
    swap = body["data"]
    stdout().print(
        f"Cancelled swap request {swap['id']} ({show_optional(swap['start'], now())}).", markup=False
    )
