"""``tocsin login`` and ``tocsin whoami``: save a server and key as a profile, and say who a key is.

``GET /api/keys/current`` describes the calling key and names its org, whatever its scopes. An older
server without it is asked through ``GET /api/keys``, finding the key by its display prefix (its
first 12 characters), which needs ``keys:read`` and cannot name the org."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.text import Text

from tocsin.cli import config
from tocsin.cli.client import (
    DEFAULT_URL,
    EXIT_REFUSED,
    EXIT_USAGE,
    ApiClient,
    AsJson,
    Key,
    ProfileName,
    Refused,
    Target,
    Url,
    target,
)
from tocsin.cli.common import fail, print_json, stdout
from tocsin.cli.refs import USER, Names
from tocsin.cli.render import details

PREFIX_CHARS = 12  # what the API shows of a key: "sk_live_AbCd"
ORG_GAP = "not shown: this server has no GET /api/keys/current"


@dataclass
class Identity:
    prefix: str
    livemode: bool | None
    record: dict[str, Any] | None  # the key as GET /api/keys shows it, when it could be found
    note: str | None  # why it could not
    org: dict[str, Any] | None = None  # {id, slug, name} from GET /api/keys/current


def identify(client: ApiClient) -> Identity:
    """Who the client's key is. A 401 ends the command (exit 1); a 403 means the key is valid but may
    not read keys, so only what the key itself says is known."""
    secret = client.key
    prefix = secret[:PREFIX_CHARS]
    livemode = True if secret.startswith("sk_live_") else False if secret.startswith("sk_test_") else None
    try:
        current = client.call("GET", "/api/keys/current")["data"]
        return Identity(prefix, bool(current["key"]["livemode"]), current["key"], None, current["org"])
    except Refused as exc:
        if exc.status != 404:
            fail(exc.line, EXIT_REFUSED)
    rows: list[dict[str, Any]] = []
    try:
        while True:
            page = client.call("GET", "/api/keys", params={"limit": 100, "offset": len(rows)})
            rows += page["data"]
            if not page["pagination"]["has_more"] or not page["data"]:
                break
    except Refused as exc:
        if exc.status == 403:
            return Identity(prefix, livemode, None, "name and scopes need the keys:read scope")
        fail(exc.line, EXIT_REFUSED)
    mine = [row for row in rows if row["prefix"] == prefix and not row.get("revoked_at")]
    if len(mine) == 1:
        return Identity(prefix, bool(mine[0]["livemode"]), mine[0], None)
    note = f"{len(mine)} keys share the prefix {prefix}" if mine else f"no key with prefix {prefix} listed"
    return Identity(prefix, livemode, None, note)


def _check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        fail(f"USAGE: server URL {url!r} must start with http:// or https://", EXIT_USAGE)
    return url


def login(
    profile: Annotated[
        str, typer.Option("--profile", help="Save as this profile (use it with --profile NAME).")
    ] = config.DEFAULT_PROFILE,
    url: Annotated[str | None, typer.Option("--url", help="Server URL; asked for if left out.")] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="API key; asked for (hidden) if left out, which keeps it out of history."),
    ] = None,
) -> None:
    """Check a server URL and API key against the server, then save them in
    ~/.config/tocsin/config.toml (owner-only) as a profile."""
    config.check_profile_name(profile)
    saved = config.load().get(profile, {})
    if url is None:
        url = typer.prompt(
            "Server URL", default=saved.get("url") or os.environ.get("TOCSIN_URL") or DEFAULT_URL
        )
    if key is None:  # a pipe (`pass tocsin | tocsin login`) is read as it is, without a prompt
        key = typer.prompt("API key", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline()
    url, key = _check_url(url), key.strip()
    where = Target(url, key, "--url", "--key")
    with ApiClient(where=where) as client:
        who = identify(client)
    path = config.save_profile(profile, {"url": url, "api_key": key})
    name = who.record["name"] if who.record else who.prefix
    mode = {True: "live", False: "test", None: "unknown mode"}[who.livemode]
    stdout().print(Text(f"Logged in to {url} with key {name} ({mode}); saved profile {profile!r} in {path}."))
    if who.note:
        stdout().print(Text(f"Note: {who.note}.", style="dim"))


def whoami(
    url: Url = None,
    key: Key = None,
    profile: ProfileName = None,
    as_json: AsJson = False,
) -> None:
    """The server and key in use, where each comes from, and the key's name, scopes and mode."""
    where = target(url, key, profile)
    with ApiClient(where=where) as client:
        who = identify(client)
        record = who.record or {}
        acts_as = Names(client).of(USER, record.get("user_id")) if record.get("user_id") else None
    if as_json:
        print_json(
            {
                "url": where.url,
                "url_from": where.url_from,
                "key_prefix": who.prefix,
                "key_from": where.key_from,
                "livemode": who.livemode,
                "key": who.record,
                "org": who.org,
                "note": who.note,
            }
        )
        return
    mode = {True: "live", False: "test", None: "unknown"}[who.livemode]
    stdout().print(
        details(
            [
                ("Server", f"{where.url} (from {where.url_from})"),
                ("Key", f"{who.prefix}… (from {where.key_from})"),
                ("Name", f"{record['name']} ({record['id']})" if record else f"unknown: {who.note}"),
                ("Mode", mode),
                ("Scopes", ", ".join(record["scopes"]) if record else None),
                ("Acts as", acts_as or ("a service key" if record else None)),
                ("Org", f"{who.org['name']} ({who.org['slug']}, {who.org['id']})" if who.org else ORG_GAP),
            ]
        )
    )
