"""Microsoft Teams incoming webhooks (classic connector or Workflows): one Adaptive Card 1.4.

The address is the webhook URL, a secret. Connectors answer ``200 1``; Workflows answer 202.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx

from tocsin.notify.base import Message, Page, Receipt, Transient
from tocsin.notify.render import all_links, clip, facts, one_line, state_label
from tocsin.notify.webhook import DEFAULT_TIMEOUT, body_excerpt, deliver

ADAPTIVE_CARD: Final = "application/vnd.microsoft.card.adaptive"
_COLORS: Final = {"HIGH": "Attention", "MEDIUM": "Warning", "ACKNOWLEDGED": "Accent", "RESOLVED": "Good"}
_THROTTLED: Final = "HTTP error 429"
_STYLES: Final = {"ack": "positive", "resolve": "default", "link": "default", "view": "default"}


@dataclass(frozen=True, slots=True)
class TeamsConfig:
    timeout: float = DEFAULT_TIMEOUT


def adaptive_card(page: Page) -> dict[str, Any]:
    label = state_label(page)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": f"{label} · {one_line(page.service_name)}",
            "weight": "Bolder",
            "color": _COLORS.get(label, "Default"),
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": f"#{page.incident_number} {clip(one_line(page.title), 1000)}",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
    ]
    if page.description:
        body.append({"type": "TextBlock", "text": clip(page.description.strip(), 2000), "wrap": True})
    rows = [{"title": name, "value": value} for name, value in facts(page)]
    body.append({"type": "FactSet", "facts": rows})
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": link.label, "url": link.url, "style": _STYLES[link.kind]}
            for link in all_links(page)
        ],
        "msteams": {"width": "Full"},
    }


def teams_message(page: Page) -> dict[str, Any]:
    """The webhook body: a message carrying the card as its only attachment."""
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": adaptive_card(page)}],
    }


class TeamsChannel:
    name = "teams"

    def __init__(self, http: httpx.AsyncClient, config: TeamsConfig | None = None) -> None:
        self._http = http
        self._config = config or TeamsConfig()

    async def send(self, address: str, page: Page) -> Receipt:
        return await self._post(address, teams_message(page))

    async def send_message(self, address: str, message: Message) -> Receipt:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": message.text.strip(), "wrap": True}],
        }
        return await self._post(
            address,
            {
                "type": "message",
                "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
            },
        )

    async def _post(self, address: str, body: dict[str, Any]) -> Receipt:
        response = await deliver(
            self._http, address, channel=self.name, timeout=self._config.timeout, json=body
        )
        if _THROTTLED in response.text:
            # Classic connectors report throttling inside a 200 body.
            host = response.request.url.host
            raise Transient(f"{self.name}: throttled by {host}: {body_excerpt(response)}")
        return Receipt(detail=f"HTTP {response.status_code}")
