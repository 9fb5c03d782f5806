"""Grafana OnCall's public API conventions: the dialect (auth and error bodies), a router that
serves every route with and without its trailing slash, request bodies as JSON, form or multipart,
and ids and times as Grafana's clients expect them.

Wire facts: ``/work/shared/compat/grafana-oncall-api.md`` (read from grafana/oncall's
``engine/apps/public_api``). Auth failures are 403, never 401; errors are DRF's bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.datastructures import Headers
from starlette.responses import Response

from tocsin.api.dialects import Credentials
from tocsin.api.errors import ApiError
from tocsin.services.access.keys import KeyRecord
from tocsin.services.errors import STATUS_FOR_CODE

PREFIX = "/api/v1"

_AUTH_SCHEMES = ("bearer", "api-key", "token")


class GrafanaDialect:
    """``Authorization: <key>`` (no scheme; ``Bearer <key>`` too, as the service-account form sends,
    with ``X-Grafana-URL`` accepted and ignored); DRF-style error bodies."""

    prefixes: tuple[str, ...] = (PREFIX + "/",)
    name = "grafana_oncall"

    def credentials(self, headers: Headers) -> Credentials:
        value = headers.get("authorization", "").strip()
        scheme, _, rest = value.partition(" ")
        if rest.strip() and scheme.lower() in _AUTH_SCHEMES:
            value = rest.strip()
        return Credentials(value or None)

    def admits(self, record: KeyRecord, credentials: Credentials) -> bool:
        return True

    def render(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        details = details or {}
        status = STATUS_FOR_CODE.get(code, 500)
        out_headers = dict(headers or {})
        body: dict[str, Any]
        if code == "UNAUTHORIZED":
            status = 403
            missing = details.get("missing")
            body = {
                "detail": "Authentication credentials were not provided." if missing else "Invalid token."
            }
        elif code == "FORBIDDEN":
            body = {"detail": "You do not have permission to perform this action."}
        elif code == "NOT_FOUND":
            body = {"detail": "Not found."}
        elif code == "METHOD_NOT_ALLOWED":
            body = {"detail": f'Method "{details.get("method", "")}" not allowed.'}
        elif code == "RATE_LIMITED":
            retry = int((extra or {}).get("retry_after", out_headers.get("Retry-After", 1)))
            out_headers["Retry-After"] = str(retry)
            out_headers["RateLimit-Reset"] = str(retry)
            body = {"detail": f"Request was throttled. Expected available in {retry} seconds."}
        elif code == "VALIDATION_ERROR":
            body = validation_body(message, details)
        elif code == "CONFLICT":
            status = 400  # Grafana answers an impossible action with BadRequest
            body = {"detail": message}
        elif code == "INTERNAL_ERROR":
            body = {"detail": "A server error occurred."}
        else:
            body = {"detail": message}
        return Response(
            orjson.dumps(body), status_code=status, media_type="application/json", headers=out_headers
        )


def validation_body(message: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """DRF's shape: ``{"field": ["message"]}``; ``non_field_errors`` for cross-field checks;
    ``detail`` for a body that is not JSON at all."""
    if details.get("reason") == "invalid_json":
        return {"detail": f"JSON parse error - {message}"}
    if details.get("reason") == "bad_request":
        return {str(details.get("field") or "detail"): message}
    field = str(details.get("field") or "non_field_errors")
    if field == "body":
        field = "non_field_errors"
    text = message.split(": ", 1)[1] if message.startswith(f"{field}: ") else message
    return {field: [text]}


DIALECT = GrafanaDialect()


class SlashRouter(APIRouter):
    """Every route also answers with a trailing slash (Grafana's clients send both forms); the
    slashed twin stays out of the OpenAPI document."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        bare = path.rstrip("/")
        super().add_api_route(bare, endpoint, **kwargs)
        super().add_api_route(bare + "/", endpoint, **{**kwargs, "include_in_schema": False})


def invalid(field: str, message: str) -> ApiError:
    """A 400 ``{"<field>": ["<message>"]}``; ``non_field_errors`` for cross-field checks."""
    return ApiError("VALIDATION_ERROR", message, {"field": field, "reason": "invalid"})


def optional_string(body: dict[str, Any], field: str) -> str | None:
    """``body[field]`` when it is a string or absent/null; any other JSON type is DRF's 400."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid(field, "Not a valid string.")
    return value


def bad_request(message: str, field: str | None = None) -> ApiError:
    """A 400 as Grafana's ``BadRequest(detail=...)`` writes it: ``{"detail": "<message>"}``, or
    ``{"<field>": "<message>"}`` (a bare string, not a list) when upstream names a field that way."""
    return ApiError("VALIDATION_ERROR", message, {"field": field or "detail", "reason": "bad_request"})


async def _body(request: Request) -> dict[str, Any]:
    """The request body as a dict, whatever Grafana's clients sent: JSON, urlencoded form or
    multipart (DRF's parsers accept all three). An empty body is ``{}``."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        async with request.form() as form:  # closes uploaded files' temporary spools
            return {name: value for name, value in form.items() if isinstance(value, str)}
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError("VALIDATION_ERROR", str(exc), {"field": "body", "reason": "invalid_json"}) from None
    if not isinstance(parsed, dict):
        kind = type(parsed).__name__
        raise invalid("non_field_errors", f"Invalid data. Expected a dictionary, but got {kind}.")
    return parsed


Body = Annotated[dict[str, Any], Depends(_body)]


def timestamp(value: datetime | None) -> str | None:
    """``2026-11-24T09:00:00.123456Z``: ISO-8601 with microseconds and ``Z``, as Grafana's
    serializers write datetimes."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
