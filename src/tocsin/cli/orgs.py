"""``tocsin org``: create tenants and tune their rate limits (orgs are not created over the API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tocsin.cli.common import now, print_json, stdout, transaction
from tocsin.services.access import orgs

if TYPE_CHECKING:
    from tocsin.db.models import Org

app = typer.Typer(
    help="Create orgs (tenants) and set their rate limits.",
    epilog="Example: tocsin org create acme --name 'Acme Corp'",
    no_args_is_help=True,
)

LimitOption = Annotated[
    str | None,
    typer.Option(help="A limit such as '100/minute' or '500/5 minutes'; 'default' drops the override."),
]


@app.command(
    "create",
    epilog="Example: tocsin org create acme --name 'Acme Corp' --json",
)
def create(
    slug: Annotated[str, typer.Argument(help="Lowercase letters, digits and dashes, e.g. 'acme'.")],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 'Acme Corp'.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the org as JSON.")] = False,
) -> None:
    """Create an org (a tenant). Give it a key next with `tocsin keys create --org SLUG`."""
    with transaction() as session:
        org = orgs.create_org(session=session, slug=slug, name=name, now=now())
        record = _record(org)
    if as_json:
        print_json(record)
    else:
        stdout().print(f"Created org [bold]{org.slug}[/bold] ({org.id}).", markup=True)
        stdout().print(f"Next: tocsin keys create --org {org.slug} --name admin", markup=False)


def _record(org: Org) -> dict[str, str | None]:
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "api_id": org.api_id,
        "created_at": org.created_at.isoformat(),
    }


@app.command(
    "show",
    epilog="Example: tocsin org show acme --json",
)
def show(
    slug: Annotated[str, typer.Argument(help="The org's slug.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the org as JSON.")] = False,
) -> None:
    """Show an org: its id, name and API id (Splunk On-Call clients send it as X-VO-Api-Id)."""
    with transaction() as session:
        record = _record(orgs.get_org_by_slug(session=session, slug=slug))
    if as_json:
        print_json(record)
        return
    console = stdout()
    for name in ("slug", "name", "id", "api_id", "created_at"):
        console.print(f"{name + ':':<12}{record[name]}", markup=False)


@app.command(
    "limits",
    help="Show or override an org's rate limits.\n\n"
    "events, read and write are per key; integration and org-alerts cap alerts per integration "
    "and per org. With no option, print the current overrides.",
    epilog="Example: tocsin org limits acme --events 1000/minute --org-alerts default",
)
def limits(
    slug: Annotated[str, typer.Argument(help="The org's slug.")],
    events: LimitOption = None,
    read: LimitOption = None,
    write: LimitOption = None,
    integration: LimitOption = None,
    org_alerts: LimitOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the overrides as JSON.")] = False,
) -> None:
    """Show or override an org's rate limits (see the command's help)."""
    given = {
        "events": events,
        "read": read,
        "write": write,
        "integration": integration,
        "org_alerts": org_alerts,
    }
    overrides: dict[str, str | None] = {
        category: None if value.strip().lower() == "default" else value.strip()
        for category, value in given.items()
        if value is not None
    }
    with transaction() as session:
        org = orgs.get_org_by_slug(session=session, slug=slug)
        if overrides:
            org = orgs.set_rate_limits(session=session, org_id=org.id, overrides=overrides)
        current = dict(org.rate_limits)
    if as_json:
        print_json({"slug": slug, "rate_limits": current})
        return
    console = stdout()
    if not current:
        console.print(f"{slug}: every limit is the server default.", markup=False)
    for category in orgs.LIMIT_CATEGORIES:
        if category in current:
            console.print(f"{slug}: {category.replace('_', '-')} = {current[category]}", markup=False)
