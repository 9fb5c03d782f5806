"""A user's own webhook as a contact method, and the HTTP delivery every HTTP channel shares.

``deliver`` is the single place where an HTTP answer becomes an outcome: 2xx is a receipt; 408,
429 and 5xx (and timeouts, refused connections) are ``Transient`` with the provider's Retry-After;
any other answer is ``Permanent``. Reasons name the host, never the full URL: Slack and Teams
webhook URLs are secrets, and so are tokens in headers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx

from tocsin.notify.base import Message, Page, Permanent, Receipt, Transient
from tocsin.notify.render import clip

DEFAULT_TIMEOUT: Final = 10.0
USER_AGENT: Final = "Tocsin"
REASON_BODY_LIMIT: Final = 300

ErrorDetail = Callable[[httpx.Response], str]


def body_excerpt(response: httpx.Response) -> str:
    """The provider's error body, on one line and cut short enough for a timeline entry."""
    return clip(" ".join(response.text.split()), REASON_BODY_LIMIT)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds the provider asked us to wait: ``Retry-After`` as seconds, or as an HTTP date
    measured against the response's own ``Date`` (so no local clock is needed)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        wait = parsedate_to_datetime(value) - parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return max(wait.total_seconds(), 0.0)


def check_http_url(channel: str, url: str) -> httpx.URL:
    """The address as a URL, or ``Permanent`` when it cannot be one we may POST to."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise Permanent(f"{channel}: the address is not a valid URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Permanent(f"{channel}: the address must be an http(s) URL")
    return parsed


def raise_for_outcome(channel: str, response: httpx.Response, detail: ErrorDetail = body_excerpt) -> None:
    """Turn a non-2xx answer into ``Transient`` or ``Permanent``; return quietly on 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    host = response.request.url.host
    text = detail(response)
    reason = f"{channel}: HTTP {status} from {host}" + (f": {text}" if text else "")
    if status in (408, 429) or status >= 500:
        raise Transient(reason, retry_after=retry_after_seconds(response))
    if 300 <= status < 400:
        raise Permanent(f"{reason} (a redirect; point the channel at the final URL)")
    raise Permanent(reason)


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    *,
    channel: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    detail: ErrorDetail = body_excerpt,
) -> httpx.Response:
    """POST once with its own timeout and map the outcome; the 2xx response is returned."""
    target = check_http_url(channel, url)
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        response = await client.post(
            url,
            headers=all_headers,
            json=json,
            data=data,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=timeout,
            follow_redirects=False,
        )
    except httpx.TimeoutException as exc:
        raise Transient(f"{channel}: no answer from {target.host} within {timeout:g}s") from exc
    except httpx.UnsupportedProtocol as exc:
        raise Permanent(f"{channel}: the address must be an http(s) URL") from exc
    except httpx.TransportError as exc:
        why = clip(str(exc).replace(url, "<url>"), REASON_BODY_LIMIT) or type(exc).__name__
        raise Transient(f"{channel}: cannot reach {target.host}: {why}") from exc
    raise_for_outcome(channel, response, detail)
    return response


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    timeout: float = DEFAULT_TIMEOUT


def webhook_payload(page: Page) -> dict[str, Any]:
    """The body a user's webhook receives; stable field names, documented for integrators."""
    return {
        "event": page.event,
        "incident": {
            "id": page.incident_id,
            "number": page.incident_number,
            "title": page.title,
            "status": page.status,
            "urgency": page.urgency,
            "service": page.service_name,
            "url": page.incident_url,
            "description": page.description,
            "source": page.source,
            "details": dict(page.details),
        },
        "recipient": page.recipient_name,
        "ack_url": page.ack_url,
        "resolve_url": page.resolve_url,
    }


class WebhookChannel:
    """POSTs ``webhook_payload`` as JSON to the contact method's URL with an ``Idempotency-Key``
    header (stable across retries, so the receiver can drop a repeat)."""

    name = "webhook"

    def __init__(self, http: httpx.AsyncClient, config: WebhookConfig | None = None) -> None:
        self._http = http
        self._config = config or WebhookConfig()

    async def send(self, address: str, page: Page) -> Receipt:
        response = await deliver(
            self._http,
            address,
            channel=self.name,
            timeout=self._config.timeout,
            headers={"Idempotency-Key": page.idempotency_key},
            json=webhook_payload(page),
        )
        request_id = response.headers.get("X-Request-Id")
        return Receipt(provider_id=request_id, detail=f"HTTP {response.status_code}")

    async def send_message(self, address: str, message: Message) -> Receipt:
        """``{"event": "contact.test" | "contact.verification", "message": <text>}``."""
        response = await deliver(
            self._http,
            address,
            channel=self.name,
            timeout=self._config.timeout,
            headers={"Idempotency-Key": message.idempotency_key},
            json={"event": message.kind, "message": message.text},
        )
        return Receipt(
            provider_id=response.headers.get("X-Request-Id"), detail=f"HTTP {response.status_code}"
        )
