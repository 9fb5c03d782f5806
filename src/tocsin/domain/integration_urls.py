"""Where each kind of integration sends its alerts, and the text a user pastes into the sender:
a team leaving PagerDuty, Opsgenie, Splunk On-Call or Grafana OnCall changes only the host, so the
URL shapes are theirs. Pure: the public base URL comes in as an argument."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Final

INTEGRATION_TYPES: Final = (
    "events_api_v2",
    "pagerduty",
    "alertmanager",
    "grafana_alerting",
    "webhook",
    "formatted_webhook",
    "opsgenie",
    "victorops",
)
DEFAULT_TYPE: Final = "events_api_v2"

# Only the Grafana OnCall-style webhooks are shaped by templates; every other type takes no config.
TEMPLATE_KEYS: Final = ("title_template", "dedup_key_template", "resolve_condition", "severity_template")
CONFIG_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "webhook": TEMPLATE_KEYS,
    "formatted_webhook": TEMPLATE_KEYS,
}
TEMPLATE_MAX_CHARS: Final = 2000

# Splunk On-Call URLs end in a routing key of their own; the service is chosen by the key before it,
# so any value works and this one fills the ready-to-paste URL.
VICTOROPS_ROUTING_KEY: Final = "default"

PAGERDUTY_V2_PATH: Final = "/v2/enqueue"
PAGERDUTY_V1_PATH: Final = "/generic/2010-04-15/create_event.json"
OPSGENIE_PATH: Final = "/v2/alerts"
VICTOROPS_PATH: Final = "/integrations/generic/20131114/alert/"
GRAFANA_ONCALL_TYPES: Final = ("alertmanager", "grafana_alerting", "webhook", "formatted_webhook")


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def inbound_url(base_url: str, integration_type: str, routing_key: str) -> str | None:
    """The URL an integration's sender posts to; ``None`` for a type this server does not serve."""
    base = _base(base_url)
    if integration_type in ("events_api_v2", "pagerduty"):
        return base + PAGERDUTY_V2_PATH
    if integration_type in GRAFANA_ONCALL_TYPES:
        return f"{base}/integrations/v1/{integration_type}/{routing_key}/"
    if integration_type == "opsgenie":
        return base + OPSGENIE_PATH
    if integration_type == "victorops":
        return f"{base}{VICTOROPS_PATH}{routing_key}/{VICTOROPS_ROUTING_KEY}"
    return None


def heartbeat_url(base_url: str, integration_type: str, routing_key: str) -> str | None:
    """Grafana OnCall's heartbeat URL of an integration it serves (``<inbound URL>heartbeat/``)."""
    if integration_type not in GRAFANA_ONCALL_TYPES:
        return None
    return f"{_base(base_url)}/integrations/v1/{integration_type}/{routing_key}/heartbeat/"


def _q(value: str) -> str:
    """A YAML scalar that stays a string (a JSON string is a valid double-quoted YAML scalar)."""
    return json.dumps(value)


def _receiver(kind: str, fields: Mapping[str, str]) -> str:
    """An Alertmanager receiver block (``alertmanager.yml``), ready to paste."""
    lines = ["receivers:", "  - name: tocsin", f"    {kind}:"]
    for index, (name, value) in enumerate(fields.items()):
        lines.append(f"      {'- ' if index == 0 else '  '}{name}: {value}")
    return "\n".join(lines)


def _curl(url: str, body: Mapping[str, object], headers: tuple[str, ...] = ()) -> str:
    parts = [f"curl -X POST {url}", "-H 'Content-Type: application/json'"]
    parts += [f"-H '{header}'" for header in headers]
    parts.append(f"-d '{json.dumps(body)}'")
    return " \\\n  ".join(parts)


def _pagerduty(base: str, key: str, with_v1: bool) -> str:
    url = base + PAGERDUTY_V2_PATH
    text = [
        "# Alertmanager (PagerDuty Events API v2 receiver):",
        _receiver("pagerduty_configs", {"url": _q(url), "routing_key": _q(key)}),
        "",
        "# Any PagerDuty Events API v2 client, or by hand:",
        _curl(
            url,
            {
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": "disk-full-db01",
                "payload": {"summary": "Disk full on db-01", "severity": "critical", "source": "db-01"},
            },
        ),
    ]
    if with_v1:
        text += [
            "",
            "# PagerDuty Events API v1 (service_key):",
            _curl(
                base + PAGERDUTY_V1_PATH,
                {
                    "service_key": key,
                    "event_type": "trigger",
                    "incident_key": "disk-full-db01",
                    "description": "Disk full on db-01",
                },
            ),
        ]
    return "\n".join(text)


