"""``tocsin users add --org`` and ``tocsin users password --org``: on the server's shell, in the
database directly, like ``tocsin keys create --org``. They make the first people of a new org,
and passwords never travel over the API: an admin who can run these can read the database anyway.

The password comes from standard input when it is piped (``printf '%s' "$PW" | tocsin users
password ...``), else from two hidden prompts (getpass), so it is never an argument that ``ps``
or the shell history would show."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any, Literal

import typer

from tocsin.cli.common import fail, now, print_json, stdout, transaction

Org = Annotated[str, typer.Option("--org", help="The org's slug (the command writes to the database).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def add(
    org: Org,
    email: Annotated[str, typer.Option("--email", help="Unique in the org; how they sign in.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    role: Annotated[
        Literal["admin", "user", "observer"],
        typer.Option("--role", help="admin (everything), user (responder) or observer (read-only)."),
    ] = "user",
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA zone, e.g. Europe/Berlin.")] = "UTC",
    as_json: AsJson = False,
) -> None:
    """Add a person to an org. Give them a password next with `tocsin users password`."""
    from tocsin.domain.actor import Tenant
    from tocsin.services.access import orgs
    from tocsin.services.people import users

    with transaction() as session:
        found = orgs.get_org_by_slug(session=session, slug=org)
        user = users.create_user(
            session=session,
            tenant=Tenant(found.id),
            now=now(),
            name=name,
            email=email,
            role=role,
            time_zone=time_zone,
        )
        record: dict[str, Any] = {
            "id": user.id,
            "org": org,
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "time_zone": user.time_zone,
        }
    if as_json:
        print_json(record)
        return
    stdout().print(f"Added {record['name']} <{record['email']}> to {org} as {record['role']}.", markup=False)
    stdout().print(f"Next: tocsin users password --org {org} {record['email']}", markup=False)


def _read_password() -> str:
    """From a pipe: the first line. From a terminal: typed twice, hidden."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        fail("USAGE: the two passwords differ; nothing was changed", code=2)
    return first


def password(
    email: Annotated[str, typer.Argument(help="The person's email in that org.")],
    org: Org,
    as_json: AsJson = False,
) -> None:
    """Set a person's password (read from stdin when piped, else prompted twice). Signs them out of
    every browser session."""
    from tocsin.domain.actor import Tenant
    from tocsin.domain.passwords import password_problem
    from tocsin.services.access import orgs
    from tocsin.services.accounts.passwords import set_password
    from tocsin.services.people import users

    secret = _read_password()
    problem = password_problem(secret)
    if problem is not None:  # before the database: a typo costs no hashing and says what to do
        fail(f"VALIDATION_ERROR: {problem[1]}; nothing was changed", code=2)
    with transaction() as session:
        found = orgs.get_org_by_slug(session=session, slug=org)
        tenant = Tenant(found.id)
        matches = users.list_users(session=session, tenant=tenant, email=email, limit=1, offset=0).items
        if not matches:
            fail(f"NOT_FOUND: no user with email {email!r} in org {org!r}")
        user = set_password(session=session, tenant=tenant, user_id=matches[0].id, password=secret, now=now())
        record = {"id": user.id, "org": org, "email": user.email, "password_set": True}
    if as_json:
        print_json(record)
        return
    stdout().print(
        f"Password set for {record['email']} in {org}; their sessions were signed out.", markup=False
    )
