"""A screen's refusal answered with the status the API gives the same refusal (the message stays
the service's, so a person reads what a script would). The transactions are ``web.screen``'s,
the role check ``web.permissions``'s."""

from __future__ import annotations

from typing import Final

from tocsin.services.errors import ServiceError

# The API's status for each error code (api/envelope), for the pages' answers.
STATUS: Final = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "RATE_LIMITED": 429,
    "SERVICE_UNAVAILABLE": 503,
}


def status_of(error: ServiceError) -> int:
    return STATUS.get(error.code, 500)