def _alert_group(status: str) -> dict[str, object]:
    """The smallest Alertmanager webhook body (version 4) with one alert, for a hand-made test."""
    labels = {"alertname": "DiskFull", "instance": "db-01", "severity": "critical"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status,
        "receiver": "tocsin",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "Disk full on db-01"},
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "Disk full on db-01"},
                "startsAt": "2024-01-15T10:30:00Z",
                "fingerprint": "c6bb8b1f0a0f4b3e",
            }
        ],
    }


def _alertmanager(base: str, key: str) -> str:
    url = f"{base}/integrations/v1/alertmanager/{key}/"
    return "\n".join(
        [
            "# Alertmanager (webhook receiver; every alert group is one incident):",
            _receiver("webhook_configs", {"url": _q(url), "send_resolved": "true"}),
            "",
            '# By hand, as Alertmanager would ("status": "resolved" resolves it):',
            _curl(url, _alert_group("firing")),
        ]
    )


def _grafana_alerting(base: str, key: str) -> str:
    url = f"{base}/integrations/v1/grafana_alerting/{key}/"
    return "\n".join(
        [
            "# Grafana: Alerting > Contact points > Add contact point, Integration: Webhook",
            f"# URL: {url}",
            "# HTTP Method: POST",
            "",
            '# By hand, as Grafana would ("status": "resolved" resolves it):',
            _curl(url, _alert_group("firing")),
        ]
    )


def _webhook(base: str, key: str, kind: str) -> str:
    url = f"{base}/integrations/v1/{kind}/{key}/"
    body: dict[str, object] = {
        "alert_uid": "disk-full-db01",
        "title": "Disk full on db-01",
        "state": "alerting",
        "message": "/var is 98% full",
    }
    return "\n".join(
        [
            '# Any JSON POST. Default templates: "title", "alert_uid" or "id" as the dedup key,',
            '# "state": "ok" resolves (the integration\'s config may set its own):',
            _curl(url, body),
        ]
    )


def _opsgenie(base: str, key: str) -> str:
    return "\n".join(
        [
            "# Alertmanager (Opsgenie receiver):",
            _receiver("opsgenie_configs", {"api_url": _q(base + "/"), "api_key": _q(key)}),
            "",
            "# Any Opsgenie Alert API client, or by hand:",
            _curl(
                base + OPSGENIE_PATH,
                {"message": "Disk full on db-01", "alias": "disk-full-db01", "priority": "P1"},
                (f"Authorization: GenieKey {key}",),
            ),
        ]
    )


def _victorops(base: str, key: str) -> str:
    return "\n".join(
        [
            "# Alertmanager (VictorOps / Splunk On-Call receiver):",
            _receiver(
                "victorops_configs",
                {
                    "api_url": _q(base + VICTOROPS_PATH),
                    "api_key": _q(key),
                    "routing_key": _q(VICTOROPS_ROUTING_KEY),
                },
            ),
            "",
            "# Splunk On-Call REST endpoint, by hand:",
            _curl(
                f"{base}{VICTOROPS_PATH}{key}/{VICTOROPS_ROUTING_KEY}",
                {
                    "message_type": "CRITICAL",
                    "entity_id": "disk-full-db01",
                    "entity_display_name": "Disk full on db-01",
                    "state_message": "/var is 98% full",
                },
            ),
        ]
    )


_SNIPPETS: Final[Mapping[str, Callable[[str, str], str]]] = {
    "events_api_v2": lambda base, key: _pagerduty(base, key, with_v1=False),
    "pagerduty": lambda base, key: _pagerduty(base, key, with_v1=True),
    "alertmanager": _alertmanager,
    "grafana_alerting": _grafana_alerting,
    "webhook": lambda base, key: _webhook(base, key, "webhook"),
    "formatted_webhook": lambda base, key: _webhook(base, key, "formatted_webhook"),
    "opsgenie": _opsgenie,
    "victorops": _victorops,
}


def config_snippet(base_url: str, integration_type: str, routing_key: str) -> str | None:
    """What to paste into the sender: an Alertmanager receiver block where Alertmanager has a
    native receiver for the format, and a curl line for sending by hand. Blocks are separated by a
    blank line; each Alertmanager block is valid YAML on its own."""
    make = _SNIPPETS.get(integration_type)
    return None if make is None else make(_base(base_url), routing_key)
