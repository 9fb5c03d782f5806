"""API key scopes: what a key may touch, and the read-only rule (spec 003 + Splunk On-Call)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

RESOURCES: Final = ("incidents", "services", "schedules", "users", "teams", "keys")
SCOPES: Final = ("events:write",) + tuple(
    f"{resource}:{access}" for resource in RESOURCES for access in ("read", "write")
)
ALL_SCOPES: Final = frozenset(SCOPES)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes in ``scopes`` that do not exist, for a precise validation error."""
    return sorted(set(scopes) - ALL_SCOPES)


def grants(held: frozenset[str], required: str) -> bool:
    """A write scope implies the read scope of the same resource."""
    if required in held:
        return True
    resource, _, access = required.partition(":")
    return access == "read" and f"{resource}:write" in held


def is_read_only(held: frozenset[str]) -> bool:
    """A key whose scopes are all ``:read`` may only GET, whatever the route."""
    return bool(held) and all(scope.endswith(":read") for scope in held)
