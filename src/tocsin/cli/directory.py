"""``tocsin services``, ``tocsin users`` and ``tocsin teams``: list, show and create, over the API."""

from __future__ import annotations

from time import monotonic, sleep
from typing import Annotated, Any, Literal

import typer
from rich.console import Group
from rich.text import Text

from tocsin.cli.client import EXIT_USAGE, ApiClient, AsJson, Key, ProfileName, Url, segment
from tocsin.cli.common import fail, now, print_json, stdout
from tocsin.cli.refs import POLICY, SERVICE, TEAM, USER, Kind, Names, resolve, resolve_many
from tocsin.cli.render import All, Limit, details, emit, listing, table
from tocsin.cli.when import show

services = typer.Typer(
    help="Services: list, show, create.",
    epilog="Example: tocsin services show 'Payment API'",
    no_args_is_help=True,
)
users = typer.Typer(
    help="Users: list, show, create, test-contact (over the API); add and password --org (in the database).",
    epilog="Example: tocsin users list --query alice",
    no_args_is_help=True,
)
teams = typer.Typer(
    help="Teams: list, show, create.", epilog="Example: tocsin teams show Payments", no_args_is_help=True
)

Query = Annotated[str | None, typer.Option("--query", help="Part of the name (users: or email).")]
Teams = Annotated[list[str] | None, typer.Option("--team", help="Team id or name; repeat or comma-separate.")]
Conn = tuple[str | None, str | None, str | None]


def _list(
    kind: Kind,
    params: dict[str, Any],
    columns: list[str],
    row: Any,
    limit: int,
    every: bool,
    conn: Conn,
    as_json: bool,
) -> None:
    with ApiClient(*conn) as client:
        resolved = {k: (v(client) if callable(v) else v) for k, v in params.items()}
        body = client.pages(kind.path, resolved, limit=None if every else limit, progress=every)
        names = Names(client)
        emit(body, as_json, lambda: listing(body, columns, lambda item: row(item, names), kind.noun + "s"))


def _get(client: ApiClient, kind: Kind, ref: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"{kind.path}/{segment(resolve(client, kind, ref))}")
    return body


def _created(body: dict[str, Any], kind: Kind, as_json: bool, extra: str = "") -> None:
    if as_json:
        print_json(body)
        return
    data = body["data"]
    stdout().print(Text(f"Created {kind.noun} {data['name']} ({data['id']}).{extra}"))


# --- services --------------------------------------------------------------------------------------


