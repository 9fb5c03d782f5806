"""Envelopes shared by every resource: ``{"data": ...}`` and ``{"data": [...], "pagination": ...}``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from tocsin.services.pagination import Page

T = TypeVar("T")


def _rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; milliseconds only when there are any."""
    value = value.astimezone(UTC)
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


Timestamp = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class WriteModel(BaseModel):
    """Request bodies: unknown fields are an error, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid")


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool


class Envelope(BaseModel, Generic[T]):
    data: T


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination


def envelope(item: Any) -> dict[str, Any]:
    return {"data": item}


def page_envelope(page: Page[Any], convert: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    items: Iterable[Any] = page.items if convert is None else map(convert, page.items)
    return {
        "data": list(items),
        "pagination": {
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "has_more": page.has_more,
        },
    }
