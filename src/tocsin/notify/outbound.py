"""One signed POST of a webhook body: the transport under outbound webhook deliveries.

It never retries and never follows a redirect (a redirect could carry the signed body somewhere the
subscriber did not choose); it reports what happened as an ``Attempt`` and the engine decides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from tocsin.domain.signing import signature

USER_AGENT: Final = "Tocsin-Webhooks/1"
# Enough of an error response to say why, small enough to keep in every attempt of the log.
_ERROR_BODY_BYTES: Final = 300


@dataclass(frozen=True, slots=True)
class Attempt:
    """``retryable`` is meaningful only when the attempt failed; ``retry_after`` (seconds) is what a
    429 or 503 asked for in ``Retry-After``."""

    status_code: int | None
    latency_ms: float
    error: str | None
    retryable: bool
    retry_after: float | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def headers_for(secret: str, body: bytes, *, event: str, delivery_id: str) -> dict[str, str]:
    """The headers of every delivery: both signature names carry the same value, so verifiers
    written for OpsKnight keep working; ``X-Tocsin-Delivery`` is stable across retries."""
    signed = signature(secret, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Tocsin-Signature": signed,
        "X-OpsKnight-Signature": signed,
        "X-Tocsin-Event": event,
        "X-Tocsin-Delivery": delivery_id,
    }


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _status_error(response: httpx.Response, snippet: bytes) -> str:
    reason = f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        location = response.headers.get("location")
        return f"{reason}: redirect{' to ' + location if location else ''} not followed"
    text = snippet.decode("utf-8", errors="replace").strip()
    return f"{reason}: {text}" if text else reason


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    body: bytes,
    *,
    event: str,
    delivery_id: str,
    timeout: float,
) -> Attempt:
    """POST ``body`` to ``url`` signed with ``secret``. 2xx succeeds; 5xx, 429, timeouts and
    connection errors are retryable; any other status (4xx, 3xx) is not."""
    headers = headers_for(secret, body, event=event, delivery_id=delivery_id)
    started = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - started) * 1000.0

    try:
        async with client.stream(
            "POST",
            url,
            content=body,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        ) as response:
            latency = elapsed()
            status = response.status_code
            if 200 <= status < 300:
                return Attempt(status, latency, None, retryable=False, retry_after=None)
            snippet = b""
            async for chunk in response.aiter_raw():
                snippet += chunk
                if len(snippet) >= _ERROR_BODY_BYTES:
                    break
            error = _status_error(response, snippet[:_ERROR_BODY_BYTES])
            retryable = status == 429 or status >= 500
            wait = retry_after_seconds(response.headers.get("retry-after")) if retryable else None
            return Attempt(status, latency, error, retryable=retryable, retry_after=wait)
    except httpx.TimeoutException:
        return Attempt(None, elapsed(), f"timed out after {timeout:g}s", retryable=True, retry_after=None)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return Attempt(None, elapsed(), f"bad URL: {exc}", retryable=False, retry_after=None)
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        return Attempt(None, elapsed(), f"connection failed: {reason}", retryable=True, retry_after=None)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Attempt(None, elapsed(), f"request failed: {reason}", retryable=True, retry_after=None)