@services.command("list", epilog="Example: tocsin services list --team Payments")
def list_services(
    query: Query = None,
    team: Teams = None,
    limit: Limit = 25,
    every: All = False,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Services, by name."""
    _list(
        SERVICE,
        {"query": query, "team_id": lambda client: resolve_many(client, TEAM, team)},
        ["Name", "Id", "Team", "Escalation policy", "Maintenance"],
        lambda s, names: [
            s["name"],
            s["id"],
            names.of(TEAM, s["team_id"]),
            names.of(POLICY, s["escalation_policy_id"]),
            "yes" if s.get("in_maintenance") else "",
        ],
        limit,
        every,
        (url, key, profile),
        as_json,
    )


@services.command("show", epilog="Example: tocsin services show 'Payment API'")
def show_service(
    service: Annotated[str, typer.Argument(help="Service id or name.")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """A service, its integrations (with routing keys) and its maintenance windows."""
    with ApiClient(url, key, profile) as client:
        body = _get(client, SERVICE, service)
        names = Names(client)
        data = body["data"]
        if as_json:
            print_json(body)
            return
        summary = details(
            [
                ("Service", data["name"]),
                ("Id", data["id"]),
                ("Description", data.get("description")),
                ("Team", names.of(TEAM, data.get("team_id"))),
                ("Escalation policy", names.of(POLICY, data.get("escalation_policy_id"))),
                (
                    "Ack timeout",
                    f"{data['ack_timeout_minutes']} min" if data.get("ack_timeout_minutes") else None,
                ),
                ("In maintenance", "yes" if data.get("in_maintenance") else None),
            ]
        )
    moment = now()
    integrations = table(
        ["Integration", "Type", "Routing key"],
        data["integrations"],
        lambda i: [i["name"], i["type"], i["routing_key"]],
        title="Integrations",
    )
    parts: list[Any] = [summary, integrations]
    if data["maintenance_windows"]:
        parts.append(
            table(
                ["From", "Until", "Description"],
                data["maintenance_windows"],
                lambda w: [show(w["start"], moment), show(w["end"], moment), w.get("description") or ""],
                title="Maintenance windows",
            )
        )
    stdout().print(Group(*parts))


@services.command(
    "create",
    epilog="Example: tocsin services create 'Payment API' --team Payments --policy 'Payments primary'",
)
def create_service(
    name: Annotated[str, typer.Argument(help="The service's name.")],
    description: Annotated[str | None, typer.Option("--description", help="What it is.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Owning team: id or name.")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Escalation policy: id or name.")] = None,
    ack_timeout: Annotated[
        int | None,
        typer.Option("--ack-timeout", min=1, help="Minutes an ack holds before escalation starts again."),
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Create a service, with one Events API integration whose routing key is printed."""
    with ApiClient(url, key, profile) as client:
        body = client.post(
            SERVICE.path,
            {
                "name": name,
                "description": description,
                "team_id": resolve(client, TEAM, team) if team else None,
                "escalation_policy_id": resolve(client, POLICY, policy) if policy else None,
                "ack_timeout_minutes": ack_timeout,
            },
        )
    keys = ", ".join(i["routing_key"] for i in body["data"]["integrations"])
    _created(body, SERVICE, as_json, f" Routing key: {keys}" if keys else "")


# --- users -----------------------------------------------------------------------------------------


@users.command("list", epilog="Example: tocsin users list --query alice")
def list_users(
    query: Query = None,
    limit: Limit = 25,
    every: All = False,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Users, by name."""
    _list(
        USER,
        {"query": query},
        ["Name", "Email", "Role", "Time zone", "Id"],
        lambda u, _: [u["name"], u["email"], u["role"], u["time_zone"], u["id"]],
        limit,
        every,
        (url, key, profile),
        as_json,
    )


@users.command("show", epilog="Example: tocsin users show alice@example.com")
def show_user(
    user: Annotated[str, typer.Argument(help="User id, email or name.")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """A user."""
    with ApiClient(url, key, profile) as client:
        body = _get(client, USER, user)
    data = body["data"]
    emit(
        body,
        as_json,
        lambda: details(
            [
                ("User", data["name"]),
                ("Id", data["id"]),
                ("Email", data["email"]),
                ("Role", data["role"]),
                ("Time zone", data["time_zone"]),
                ("Phone", data.get("phone")),
                ("Created", show(data["created_at"], now())),
            ]
        ),
    )


@users.command(
    "create",
    epilog="Example: tocsin users create --name 'Alice Smith' --email alice@example.com --role admin",
)
def create_user(
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    email: Annotated[str, typer.Option("--email", help="Unique in the org.")],
    role: Annotated[Literal["admin", "user", "observer"], typer.Option("--role", help="Role.")] = "user",
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA zone, e.g. Europe/Berlin.")] = "UTC",
    phone: Annotated[str | None, typer.Option("--phone", help="E.164, e.g. +14155550123.")] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Create a user."""
    with ApiClient(url, key, profile) as client:
        body = client.post(
            USER.path, {"name": name, "email": email, "role": role, "time_zone": time_zone, "phone": phone}
        )
    _created(body, USER, as_json)


# --- teams -----------------------------------------------------------------------------------------


@teams.command("list", epilog="Example: tocsin teams list --json")
def list_teams(
    query: Query = None,
    limit: Limit = 25,
    every: All = False,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Teams, by name, with their members."""
    _list(
        TEAM,
        {"query": query},
        ["Name", "Id", "Members"],
        lambda t, _: [t["name"], t["id"], ", ".join(m["name"] for m in t["members"])],
        limit,
        every,
        (url, key, profile),
        as_json,
    )


@teams.command("show", epilog="Example: tocsin teams show Payments")
def show_team(
    team: Annotated[str, typer.Argument(help="Team id or name.")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """A team and its members."""
    with ApiClient(url, key, profile) as client:
        body = _get(client, TEAM, team)
    data = body["data"]
    emit(
        body,
        as_json,
        lambda: Group(
            details([("Team", data["name"]), ("Id", data["id"]), ("Description", data.get("description"))]),
            table(
                ["Member", "Email", "Role"],
                data["members"],
                lambda m: [m["name"], m["email"], m["role"]],
                title="Members",
            ),
        ),
    )


@teams.command(
    "create",
    epilog="Example: tocsin teams create Payments --member alice@example.com=manager --member bob@example.com",  # noqa: E501
)
def create_team(
    name: Annotated[str, typer.Argument(help="The team's name.")],
    description: Annotated[str | None, typer.Option("--description", help="What the team does.")] = None,
    member: Annotated[
        list[str] | None,
        typer.Option("--member", help="USER or USER=ROLE (manager, responder, observer); repeat."),
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Create a team, with members."""
    pairs = [entry.rpartition("=")[::2] if "=" in entry else (entry, "responder") for entry in member or []]
    for _, role in pairs:
        if role not in ("manager", "responder", "observer"):
            fail(f"USAGE: --member role {role!r}: use manager, responder or observer", EXIT_USAGE)
    with ApiClient(url, key, profile) as client:
        members = [{"user_id": resolve(client, USER, ref), "role": role} for ref, role in pairs]
        body = client.post(TEAM.path, {"name": name, "description": description, "members": members})
    _created(body, TEAM, as_json)


# --- contact methods -------------------------------------------------------------------------------

# How long ``test-contact`` polls a check the server handed back as still being sent (202).
_POLL_SECONDS = 60.0


def _contact_method(client: ApiClient, user_id: str, ref: str) -> dict[str, Any]:
    """The user's one contact method whose id, address, label or type is ``ref`` (any case)."""
    methods: list[dict[str, Any]] = client.get(f"{USER.path}/{segment(user_id)}/contact-methods", limit=100)[
        "data"
    ]
    wanted = ref.strip().lower()
    for field in ("id", "address", "label", "type"):
        found = [m for m in methods if str(m.get(field) or "").lower() == wanted]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            choices = ", ".join(f"{m['type']} {m['address']} ({m['id']})" for m in found)
            fail(f"USAGE: {ref!r} names more than one contact method: {choices}; give the id", EXIT_USAGE)
    have = ", ".join(f"{m['type']} {m['address']} ({m['id']})" for m in methods) or "none"
    fail(f"NOT_FOUND: the user has no contact method {ref!r} (has: {have})")


@users.command(
    "test-contact",
    epilog="Example: tocsin users test-contact alice@example.com sms   (or the address, label or cm_ id)",
)
def test_contact(
    user: Annotated[str, typer.Argument(help="User id, email or name.")],
    method: Annotated[
        str, typer.Argument(help="Contact method: id, address, label or type (sms, email...).")
    ],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Send a labelled test notification through the real channel and print what the provider
    said; exits 1 when it failed (or no answer came)."""
    with ApiClient(url, key, profile, timeout=_POLL_SECONDS) as client:
        user_id = resolve(client, USER, user)
        chosen = _contact_method(client, user_id, method)
        base = f"{USER.path}/{segment(user_id)}/contact-methods/{segment(chosen['id'])}"
        body: dict[str, Any] = client.post(f"{base}/test")
        deadline = monotonic() + _POLL_SECONDS
        while body["data"]["outcome"] == "pending" and monotonic() < deadline:
            sleep(1.0)
            body = client.get(f"{base}/checks/{segment(body['data']['id'])}")
    data = body["data"]
    where = f"{chosen['type']} ({chosen['address']})"
    if as_json:
        print_json(body)
    elif data["outcome"] == "delivered":
        provider = f"; provider id {data['provider_id']}" if data.get("provider_id") else ""
        stdout().print(Text(f"Delivered: test notification sent by {where}{provider}."))
    elif data["outcome"] == "pending":
        fail(f"PENDING: no answer from the engine yet for the test by {where}; is `tocsin serve` running?")
    if data["outcome"] == "failed":
        fail(f"FAILED: test notification by {where}: {data.get('error') or 'no reason given'}")
    if data["outcome"] != "delivered":
        raise typer.Exit(1)
