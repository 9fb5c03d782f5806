"""The spec's error envelope ``{"error": {code, message, details}}``, with the status of each code
(``services.errors.STATUS_FOR_CODE``, which the web screens answer with too).

Apart from ``api.errors`` (which maps exceptions to answers) so that the dialects, which render
their own error shapes and fall back on this one, and the error handlers, which pick a dialect per
URL, each import it without importing each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from tocsin.services.errors import STATUS_FOR_CODE

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
