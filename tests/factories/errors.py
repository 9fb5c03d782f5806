"""The one check of the spec's error envelope that every API test uses."""

from __future__ import annotations

from typing import Any


def expect_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is ``status`` with ``{"error": {code, message, details}}``; return the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])
