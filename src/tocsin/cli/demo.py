"""``tocsin demo``: seed the demo org and keep one admin key for it in a local file, so that
``make run`` prints the same key, and the same working curl lines, every time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.common import now, print_json, settings, stdout, transaction
from tocsin.services.demo import DEMO_SCHEDULE, DEMO_SERVICES, DEMO_USERS, demo_admin_key, seed_demo

DEFAULT_KEY_FILE = Path(".tocsin-demo-key")


def read_key(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def write_key(path: Path, secret: str) -> None:
    """Owner-only (0600) from the first byte: the file holds an admin secret."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)  # an older file may have been created with a wider mode


def quickstart(base_url: str, key: str, schedule_id: str) -> str:
    """Spec 003's quick-start examples, pointed at this server and carrying the demo key."""
    return f"""\
# Trigger an Incident
curl -X POST {base_url}/api/events \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer {key}" \\
  -d '{{
    "routing_key": "payment-api",
    "event_action": "trigger",
    "dedup_key": "high-cpu-web01",
    "payload": {{
      "summary": "High CPU on web-01",
      "severity": "critical",
      "source": "datadog"
    }}
  }}'

# List Open Incidents
curl -X GET "{base_url}/api/incidents?status=OPEN" \\
  -H "Authorization: Bearer {key}"

# Acknowledge an Incident
curl -X POST {base_url}/api/events \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer {key}" \\
  -d '{{
    "routing_key": "payment-api",
    "event_action": "acknowledge",
    "dedup_key": "high-cpu-web01"
  }}'

# Get Current On-Call ({DEMO_SCHEDULE}; add ?at=<RFC 3339 time> for another instant)
curl -X GET {base_url}/api/schedules/{schedule_id}/on-call \\
  -H "Authorization: Bearer {key}"

# API docs (OpenAPI, in a browser): {base_url}/docs
"""


HELP = (
    "Seed the demo org and print its admin key. Safe to run again.\n\n"
    "Demo Inc. (slug demo): Alice, Bob and Carol in team Payments, services Payment API and "
    "Checkout Web with routing keys payment-api and checkout-web, and the schedule Payment API primary "
    "(a weekly rotation, weekday business hours on top, one override). A re-run duplicates nothing, "
    "and the key in --key-file is reused while it still works."
)


def demo(
    print_quickstart: Annotated[
        bool, typer.Option("--print-quickstart", help="Print the admin key and spec-003 curl examples.")
    ] = False,
    key_file: Annotated[
        Path, typer.Option("--key-file", help="Where the demo admin key is kept (mode 0600).")
    ] = DEFAULT_KEY_FILE,
    as_json: Annotated[bool, typer.Option("--json", help="Print ids and the key as JSON.")] = False,
) -> None:
    """Seed the demo org and print its admin key (see ``HELP``)."""
    config = settings()
    with transaction(config) as session:
        result = seed_demo(session=session, now=now())
        secret, minted = demo_admin_key(
            session=session, org_id=result.org_id, now=now(), previous=read_key(key_file)
        )
    if minted:
        write_key(key_file, secret)
    if as_json:
        print_json(
            {
                "org_id": result.org_id,
                "org": result.org_slug,
                "team_id": result.team_id,
                "user_ids": result.user_ids,
                "service_ids": result.service_ids,
                "schedule_id": result.schedule_id,
                "created": result.created,
                "key": secret,
                "key_file": str(key_file),
            }
        )
        return
    console = stdout()
    what = ", ".join(result.created) if result.created else "nothing new (already seeded)"
    console.print(f"Demo org '{result.org_slug}' ready; created: {what}.", markup=False)
    console.print(
        f"Users: {', '.join(u.email for u in DEMO_USERS)}; routing keys: "
        f"{', '.join(s.routing_key for s in DEMO_SERVICES)}; "
        f"schedule: {DEMO_SCHEDULE} ({result.schedule_id}).",
        markup=False,
    )
    source = "new key, saved to" if minted else "reused from"
    console.print(f"Admin key ({source} {key_file}):", markup=False)
    typer.echo(secret)
    if print_quickstart:
        typer.echo("")
        typer.echo(quickstart(config.base_url.rstrip("/"), secret, result.schedule_id))
