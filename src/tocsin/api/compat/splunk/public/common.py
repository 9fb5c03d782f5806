"""Splunk On-Call's public API conventions: the dialect (``X-VO-Api-Id`` + ``X-VO-Api-Key``,
``{"error": …}`` bodies) and request bodies.

Wire facts: ``/work/shared/compat/splunk-oncall-api.md`` (the official Swagger spec and the
official Go client). A missing header is 401, a wrong key or API id 403; a read-only key may only GET.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.responses import Response

from tocsin.api.dialects import Credentials
from tocsin.api.errors import ApiError
from tocsin.services.access.keys import KeyRecord
from tocsin.services.errors import STATUS_FOR_CODE

PUBLIC = "/api-public"
REPORTING = "/api-reporting"


class SplunkDialect:
    """Both headers are required; the API id must be the key's org's (``GET /api/org``)."""

    prefixes: tuple[str, ...] = (PUBLIC + "/", REPORTING + "/")
    name = "splunk_public"

    def credentials(self, headers: Headers) -> Credentials:
        api_id = headers.get("x-vo-api-id", "").strip()
        secret = headers.get("x-vo-api-key", "").strip()
        if not api_id or not secret:
            return Credentials(None)
        return Credentials(secret, api_id)

    def admits(self, record: KeyRecord, credentials: Credentials) -> bool:
        expected = (record.org_api_id or "").encode()
        return bool(expected) and hmac.compare_digest(expected, (credentials.org_api_id or "").encode())

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
        if code == "UNAUTHORIZED":
            if details.get("missing"):
                message = "Missing authentication: send both X-VO-Api-Id and X-VO-Api-Key"
            else:
                status, message = 403, "Authentication failed: unknown X-VO-Api-Key or X-VO-Api-Id"
        elif code == "FORBIDDEN" and details.get("read_only"):
            message = "This API key is read-only: only GET requests are allowed"
        elif code == "CONFLICT":
            status = 422  # Splunk's answer for a name already taken or a state it cannot reach
        elif code == "METHOD_NOT_ALLOWED":
            message = f"Method {details.get('method', '')} not allowed on this path"
        elif code == "NOT_FOUND" and message == "No such route":
            message = "No such path in the Splunk On-Call API"
        body = {"error": message}
        return Response(
            orjson.dumps(body), status_code=status, media_type="application/json", headers=dict(headers or {})
        )


DIALECT = SplunkDialect()


def invalid(field: str, message: str) -> ApiError:
    """A 400 ``{"error": "<message>"}`` naming the field."""
    return ApiError("VALIDATION_ERROR", message, {"field": field, "reason": "invalid"})


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object body; anything else is a 400 saying so."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("body", "Request body must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise invalid("body", "Request body must be a JSON object")
    return parsed


Body = Annotated[dict[str, Any], Depends(_body)]
