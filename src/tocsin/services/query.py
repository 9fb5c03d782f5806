"""Parsing query strings the way spec 003 writes them: comma-separated multi-values, ISO 8601 dates.
Shared by the API and the web screens, so a filter in a page URL means and refuses exactly what it
does on the API."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from tocsin.services.errors import Invalid

E = TypeVar("E", bound=StrEnum)


def csv_values(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def csv_enum(raw: str | None, enum: type[E], field: str) -> tuple[E, ...]:
    """``OPEN,acknowledged`` → ``(OPEN, ACKNOWLEDGED)``; an unknown value names the allowed ones."""
    values = []
    for part in csv_values(raw):
        try:
            values.append(enum(part.upper()))
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise Invalid(field, "invalid", f"{field}: {part!r} is not one of {allowed}") from None
    return tuple(values)


def iso_datetime(raw: str | None, field: str) -> datetime | None:
    """A date (``2024-01-15``, midnight UTC) or a datetime; without an offset it is taken as UTC."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise Invalid(field, "invalid", f"{field}: {raw!r} is not an ISO 8601 date or datetime") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def choice(raw: str, allowed: tuple[str, ...], field: str) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise Invalid(field, "invalid", f"{field} must be one of {', '.join(allowed)}")
    return value
