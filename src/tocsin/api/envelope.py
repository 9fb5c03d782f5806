"""The spec's error envelope ``{"error": {code, message, details}}`` and the status of each code.

Apart from ``api.errors`` (which maps exceptions to answers) so that the dialects, which render
their own error shapes and fall back on this one, and the error handlers, which pick a dialect per
URL, each import it without importing each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

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
CODE_FOR_STATUS = {status: code for code, status in STATUS_FOR_CODE.items()}


def error_response(
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """The one place the error envelope is rendered."""
    body: dict[str, Any] = {"code": code, "message": message, "details": dict(details or {})}
    body.update(extra or {})
    return Response(
        orjson.dumps({"error": body}),
        status_code=STATUS_FOR_CODE.get(code, 500),
        media_type="application/json",
        headers=dict(headers or {}),
    )
