"""Grafana OnCall routes, which we do not have: each integration has exactly one, its "default
route", whose id is derived from the integration's (``rt_…`` for ``int_…``) so it is stable and
a ``route_id`` filter finds the integration again without a table of its own."""

from __future__ import annotations

from typing import Final

_INTEGRATION: Final = "int_"
_ROUTE: Final = "rt_"


def route_id(integration_id: str | None) -> str | None:
    if integration_id is None:
        return None
    return _ROUTE + integration_id.removeprefix(_INTEGRATION)


def integration_of_route(value: str) -> str:
    """The integration id a route id names; anything else comes back as a string that names none."""
    if value.startswith(_ROUTE):
        return _INTEGRATION + value.removeprefix(_ROUTE)
    return value
