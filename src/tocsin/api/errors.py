"""The spec's error envelope ``{"error": {code, message, details}}`` on every error the API returns.

No framework-default body (FastAPI's 422, Starlette's plain-text 404) ever reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tocsin.api.dialects import NATIVE, Dialects
from tocsin.api.envelope import CODE_FOR_STATUS
from tocsin.services.errors import ServiceError

log = logging.getLogger("tocsin.api")


class ApiError(Exception):
    """Raised anywhere in a request to answer with the envelope."""

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def service_error_headers(exc: ServiceError) -> dict[str, str]:
    """``Retry-After`` for a service error that says when sending again is worth it (a 503)."""
    return {} if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}


def field_path(location: Sequence[Any]) -> str:
    """``("body", "payload", "summary")`` becomes ``"payload.summary"``: the name the client sent."""
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


_REASONS = {
    "missing": "required",
    "json_invalid": "invalid_json",
    "extra_forbidden": "unknown_field",
    "enum": "invalid",
    "literal_error": "invalid",
}


def _validation_error(exc: RequestValidationError) -> tuple[str, str, dict[str, str]]:
    """Code, message and details of the first failed check (the field as the client named it)."""
    first = exc.errors()[0]
    field = field_path(first.get("loc", ()))
    kind = str(first.get("type", "invalid"))
    reason = _REASONS.get(kind, kind)
    if kind == "json_invalid" or (field == "body" and kind in ("model_attributes_type", "dict_type")):
        return (
            "VALIDATION_ERROR",
            "Request body must be a JSON object",
            {"field": "body", "reason": "invalid_json"},
        )
    return (
        "VALIDATION_ERROR",
        f"{field}: {first.get('msg', 'invalid value')}",
        {"field": field, "reason": reason},
    )


def _render(
    request: Request,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """In the dialect of the request's URL space (``api.dialects``): Grafana OnCall's routes answer
    ``{"detail": …}``, Splunk On-Call's ``{"error": …}``, everything else the native envelope."""
    dialects: Dialects | None = getattr(request.app.state, "dialects", None)
    dialect = NATIVE if dialects is None else dialects.render_for(request.url.path)
    return dialect.render(code, message, details, headers, extra)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _render(request, exc.code, exc.message, exc.details, exc.headers, exc.extra)

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        # A 429 carries ``retry_after`` in the body too, as the gate's own 429 does.
        extra = {"retry_after": exc.retry_after} if exc.code == "RATE_LIMITED" else None
        return _render(request, exc.code, exc.message, exc.details, service_error_headers(exc), extra)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        code, message, details = _validation_error(exc)
        return _render(request, code, message, details)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = CODE_FOR_STATUS.get(exc.status_code, "INTERNAL_ERROR")
        messages = {404: "No such route", 405: "Method not allowed on this route"}
        message = messages.get(exc.status_code, str(exc.detail))
        return _render(request, code, message, {"method": request.method}, exc.headers)

    async def on_integrity(request: Request, exc: Exception) -> Response:
        # Services check uniqueness first; this is the race two identical creates can still win.
        log.info("unique constraint race answered as 409: %s", exc)
        return _render(
            request, "CONFLICT", "The request conflicts with an existing record; retry or change it."
        )

    async def on_data_error(request: Request, exc: Exception) -> Response:
        # The database refused a value the checks let through: a NUL in a text field (PostgreSQL
        # cannot store it) or a number past its column. The client's input, never our 500.
        log.info("database refused a value, answered as 400: %s", exc)
        return _render(
            request,
            "VALIDATION_ERROR",
            "A value is out of range or holds characters that cannot be stored (such as NUL)",
            {"field": "body", "reason": "invalid"},
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _render(request, "INTERNAL_ERROR", "Internal server error; it has been logged.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(Exception, on_unexpected)
