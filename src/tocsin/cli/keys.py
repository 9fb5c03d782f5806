"""``tocsin keys``: API keys. With ``--org`` (on the server's shell), ``create`` writes to the database
directly, e.g. the first admin key of a new org; otherwise ``list``, ``create`` and ``revoke`` go
through ``/api/keys`` with the logged-in key, like every other client command."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from tocsin.cli.client import (
    EXIT_USAGE,
    ApiClient,
    AsJson,
    Key,
    ProfileName,
    Refused,
    Url,
    segment,
    target,
)
from tocsin.cli.common import fail, now, print_json, stderr, stdout
from tocsin.cli.refs import USER, resolve
from tocsin.cli.render import All, Limit, emit, listing
from tocsin.cli.when import show
from tocsin.domain.scopes import SCOPES

app = typer.Typer(
    help="API keys: list, create, revoke.", epilog="Example: tocsin keys list", no_args_is_help=True
)


@app.command(
    "create",
    epilog="Example: tocsin keys create --org acme --name alertmanager --scope events:write --json",
)
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. 'alertmanager'.")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="The org's slug: create in the database directly (server shell)."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"Repeat for each scope; default all: {', '.join(SCOPES)}."),
    ] = None,
    test: Annotated[
        bool, typer.Option("--test", help="With --org: a sk_test_ key, seeing only test-mode data.")
    ] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Email of the user the key acts as; default a service key."),
    ] = None,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its details as JSON.")] = False,
) -> None:
    """Create an API key. The secret is printed once and only its hash is stored. Without --org the
    key is made through the API, in the logged-in key's mode and with at most its scopes."""
    if org is not None:
        record = _create_in_database(org, name, scope or list(SCOPES), test, user)
    else:
        if test:
            fail("USAGE: --test goes with --org; through the API a key has its creator's mode", EXIT_USAGE)
        if not target(url, key, profile).key:
            fail(
                "USAGE: pass --org SLUG to create a key in the database, or log in (`tocsin login`) "
                "to create one through the API",
                EXIT_USAGE,
            )
        with ApiClient(url, key, profile) as client:
            body = client.post(
                "/api/keys",
                {
                    "name": name,
                    "scopes": scope or list(SCOPES),
                    "user_id": resolve(client, USER, user) if user else None,
                },
            )
        if as_json:
            print_json(body)
            return
        record = body["data"]
    if as_json:
        print_json(record)
        return
    console = stdout()
    mode = "live" if record["livemode"] else "test"
    where = f" for org {org}" if org else ""
    console.print(f"Created {mode} key {record['id']} ({record['name']}){where}.", markup=False)
    console.print(f"Scopes: {', '.join(record['scopes'])}", markup=False)
    console.print("Store it now; it is not shown again:", style="yellow", markup=False)
    typer.echo(record["key"])


def _create_in_database(
    org: str, name: str, scopes: list[str], test: bool, user: str | None
) -> dict[str, Any]:
    from tocsin.cli.common import transaction
    from tocsin.domain.actor import Tenant
    from tocsin.services.access import keys, orgs
    from tocsin.services.people import users

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
        created, secret = keys.create_key(
            session=session,
            tenant=tenant,
            name=name,
            scopes=scopes,
            user_id=user_id,
            created_by="cli",
            now=now(),
        )
        return {
            "id": created.id,
            "key": secret,
            "name": created.name,
            "org": org,
            "org_id": created.org_id,
            "livemode": created.livemode,
            "scopes": list(created.scopes),
            "user_id": created.user_id,
            "prefix": created.prefix,
            "created_at": created.created_at.isoformat(),
        }


@app.command("list", epilog="Example: tocsin keys list --all")
def list_keys(
    limit: Limit = 25,
    every: All = False,
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """The org's API keys in the logged-in key's mode, with how often each was used; never secrets."""
    with ApiClient(url, key, profile) as client:
        body = client.pages("/api/keys", {}, limit=None if every else limit, progress=every)
    moment = now()

    def row(item: dict[str, Any]) -> list[str]:
        return [
            item["name"],
            item["id"],
            item["prefix"] + "…",
            "live" if item["livemode"] else "test",
            "all" if set(item["scopes"]) >= set(SCOPES) else ", ".join(item["scopes"]),
            str(item["call_count"]),
            show(item["last_used_at"], moment) if item.get("last_used_at") else "never",
            "revoked " + show(item["revoked_at"], moment) if item.get("revoked_at") else "active",
        ]

    columns = ["Name", "Id", "Prefix", "Mode", "Scopes", "Calls", "Last used", "State"]
    emit(body, as_json, lambda: listing(body, columns, row, "keys"))


@app.command("revoke", epilog="Example: tocsin keys revoke key_01J9Z3 sk_live_AbCd")
def revoke(
    refs: Annotated[list[str], typer.Argument(help="Key ids (key_…) or prefixes as listed (sk_live_AbCd).")],
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """Revoke keys: they stop working at once."""
    revoked: list[Any] = []
    failed = False
    with ApiClient(url, key, profile) as client:
        listed: list[dict[str, Any]] | None = None
        for ref in refs:
            key_id = ref
            if not ref.startswith("key_"):
                listed = listed if listed is not None else client.pages("/api/keys", {}, limit=None)["data"]
                matches = [k for k in listed if k["prefix"] == ref.rstrip("…") and not k.get("revoked_at")]
                if len(matches) != 1:
                    stderr().print(Text(f"NOT_FOUND: no single active key with prefix {ref!r}", style="red"))
                    failed = True
                    continue
                key_id = matches[0]["id"]
            try:
                body = client.call("DELETE", f"/api/keys/{segment(key_id)}")
            except Refused as exc:
                stderr().print(Text(f"{exc.line} (key {ref})", style="red"))
                failed = True
                continue
            revoked.append(body["data"])
            if not as_json:
                stdout().print(Text(f"Revoked {body['data']['id']} ({body['data']['name']})."))
    if as_json:
        print_json({"data": revoked})
    if failed:
        raise typer.Exit(1)
