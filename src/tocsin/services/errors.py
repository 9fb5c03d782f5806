"""Errors a caller can act on. The API turns each into the spec's error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The HTTP status of each error code: the API's envelope answers with it, and the web screens
# answer a refused form with the same status the API gives the same refusal.
STATUS_FOR_CODE: Mapping[str, int] = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


class ServiceError(Exception):
    code = "INTERNAL_ERROR"
    # Seconds after which sending the same request again is worth it (``Retry-After``), if any.
    retry_after: int | None = None

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(ServiceError):
    """Also what another org's id gets, so existence never leaks across tenants."""

    code = "NOT_FOUND"

    def __init__(self, resource: str, ident: str) -> None:
        super().__init__(f"{resource} {ident!r} not found", {"resource": resource, "id": ident})


class Invalid(ServiceError):
    code = "VALIDATION_ERROR"

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message, {"field": field, "reason": reason})


class Conflict(ServiceError):
    code = "CONFLICT"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class DatabaseBusy(ServiceError):
    """The database's write lock did not come within the writer's patience (another writer held
    SQLite's lock all along), or PostgreSQL kept breaking the same write's deadlocks after every
    retry: nothing was written, so the caller may simply send it again."""

    code = "SERVICE_UNAVAILABLE"
    retry_after = 1

    def __init__(self, waited_seconds: float, reason: str = "database_busy") -> None:
        super().__init__(
            f"The database stayed busy for {waited_seconds:g} s and nothing was recorded; send it again.",
            {"reason": reason, "waited_seconds": waited_seconds},
        )


class RateLimited(ServiceError):
    """Sent too often; ``retry_after`` seconds until it may be sent again (a 429)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, {**(details or {}), "retry_after": retry_after})
        self.retry_after = retry_after


def status_of(error: ServiceError) -> int:
    """The HTTP status the API answers ``error`` with."""
    return STATUS_FOR_CODE.get(error.code, 500)
