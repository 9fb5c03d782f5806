"""``tocsin demo``: seed the demo org and keep one admin key for it in a local file, so that
``make run`` prints the same key, and the same working curl lines, every time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.common import now, print_json, settings, stdout, transaction
from tocsin.domain.integration_urls import PAGERDUTY_V1_PATH, inbound_url
from tocsin.services.access import orgs
from tocsin.services.demo.people import DEMO_USERS
from tocsin.services.demo.seed import (
    DEMO_INTEGRATIONS,
    DEMO_SCHEDULE,
    DEMO_SERVICES,
    DemoIntegration,
    demo_admin_key,
    seed_demo,
)
from tocsin.services.demo.sign_in import DEMO_SIGN_IN_EMAIL, demo_password

DEFAULT_KEY_FILE = Path(".tocsin-demo-key")
DEFAULT_PASSWORD_FILE = Path(".tocsin-demo-password")


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


def sign_in_text(email: str, password: str, source: str, web_url: str | None = None) -> str:
    """The demo login, under a "Sign in" heading, with the web UI's address (``web_url``, the
    server's base URL: Home answers at ``/``) first, so the first screen says where to go."""
    lines = ["Sign in"]
    if web_url:
        lines.append(f"  Web UI:   {web_url.rstrip('/')}/")
    lines += [f"  Email:    {email}", f"  Password: {password}", f"  ({source})"]
    return "\n".join(lines)


def demo_integrations() -> tuple[DemoIntegration, ...]:
    """Payment API's doors: its Events API v2 key first, then one per foreign format."""
    return (DemoIntegration("events_api_v2", "Events API v2", "payment-api"), *DEMO_INTEGRATIONS)


def integration_urls(base_url: str) -> list[dict[str, str]]:
    """Where each demo integration's sender posts, and how it names its key."""
    rows = []
    for spec in demo_integrations():
        if spec.type in ("events_api_v2", "pagerduty"):
            key_in = f"routing_key {spec.routing_key}"
        elif spec.type == "opsgenie":
            key_in = f"Authorization: GenieKey {spec.routing_key}"
        else:
            key_in = "in the URL"
        rows.append(
            {
                "type": spec.type,
                "name": spec.name,
                "routing_key": spec.routing_key,
                "url": inbound_url(base_url, spec.type, spec.routing_key) or "",
                "key": key_in,
            }
        )
    return rows


def _integrations_text(base_url: str, key: str, service_id: str) -> str:
    width = max(len(spec.name) for spec in demo_integrations())
    lines = [
        "# Other senders (PagerDuty, Alertmanager, Grafana, webhooks, Opsgenie, Splunk On-Call):",
        "# Payment API takes each format at these URLs; only the host changes in your sender.",
    ]
    for row in integration_urls(base_url):
        note = "" if row["key"] == "in the URL" else f"  ({row['key']})"
        lines.append(f"#   {row['name']:<{width}}  {row['url']}{note}")
    lines.append(
        f"#   (PagerDuty Events v1 too: {base_url}{PAGERDUTY_V1_PATH}, service_key payment-api-pagerduty)"
    )
    lines.append("# Paste-ready Alertmanager receivers and curl lines for each (config_snippet):")
    lines.append(
        f'curl {base_url}/api/services/{service_id}/integrations \\\n  -H "Authorization: Bearer {key}"'
    )
    return "\n".join(lines) + "\n"


def quickstart(base_url: str, key: str, schedule_id: str, service_id: str, api_id: str = "") -> str:
    """Spec 003's quick-start examples, pointed at this server and carrying the demo key, then the
    URLs of the demo's foreign-format integrations and the Grafana OnCall / Splunk On-Call APIs."""
    return (
        _spec_examples(base_url, key, schedule_id)
        + "\n"
        + _integrations_text(base_url, key, service_id)
        + "\n"
        + _foreign_api_examples(base_url, key, api_id)
    )


def _foreign_api_examples(base_url: str, key: str, api_id: str) -> str:
    return f"""\
# Tools written for Grafana OnCall's API: only the host changes (README "Coming from Grafana OnCall")
curl {base_url}/api/v1/alert_groups/ -H "Authorization: {key}"

# Tools written for Splunk On-Call's API: this org's API id is {api_id} (tocsin org show demo)
curl {base_url}/api-public/v1/oncall/current \\
  -H "X-VO-Api-Id: {api_id}" -H "X-VO-Api-Key: {key}"
"""


def _spec_examples(base_url: str, key: str, schedule_id: str) -> str:
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
    "Seed the demo org and print its admin key and Alice's sign-in. Safe to run again.\n\n"
    "Demo Inc. (slug demo): Alice, Bob and Carol in team Payments, services Payment API and "
    "Checkout Web with routing keys payment-api and checkout-web, one integration of every inbound "
    "format on Payment API (PagerDuty, Alertmanager, Grafana, webhooks, Opsgenie, Splunk On-Call), and "
    "the schedule Payment API primary (a weekly rotation, weekday business hours on top, one override). "
    "A re-run duplicates nothing; the key in --key-file and Alice's password in --password-file are "
    "reused while they still work."
)


def demo(
    print_quickstart: Annotated[
        bool,
        typer.Option(
            "--print-quickstart",
            help="Print the admin key, spec-003 curl examples and every inbound integration URL.",
        ),
    ] = False,
    key_file: Annotated[
        Path, typer.Option("--key-file", help="Where the demo admin key is kept (mode 0600).")
    ] = DEFAULT_KEY_FILE,
    password_file: Annotated[
        Path,
        typer.Option("--password-file", help="Where the demo admin's sign-in password is kept (mode 0600)."),
    ] = DEFAULT_PASSWORD_FILE,
    as_json: Annotated[bool, typer.Option("--json", help="Print ids and the key as JSON.")] = False,
) -> None:
    """Seed the demo org and print its admin key (see ``HELP``)."""
    config = settings()
    with transaction(config) as session:
        result = seed_demo(session=session, now=now())
        secret, minted = demo_admin_key(
            session=session, org_id=result.org_id, now=now(), previous=read_key(key_file)
        )
        api_id = orgs.get_org(session=session, org_id=result.org_id).api_id or ""
        password, new_password = demo_password(
            session=session, org_id=result.org_id, now=now(), previous=read_key(password_file)
        )
    if minted:
        write_key(key_file, secret)
    if new_password:
        write_key(password_file, password)
    if as_json:
        print_json(
            {
                "org_id": result.org_id,
                "org": result.org_slug,
                "team_id": result.team_id,
                "user_ids": result.user_ids,
                "service_ids": result.service_ids,
                "schedule_id": result.schedule_id,
                "integrations": integration_urls(config.base_url.rstrip("/")),
                "created": result.created,
                "key": secret,
                "key_file": str(key_file),
                "sign_in": {
                    "web_url": f"{config.base_url.rstrip('/')}/",
                    "email": DEMO_SIGN_IN_EMAIL,
                    "password": password,
                    "password_file": str(password_file),
                },
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
    typer.echo("")
    source = "new password, saved to" if new_password else "reused from"
    typer.echo(
        sign_in_text(DEMO_SIGN_IN_EMAIL, password, f"{source} {password_file}", web_url=config.base_url)
    )
    if print_quickstart:
        typer.echo("")
        typer.echo(
            quickstart(
                config.base_url.rstrip("/"),
                secret,
                result.schedule_id,
                result.service_ids["payment-api"],
                api_id,
            )
        )
