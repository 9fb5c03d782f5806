"""ntfy push notifications, published as JSON to the server root.

The address is the topic. On a public server the topic name is the only secret, so it never
appears in a reason; a self-hosted server may require an access token (sent as Bearer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx

from tocsin.notify.base import Message, Page, Permanent, Receipt
from tocsin.notify.render import actions, clip, facts, headline, is_notice, one_line, state_label
from tocsin.notify.webhook import DEFAULT_TIMEOUT, deliver

_TOPIC: Final = re.compile(r"[-_A-Za-z0-9]{1,64}")
_MESSAGE_LIMIT: Final = 3500  # ntfy keeps messages up to 4,096 bytes
_TAGS: Final = {
    "HIGH": "rotating_light",
    "MEDIUM": "warning",
    "ACKNOWLEDGED": "eyes",
    "RESOLVED": "white_check_mark",
}


@dataclass(frozen=True, slots=True)
class NtfyConfig:
    server_url: str = "https://ntfy.sh"
    access_token: str | None = None
    timeout: float = DEFAULT_TIMEOUT


def priority(page: Page) -> int:
    """5 ("max": bypasses Do Not Disturb on Android) for a HIGH page; 3 for anything else,
    including acknowledged/resolved notices of a HIGH incident."""
    return 5 if page.urgency == "HIGH" and not is_notice(page) else 3


def ntfy_message(topic: str, page: Page) -> dict[str, Any]:
    lines = [f"{name}: {value}" for name, value in facts(page) if name not in ("Status", "Urgency")]
    if page.description:
        lines.append(page.description.strip())
    label = state_label(page)
    return {
        "topic": topic,
        "title": clip(headline(page), 250),
        "message": clip("\n".join(lines), _MESSAGE_LIMIT),
        "priority": priority(page),
        "tags": [tag for tag in (_TAGS.get(label), one_line(page.service_name)[:64]) if tag],
        "click": page.incident_url,
        "actions": [
            {"action": "view", "label": link.label, "url": link.url, "clear": True} for link in actions(page)
        ],
    }


class NtfyChannel:
    name = "push"

    def __init__(self, http: httpx.AsyncClient, config: NtfyConfig | None = None) -> None:
        self._http = http
        self._config = config or NtfyConfig()

    async def send(self, address: str, page: Page) -> Receipt:
        return await self._publish(address, lambda topic: ntfy_message(topic, page))

    async def send_message(self, address: str, message: Message) -> Receipt:
        return await self._publish(
            address,
            lambda topic: {
                "topic": topic,
                "title": clip(one_line(message.subject), 250),
                "message": clip(message.text.strip(), _MESSAGE_LIMIT),
                "priority": 3,
            },
        )

    async def _publish(self, address: str, body: Callable[[str], dict[str, Any]]) -> Receipt:
        topic = address.strip()
        if not _TOPIC.fullmatch(topic):
            raise Permanent(f"{self.name}: an ntfy topic is 1-64 letters, digits, '-' or '_'")
        headers = {}
        if self._config.access_token:
            headers["Authorization"] = f"Bearer {self._config.access_token}"
        response = await deliver(
            self._http,
            self._config.server_url.rstrip("/") + "/",
            channel=self.name,
            timeout=self._config.timeout,
            headers=headers,
            json=body(topic),
        )
        try:
            message_id = response.json().get("id")
        except (ValueError, AttributeError):
            message_id = None
        return Receipt(provider_id=message_id if isinstance(message_id, str) else None, detail="published")
