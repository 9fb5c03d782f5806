"""What people type for a thing (a name, an email, ``#42``, ``2h``) turned into what the API takes
(an id, an RFC 3339 time), and ids turned back into names for tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tocsin.cli.client import EXIT_USAGE, ApiClient, Refused, segment
from tocsin.cli.common import fail, now
from tocsin.cli.when import parse_when, rfc3339


@dataclass(frozen=True)
class Kind:
    noun: str
    prefix: str  # ids look like ``usr_01J…``
    path: str


SCHEDULE = Kind("schedule", "sch_", "/api/schedules")
USER = Kind("user", "usr_", "/api/users")
SERVICE = Kind("service", "svc_", "/api/services")
TEAM = Kind("team", "tm_", "/api/teams")
POLICY = Kind("escalation policy", "ep_", "/api/escalation-policies")


def resolve(client: ApiClient, kind: Kind, ref: str) -> str:
    """An id as it is; else the one thing whose name (or, for users, email) is ``ref``, any case."""
    if ref.startswith(kind.prefix):
        return ref
    wanted = ref.strip().lower()
    if kind is USER and "@" in wanted:
        found = client.get(kind.path, email=ref.strip(), limit=100)["data"]
        exact = [row for row in found if row["email"].lower() == wanted]
    else:
        found = client.get(kind.path, query=ref.strip(), limit=100)["data"]
        exact = [row for row in found if row["name"].lower() == wanted]
    if len(exact) != 1:
        close = ", ".join(row["name"] for row in found[:10]) or "none"
        what = "email" if kind is USER and "@" in wanted else "name"
        fail(f"NOT_FOUND: no single {kind.noun} with {what} {ref!r} (close: {close})")
    found_id: str = exact[0]["id"]
    return found_id


def resolve_many(client: ApiClient, kind: Kind, refs: list[str] | None) -> str | None:
    """Comma-separated or repeated refs as the API's comma-separated ids."""
    if not refs:
        return None
    parts = [part.strip() for ref in refs for part in ref.split(",") if part.strip()]
    return ",".join(resolve(client, kind, part) for part in parts)


def when(text: str | None, option: str, *, past: bool = False) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_when(text, now(), past=past)
    except ValueError as exc:
        fail(f"USAGE: {option}: {exc}", EXIT_USAGE)


def when_param(text: str | None, option: str, *, past: bool = False) -> str | None:
    instant = when(text, option, past=past)
    return rfc3339(instant) if instant else None


class Names:
    """Ids shown as names, each looked up once per command; an id that cannot be read stays an id
    (a key without ``users:read`` still lists incidents)."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._cache: dict[tuple[str, str], str] = {}

    def of(self, kind: Kind, item_id: str | None) -> str:
        if not item_id:
            return ""
        if (kind.path, item_id) not in self._cache:
            try:
                body: Any = self.client.call("GET", f"{kind.path}/{segment(item_id)}")
                self._cache[kind.path, item_id] = str(body["data"]["name"])
            except (Refused, KeyError, TypeError):
                self._cache[kind.path, item_id] = item_id
        return self._cache[kind.path, item_id]

    def all(self, kind: Kind, ids: list[str]) -> str:
        return ", ".join(self.of(kind, item_id) for item_id in ids)
