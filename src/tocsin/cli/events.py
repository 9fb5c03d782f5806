"""``tocsin events``: send an event like a monitoring tool would, from scripts and cron jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from tocsin.cli.client import EXIT_USAGE, ApiClient, AsJson, Key, ProfileName, Url
from tocsin.cli.common import fail, print_json, stdout

app = typer.Typer(
    help="Send events (trigger, ack, resolve) to a service's integration, e.g. from cron.",
    epilog="Example: tocsin events trigger --routing-key $RK --summary 'Backup failed' --severity error "
    "--source cron",
    no_args_is_help=True,
)

Severity = Literal["critical", "error", "warning", "info"]  # the domain's SEVERITIES (a test checks)
RoutingKey = Annotated[
    str,
    typer.Option(
        "--routing-key",
        envvar="TOCSIN_ROUTING_KEY",
        help="The integration's routing key (TOCSIN_ROUTING_KEY).",
    ),
]
DedupKey = Annotated[
    str | None,
    typer.Option("--dedup-key", help="Groups events into one incident; required to ack or resolve."),
]


def _send(
    action: str,
    routing_key: str,
    dedup_key: str | None,
    payload: dict[str, Any] | None,
    conn: tuple[str | None, str | None, str | None],
    as_json: bool,
) -> None:
    if action != "trigger" and not dedup_key:
        fail(f"USAGE: --dedup-key is required to {action}", EXIT_USAGE)
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key}
    if payload is not None:
        event["payload"] = {k: v for k, v in payload.items() if v is not None}
    with ApiClient(*conn) as client:
        body = client.post("/api/events", event)
    if as_json:
        print_json(body)
    else:
        stdout().print(f"{body['message']} ({action}); dedup key: {body['dedup_key']}", markup=False)


def _details(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"USAGE: --detail {pair!r}: use name=value", EXIT_USAGE)
        out[name] = value
    return out


@app.command(
    "trigger",
    epilog="Example: tocsin events trigger --routing-key $RK --dedup-key disk-web01 "
    "--summary 'Disk 95% on web-01' --severity critical --source web-01",
)
def trigger(
    summary: Annotated[str, typer.Option("--summary", help="What is wrong, one line.")],
    severity: Annotated[
        Severity, typer.Option("--severity", case_sensitive=False, help="critical, error, warning or info.")
    ],
    source: Annotated[str, typer.Option("--source", help="Where: a host, a job, a check.")],
    routing_key: RoutingKey,
    dedup_key: DedupKey = None,
    component: Annotated[str | None, typer.Option("--component", help="e.g. 'disk'.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="e.g. 'web'.")] = None,
    class_: Annotated[str | None, typer.Option("--class", help="e.g. 'capacity'.")] = None,
    detail: Annotated[
        list[str] | None, typer.Option("--detail", help="name=value for custom details; repeat.")
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Trigger: opens an incident, or adds an alert to the open one with the same dedup key."""
    payload = {
        "summary": summary,
        "severity": severity.lower(),
        "source": source,
        "component": component,
        "group": group,
        "class": class_,
        "custom_details": _details(detail),
    }
    _send("trigger", routing_key, dedup_key, payload, (url, key, profile), as_json)


def _follow_up(action: str) -> Callable[..., None]:
    """``ack`` and ``resolve``: an event about an incident already open under a dedup key."""

    def command(
        routing_key: RoutingKey,
        dedup_key: DedupKey = None,
        url: Url = None,
        key: Key = None,
        profile: ProfileName = None,
        as_json: AsJson = False,
    ) -> None:
        _send(action, routing_key, dedup_key, None, (url, key, profile), as_json)

    return command


for _name, _action, _help in (
    ("ack", "acknowledge", "Acknowledge the incident with this dedup key."),
    ("resolve", "resolve", "Resolve the incident with this dedup key, e.g. when the check passes again."),
):
    app.command(
        _name, help=_help, epilog=f"Example: tocsin events {_name} --routing-key $RK --dedup-key disk-web01"
    )(_follow_up(_action))
