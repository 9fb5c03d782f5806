"""Slack incoming webhooks: the address is the webhook URL (a secret: never shown in reasons).

Slack answers ``200 ok``; errors come as a short code in the body (``invalid_payload``,
``no_service``, ``channel_is_archived``) with 400/403/404/410, and 429 with Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx

from tocsin.notify.base import Message, Page, Receipt
from tocsin.notify.render import (
    actions,
    clip,
    facts,
    headline,
    incident_links,
    is_notice,
    one_line,
    state_label,
)
from tocsin.notify.webhook import DEFAULT_TIMEOUT, deliver

_SECTION_LIMIT: Final = 2900  # Slack allows 3000 characters in a section's text
_EMOJI: Final = {"HIGH": ":rotating_light:", "ACKNOWLEDGED": ":eyes:", "RESOLVED": ":white_check_mark:"}


@dataclass(frozen=True, slots=True)
class SlackConfig:
    timeout: float = DEFAULT_TIMEOUT


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters; anything else in user text is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    # In <url|label> neither part may carry a raw '|' or '>'.
    return f"<{mrkdwn_escape(url).replace('|', '%7C')}|{mrkdwn_escape(label).replace('|', '¦')}>"


def slack_message(page: Page) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [...]}``: headline section, facts, context, link buttons."""
    label = state_label(page)
    emoji = _EMOJI.get(label, ":warning:" if not is_notice(page) else "")
    title = clip(one_line(page.title), 1000)
    head = f"{emoji} *{label}* · {_link(page.incident_url, f'#{page.incident_number} {title}')}".strip()
    body = head
    if page.description:
        body += "\n" + mrkdwn_escape(clip(page.description.strip(), 1500))
    fields = [
        {"type": "mrkdwn", "text": f"*{mrkdwn_escape(name)}*\n{mrkdwn_escape(clip(value, 1900))}"}
        for name, value in facts(page)[:10]  # Slack allows 10 fields
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(body, _SECTION_LIMIT)}},
        {"type": "section", "fields": fields},
    ]
    context = f"Tocsin · {page.event}"
    if page.recipient_name:
        context += f" · paging {page.recipient_name}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn_escape(context)}]})
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": link.label},
            "url": link.url,
            "action_id": f"tocsin_{link.kind}",
            **({"style": "primary"} if link.kind == "ack" else {}),
        }
        for link in [*actions(page), *incident_links(page)][:4]  # Slack allows 5 buttons a block
    ]
    buttons.append(
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "View incident"},
            "url": page.incident_url,
            "action_id": "tocsin_view",
        }
    )
    blocks.append({"type": "actions", "elements": buttons})
    return {"text": mrkdwn_escape(headline(page)), "blocks": blocks}


class SlackChannel:
    name = "slack"

    def __init__(self, http: httpx.AsyncClient, config: SlackConfig | None = None) -> None:
        self._http = http
        self._config = config or SlackConfig()

    async def send(self, address: str, page: Page) -> Receipt:
        response = await deliver(
            self._http, address, channel=self.name, timeout=self._config.timeout, json=slack_message(page)
        )
        return Receipt(detail=clip(response.text.strip(), 100) or f"HTTP {response.status_code}")

    async def send_message(self, address: str, message: Message) -> Receipt:
        body = {"text": mrkdwn_escape(message.text.strip())}
        response = await deliver(
            self._http, address, channel=self.name, timeout=self._config.timeout, json=body
        )
        return Receipt(detail=clip(response.text.strip(), 100) or f"HTTP {response.status_code}")
