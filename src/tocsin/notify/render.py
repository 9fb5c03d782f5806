"""The words every channel shares, so an incident reads the same in a mail, a text and a chat card.

Everything here is plain text; each channel escapes for its own format (HTML, XML, Slack mrkdwn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tocsin.notify.base import Page

# Details (labels, custom details) shown on a page: a few short lines, so an SMS or a card stays
# small whatever an alert carries.
DETAIL_LINES: Final = 6
DETAIL_WIDTH: Final = 100

# Events that tell about a state change rather than ask someone to act.
_NOTICE_LABELS: Final = {
    "incident.acknowledged": "ACKNOWLEDGED",
    "incident.resolved": "RESOLVED",
}


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str
    kind: str  # "ack" | "resolve" | "link" | "view"


def one_line(text: str) -> str:
    """Collapse whitespace so user text cannot break a header, an SMS or a chat title."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def state_label(page: Page) -> str:
    """What the headline leads with: the urgency for a page, the new state for a notice."""
    return _NOTICE_LABELS.get(page.event, page.urgency)


def is_notice(page: Page) -> bool:
    """An acknowledged/resolved notice informs; it must not ring as loudly as a page."""
    return page.event in _NOTICE_LABELS


def lead(page: Page) -> str:
    """What a headline starts with: ``Acknowledged by Erik`` on a notice to the others paged (who
    acted is the news), else the state label."""
    if page.changed_by and is_notice(page):
        verb = "Acknowledged" if page.event == "incident.acknowledged" else "Resolved"
        return f"{verb} by {clip(one_line(page.changed_by), 60)}"
    return state_label(page)


def headline(page: Page, *, title_limit: int = 200) -> str:
    """``#42 HIGH: High CPU on web-01 (Payment API)``; ``#42 Acknowledged by Erik: ...``."""
    title = clip(one_line(page.title), title_limit)
    return f"#{page.incident_number} {lead(page)}: {title} ({one_line(page.service_name)})"


def subject(page: Page) -> str:
    """The email subject: ``[Tocsin] #42 HIGH: High CPU on web-01 (Payment API)``."""
    return f"[Tocsin] {headline(page)}"


def actions(page: Page) -> list[Link]:
    """The one-click links that still make sense for this event: no "Acknowledge" on a notice
    that the incident was acknowledged or resolved, no "Resolve" once resolved."""
    links: list[Link] = []
    if page.ack_url and page.event not in ("incident.acknowledged", "incident.resolved"):
        links.append(Link("Acknowledge", page.ack_url, "ack"))
    if page.resolve_url and page.event != "incident.resolved":
        links.append(Link("Resolve", page.resolve_url, "resolve"))
    return links


def incident_links(page: Page) -> list[Link]:
    """The incident's own links (runbook, source, dashboards), labels on one line."""
    return [Link(clip(one_line(label), 60) or "Link", url, "link") for label, url in page.links]


def all_links(page: Page) -> list[Link]:
    """The action links, the incident's own links, then the link to the incident itself."""
    return [*actions(page), *incident_links(page), Link("View incident", page.incident_url, "view")]


def detail_rows(page: Page) -> list[tuple[str, str]]:
    """At most ``DETAIL_LINES`` label/value rows of the page's details, each value cut to
    ``DETAIL_WIDTH``; a last row says how many were left out."""
    items = list(page.details.items())
    shown = items if len(items) <= DETAIL_LINES else items[: DETAIL_LINES - 1]
    rows = [(clip(one_line(key), 40), clip(one_line(value), DETAIL_WIDTH)) for key, value in shown]
    if len(shown) < len(items):
        rows.append(("…", f"{len(items) - len(shown)} more"))
    return rows


def facts(page: Page) -> list[tuple[str, str]]:
    """Label/value pairs shown under the headline, in a stable order; custom details last."""
    rows = [
        ("Status", page.status),
        ("Urgency", page.urgency),
        ("Service", page.service_name),
    ]
    if page.source:
        rows.append(("Source", page.source))
    if page.alert_count > 1:
        rows.append(("Alerts", str(page.alert_count)))
    if page.recipient_name:
        rows.append(("Paging", page.recipient_name))
    if page.escalation_level is not None:
        rows.append(("Escalation level", str(page.escalation_level)))
    rows.extend(detail_rows(page))
    return [(one_line(label), clip(one_line(value), 500)) for label, value in rows]


def plain_text(page: Page) -> str:
    """A full plain-text rendering (email text part, webhook-less fallbacks)."""
    lines = [headline(page, title_limit=1000), ""]
    lines.extend(f"{label}: {value}" for label, value in facts(page))
    if page.description:
        lines.extend(["", page.description.strip()])
    lines.append("")
    lines.extend(f"{link.label}: {link.url}" for link in all_links(page))
    return "\n".join(lines) + "\n"


def reply_hint(page: Page) -> str:
    """The SMS reply commands still possible for this event ('' for a resolved notice)."""
    number = page.incident_number
    if page.event == "incident.resolved":
        return ""
    if page.event == "incident.acknowledged":
        return f'Reply "{number} resolve"'
    return f'Reply "{number} ack" or "{number} resolve"'


def spoken(page: Page) -> str:
    """What a voice call reads out: no symbols a speech engine stumbles over."""
    title = clip(one_line(page.title), 300)
    service = one_line(page.service_name)
    number = page.incident_number
    if is_notice(page):
        return f"Tocsin. Incident number {number} on {service} is now {state_label(page).lower()}: {title}."
    return f"Tocsin alert. A {page.urgency.lower()} urgency incident, number {number}, on {service}: {title}."
