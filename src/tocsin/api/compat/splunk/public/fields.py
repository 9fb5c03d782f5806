"""Reading Splunk On-Call request bodies and query strings: each check a 400 naming the field as the
client spelled it (``userName``, ``incidentNames``), before any service runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tocsin.api.compat.splunk.public.common import invalid
from tocsin.services.schedules.specs import EARLIEST, LATEST

MAX_TEXT = 1024
MAX_ITEMS = 100


def text(body: Mapping[str, Any], field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    """A string field; blank counts as missing."""
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(field, f"{field} is required")
        return None
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be a string")
    if len(value) > limit:
        raise invalid(field, f"{field} is at most {limit} characters")
    if "\x00" in value:
        raise invalid(field, f"{field} may not contain NUL characters")
    return value.strip()


def required_text(body: Mapping[str, Any], field: str, *, limit: int = MAX_TEXT) -> str:
    value = text(body, field, limit=limit)
    assert value is not None  # required=True raises instead
    return value


def numbers(body: Mapping[str, Any], field: str) -> list[str]:
    """A non-empty list of incident numbers; clients send them as strings, some as integers."""
    value = body.get(field)
    if not isinstance(value, list) or not value:
        raise invalid(field, f"{field} must be a non-empty list of incident numbers")
    if len(value) > MAX_ITEMS:
        raise invalid(field, f"{field} takes at most {MAX_ITEMS} incident numbers")
    found = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise invalid(field, f"{field} must contain incident numbers (strings of digits)")
        found.append(str(item).strip())
    return found


def objects(body: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    """A non-empty list of JSON objects."""
    value = body.get(field)
    if not isinstance(value, list) or not value:
        raise invalid(field, f"{field} must be a non-empty list")
    if len(value) > MAX_ITEMS:
        raise invalid(field, f"{field} takes at most {MAX_ITEMS} items")
    if not all(isinstance(item, Mapping) for item in value):
        raise invalid(field, f"each item of {field} must be an object")
    return value


def instant(raw: Any, field: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 date-time; one without an offset stays naive for the caller to place in a zone."""
    if raw is None or raw == "":
        if required:
            raise invalid(field, f"{field} is required, an ISO 8601 date-time such as 2024-01-15T09:00:00Z")
        return None
    if not isinstance(raw, str):
        raise invalid(field, f"{field} must be an ISO 8601 date-time string")
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise invalid(field, f"{field}: {raw!r} is not an ISO 8601 date-time") from None
    # The native bounds; checked on the wall time too, as year 1 or 9999 with an offset cannot even
    # be converted to UTC (a naive time is placed in its zone by the caller).
    if not EARLIEST.year <= value.year < LATEST.year:
        raise invalid(field, f"{field} must be between {EARLIEST.year} and {LATEST.year}")
    return value


def utc_instant(raw: str | None, field: str) -> datetime | None:
    """A query-string date-time, taken as UTC when it has no offset."""
    value = instant(raw, field, required=False)
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
