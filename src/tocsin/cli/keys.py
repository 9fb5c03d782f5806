"""``tocsin keys``: mint API keys from the server's shell, e.g. the first admin key of a new org."""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.cli.common import fail, now, print_json, stdout, transaction
from tocsin.domain.actor import Tenant
from tocsin.domain.scopes import SCOPES
from tocsin.services import keys, orgs, users

app = typer.Typer(help="Create API keys.", no_args_is_help=True)


@app.command(
    "create",
    epilog="Example: tocsin keys create --org acme --name alertmanager --scope events:write --json",
)
def create(
    org: Annotated[str, typer.Option("--org", help="The org's slug.")],
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. 'alertmanager'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"Repeat for each scope; default all: {', '.join(SCOPES)}."),
    ] = None,
    test: Annotated[bool, typer.Option("--test", help="A sk_test_ key: sees only test-mode data.")] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Email of the user the key acts as; default a service key."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its details as JSON.")] = False,
) -> None:
    """Create an API key. The secret is printed once and only its hash is stored."""
    with transaction() as session:
        found = orgs.get_org_by_slug(session=session, slug=org)
        tenant = Tenant(found.id, livemode=not test)
        user_id = None
        if user is not None:
            matches = users.list_users(session=session, tenant=tenant, email=user, limit=1, offset=0).items
            if not matches:
                mode = "test" if test else "live"
                fail(f"NOT_FOUND: no user with email {user!r} in org {org!r} ({mode} mode)", code=2)
            user_id = matches[0].id
        key, secret = keys.create_key(
            session=session,
            tenant=tenant,
            name=name,
            scopes=scope or SCOPES,
            user_id=user_id,
            created_by="cli",
            now=now(),
        )
        record = {
            "id": key.id,
            "key": secret,
            "name": key.name,
            "org": org,
            "org_id": key.org_id,
            "livemode": key.livemode,
            "scopes": list(key.scopes),
            "user_id": key.user_id,
            "prefix": key.prefix,
            "created_at": key.created_at.isoformat(),
        }
    if as_json:
        print_json(record)
        return
    console = stdout()
    console.print(
        f"Created {'test' if test else 'live'} key {key.id} ({key.name}) for org {org}.", markup=False
    )
    console.print(f"Scopes: {', '.join(key.scopes)}", markup=False)
    console.print("Store it now; it is not shown again:", style="yellow", markup=False)
    typer.echo(secret)
