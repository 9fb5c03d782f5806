"""PagerDuty event bodies (Events API v2 and v1) read into ingest ``Event``s, with every problem
in PagerDuty's own words: PagerDuty lists them all at once, so the reader does not stop at the
first. The endpoints and answers are ``api.compat.pagerduty.endpoints``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from tocsin.services.ingest.events import Action, Event

ACTIONS: Final[dict[str, Action]] = {"trigger": "trigger", "acknowledge": "acknowledge", "resolve": "resolve"}
# In the order PagerDuty's own error text lists them.
SEVERITIES = ("critical", "warning", "error", "info")
_SEVERITY_CHOICES = "'critical', 'warning', 'error' or 'info'"
_ACTION_CHOICES = "'trigger', 'acknowledge' or 'resolve'"


class Problems:
    """Every problem with an event, in PagerDuty's words; PagerDuty lists them all at once."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def text(
        self, obj: Mapping[str, Any], name: str, label: str, *, required: bool = False, max_length: int = 0
    ) -> str | None:
        value = obj.get(name)
        if value is None or (required and isinstance(value, str) and not value.strip()):
            if required:
                self.errors.append(f"{label} is missing or blank")
            return None
        if not isinstance(value, str):
            self.errors.append(f"{label} must be a string")
            return None
        if max_length and len(value) > max_length:
            self.errors.append(f"{label} is too long (maximum is {max_length} characters)")
            return None
        return value

    def items(self, obj: Mapping[str, Any], name: str, needs: str) -> list[dict[str, Any]]:
        """A list of objects (``links``, ``images``) each with the string field ``needs``."""
        value = obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.errors.append(f"'{name}' must be an array")
            return []
        kept: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                self.errors.append(f"'{name}[{index}]' must be an object")
                continue
            if self.text(item, needs, f"'{name}[{index}].{needs}'", required=True) is not None:
                kept.append(item)
        return kept


def details_of(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    return {"details": value}


def native_links(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Onto the incident in the native shape: ``{"href", "text"}``."""
    return [{"href": link["href"], "text": link.get("text")} for link in links]


def _without(body: Mapping[str, Any], secret: str) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != secret}


def payload_of(problems: Problems, body: Mapping[str, Any]) -> dict[str, Any] | None:
    payload = body.get("payload")
    if isinstance(payload, dict):
        return payload
    problems.errors.append(
        "'payload' is missing or blank" if payload is None else "'payload' must be an object"
    )
    return None


def timestamp_of(problems: Problems, payload: Mapping[str, Any]) -> datetime | None:
    """ISO 8601 as PagerDuty takes it (``2015-07-17T08:42:58.315+0000``, ``...Z``); UTC if naive."""
    text = problems.text(payload, "timestamp", "'payload.timestamp'")
    if text is None:
        return None
    candidate = text.strip()
    if candidate.endswith(("Z", "z")) and ("+" in candidate[10:-1] or "-" in candidate[10:-1]):
        candidate = candidate[:-1]  # "+00:00Z": an offset and a Z, as some clients write it
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        problems.errors.append("'payload.timestamp' is invalid (must be an ISO 8601 date and time)")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _action(
    problems: Problems, body: Mapping[str, Any], name: str, label: str, invalid: str
) -> Action | None:
    text = problems.text(body, name, label, required=True)
    if text is None:
        return None
    if text not in ACTIONS:
        problems.errors.append(invalid)
        return None
    return ACTIONS[text]


def _key(
    problems: Problems, body: Mapping[str, Any], name: str, label: str, action: Action | None
) -> str | None:
    """The dedup (v1: incident) key: optional to trigger (one is made up), needed to act on one."""
    before = len(problems.errors)
    key = problems.text(body, name, label, max_length=255)
    if action in ("acknowledge", "resolve") and not (key or "").strip() and len(problems.errors) == before:
        problems.errors.append(f"{label} is missing or blank")
    return key or None


def v2_event(body: Mapping[str, Any], problems: Problems) -> Event | None:
    invalid = f"'event_action' is invalid (must be one of the following: {_ACTION_CHOICES})"
    action = _action(problems, body, "event_action", "'event_action'", invalid)
    dedup_key = _key(problems, body, "dedup_key", "'dedup_key'", action)
    if action != "trigger":
        if problems.errors or action is None:
            return None
        return Event(action=action, dedup_key=dedup_key, raw=_without(body, "routing_key"))
    payload = payload_of(problems, body)
    summary = source = severity = None
    if payload is not None:
        summary = problems.text(payload, "summary", "'payload.summary'", required=True, max_length=1024)
        source = problems.text(payload, "source", "'payload.source'", required=True)
        severity = problems.text(payload, "severity", "'payload.severity'", required=True)
        if severity is not None and severity not in SEVERITIES:
            problems.errors.append(
                f"'payload.severity' is invalid (must be one of the following: {_SEVERITY_CHOICES})"
            )
        for name in ("timestamp", "component", "group", "class"):
            problems.text(payload, name, f"'payload.{name}'")
    links = problems.items(body, "links", "href")
    problems.items(body, "images", "src")
    problems.text(body, "client", "'client'")
    problems.text(body, "client_url", "'client_url'")
    if problems.errors or payload is None:
        return None
    return Event(
        action="trigger",
        dedup_key=dedup_key,
        summary=summary,
        severity=severity,
        source=(source or "")[:255],
        custom_details=details_of(payload.get("custom_details")),
        links=native_links(links),
        raw=_without(body, "routing_key"),
    )


def v1_event(body: Mapping[str, Any], problems: Problems) -> Event | None:
    invalid = "event_type is invalid (must be one of: trigger acknowledge resolve)"
    action = _action(problems, body, "event_type", "Event type", invalid)
    incident_key = _key(problems, body, "incident_key", "Incident key", action)
    description = problems.text(
        body, "description", "Description", required=action == "trigger", max_length=1024
    )
    client = problems.text(body, "client", "Client")
    problems.text(body, "client_url", "Client URL")
    contexts = body.get("contexts")
    links: list[dict[str, Any]] = []
    if contexts is not None and not isinstance(contexts, list):
        problems.errors.append("Contexts must be an array")
    for index, context in enumerate(contexts if isinstance(contexts, list) else []):
        kind = context.get("type") if isinstance(context, dict) else None
        if kind not in ("link", "image"):
            problems.errors.append(f"contexts[{index}].type is invalid (must be one of: link image)")
            continue
        needs = "href" if kind == "link" else "src"
        if problems.text(context, needs, f"contexts[{index}].{needs}", required=True) and kind == "link":
            links.append(context)
    if problems.errors or action is None:
        return None
    if action != "trigger":
        return Event(action=action, dedup_key=incident_key, raw=_without(body, "service_key"))
    return Event(
        action="trigger",
        dedup_key=incident_key,
        summary=description,
        source=client[:255] if client else None,
        custom_details=details_of(body.get("details")),
        links=native_links(links),
        raw=_without(body, "service_key"),
    )
