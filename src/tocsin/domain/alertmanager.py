"""Alertmanager's webhook notification (payload version 4; Grafana Alerting's webhook contact point
sends the same shape with a few extra keys): read it strictly, and derive what an incident takes
from one alert group: its dedup key, title, severity, description, links and details.

One alert group (``groupKey``) is one incident. Field names follow Alertmanager's
``notify/webhook.Message`` and ``template.Data``/``template.Alert``.

Title rule, in order:

1. a prefix, ``[FIRING:N]`` (N = firing alerts in this notification) or ``[RESOLVED]``;
2. then the ``summary`` annotation common to the group (else a common ``title`` annotation), or
3. the alert name (the common ``alertname``, else the group's, else the distinct alert names of the
   firing alerts, else the group label values), then the other common labels, sorted, as
   ``(key=value ...)``: ``[FIRING:2] HighCPU (instance=web-01 severity=critical)``.

Whitespace runs become one space; the title is cut at 1024 characters."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

MAX_DEDUP_KEY: Final = 255
MAX_TITLE: Final = 1024
MAX_SOURCE: Final = 255
DEFAULT_SEVERITY: Final = "critical"

# Severity label values seen in the wild, mapped to ours; anything else falls back to the default.
SEVERITY_ALIASES: Final[Mapping[str, str]] = {
    "critical": "critical",
    "crit": "critical",
    "page": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "high": "critical",
    "p1": "critical",
    "error": "error",
    "err": "error",
    "major": "error",
    "p2": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "medium": "warning",
    "p3": "warning",
    "info": "info",
    "informational": "info",
    "information": "info",
    "notice": "info",
    "low": "info",
    "none": "info",
    "p4": "info",
    "p5": "info",
}
_RANK: Final[Mapping[str, int]] = {"critical": 4, "error": 3, "warning": 2, "info": 1}
STATUSES: Final = ("firing", "resolved")
_SPACES = re.compile(r"\s+")


class PayloadError(ValueError):
    """A field of the wrong type or value; ``field`` is its dotted path (``alerts.0.labels``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class AlertmanagerAlert:
    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str
    fingerprint: str
    # The alert object exactly as received: it is what an Alert row keeps.
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    status: str
    group_key: str
    receiver: str = ""
    version: str | None = None
    group_labels: Mapping[str, str] = field(default_factory=dict)
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    truncated_alerts: int = 0
    alerts: tuple[AlertmanagerAlert, ...] = ()

    @property
    def firing(self) -> tuple[AlertmanagerAlert, ...]:
        return tuple(alert for alert in self.alerts if alert.status == "firing")


def _type_name(value: object) -> str:
    return type(value).__name__


def _text(data: Mapping[str, Any], name: str, path: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(path, "Not a valid string.")
    return value


def _scalar(value: object) -> str | None:
    """Label values are strings in Alertmanager; numbers and booleans from hand-made senders are
    accepted as their JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def _kv(data: Mapping[str, Any], name: str, path: str) -> dict[str, str]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(path, f'Expected a dictionary of items but got type "{_type_name(value)}".')
    pairs: dict[str, str] = {}
    for key, item in value.items():
        text = _scalar(item)
        if text is None:
            raise PayloadError(f"{path}.{key}", "Not a valid string.")
        pairs[key] = text
    return pairs


def _status(value: str, path: str) -> str:
    status = value.lower()
    if status not in STATUSES:
        raise PayloadError(path, f'"{value}" is not a valid choice.')
    return status


def _alert(data: object, path: str, group_status: str | None) -> AlertmanagerAlert:
    if not isinstance(data, dict):
        raise PayloadError(path, f"Invalid data. Expected a dictionary, but got {_type_name(data)}.")
    raw_status = _text(data, "status", f"{path}.status")
    if raw_status:
        status = _status(raw_status, f"{path}.status")
    else:
        status = group_status or "firing"
    for name in ("startsAt", "endsAt"):
        _text(data, name, f"{path}.{name}")
    return AlertmanagerAlert(
        status=status,
        labels=_kv(data, "labels", f"{path}.labels"),
        annotations=_kv(data, "annotations", f"{path}.annotations"),
        generator_url=_text(data, "generatorURL", f"{path}.generatorURL"),
        fingerprint=_text(data, "fingerprint", f"{path}.fingerprint"),
        raw=data,
    )


def parse_notification(data: Mapping[str, Any]) -> Notification:
    """Check the types of everything we read; unknown keys (Grafana's ``title``, ``orgId`` ...) pass.

    A missing group ``status`` is inferred (firing while any alert fires); an alert without one
    takes the group's."""
    raw_alerts = data.get("alerts")
    if raw_alerts is None:
        raw_alerts = []
    if not isinstance(raw_alerts, list):
        raise PayloadError("alerts", f'Expected a list of items but got type "{_type_name(raw_alerts)}".')
    raw_status = _text(data, "status", "status")
    group_status = _status(raw_status, "status") if raw_status else None
    alerts = tuple(_alert(item, f"alerts.{index}", group_status) for index, item in enumerate(raw_alerts))
    if group_status is None:
        group_status = (
            "firing" if any(alert.status == "firing" for alert in alerts) or not alerts else "resolved"
        )
    truncated = data.get("truncatedAlerts", 0)
    if truncated is None:
        truncated = 0
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise PayloadError("truncatedAlerts", "A valid integer is required.")
    version = data.get("version")
    if version is not None and _scalar(version) is None:
        raise PayloadError("version", "Not a valid string.")
    return Notification(
        status=group_status,
        group_key=_text(data, "groupKey", "groupKey"),
        receiver=_text(data, "receiver", "receiver"),
        version=None if version is None else _scalar(version),
        group_labels=_kv(data, "groupLabels", "groupLabels"),
        common_labels=_kv(data, "commonLabels", "commonLabels"),
        common_annotations=_kv(data, "commonAnnotations", "commonAnnotations"),
        external_url=_text(data, "externalURL", "externalURL"),
        truncated_alerts=truncated,
        alerts=alerts,
    )


def bounded_key(key: str) -> str:
    """Dedup keys are at most 255 characters: a longer one is replaced by its SHA-256."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def dedup_key(notification: Notification) -> str:
    """The group key; a sender without one is grouped by receiver and group labels."""
    if notification.group_key:
        return bounded_key(notification.group_key)
    basis = json.dumps(
        {"receiver": notification.receiver, "groupLabels": dict(notification.group_labels)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_severity(value: object) -> str | None:
    """``critical|error|warning|info`` for a known severity word (any case), else None."""
    if not isinstance(value, str):
        return None
    return SEVERITY_ALIASES.get(value.strip().lower())


def severity(notification: Notification) -> str:
    """The common ``severity`` label; else the most severe among the firing alerts; else critical."""
    common = normalise_severity(notification.common_labels.get("severity"))
    if common is not None:
        return common
    found = [
        mapped
        for alert in notification.firing or notification.alerts
        if (mapped := normalise_severity(alert.labels.get("severity"))) is not None
    ]
    return max(found, key=_RANK.__getitem__) if found else DEFAULT_SEVERITY


def one_line(text: str, limit: int = MAX_TITLE) -> str:
    return _SPACES.sub(" ", text).strip()[:limit]


def _alert_name(notification: Notification) -> str:
    for labels in (notification.common_labels, notification.group_labels):
        if labels.get("alertname"):
            return labels["alertname"]
    names: list[str] = []
    for alert in notification.firing or notification.alerts:
        name = alert.labels.get("alertname")
        if name and name not in names:
            names.append(name)
    if names:
        return ", ".join(names)
    values = [value for _, value in sorted(notification.group_labels.items()) if value]
    return " ".join(values) or "Alert"


def title(notification: Notification) -> str:
    """The incident title (the rule is in the module docstring)."""
    if notification.status == "firing":
        prefix = f"[FIRING:{len(notification.firing)}]"
    else:
        prefix = "[RESOLVED]"
    annotations = notification.common_annotations
    summary = (annotations.get("summary") or annotations.get("title") or "").strip()
    if summary:
        return one_line(f"{prefix} {summary}")
    details = " ".join(
        f"{key}={value}" for key, value in sorted(notification.common_labels.items()) if key != "alertname"
    )
    text = f"{prefix} {_alert_name(notification)}"
    if details:
        text += f" ({details})"
    return one_line(text)


def title_of_body(data: Mapping[str, Any], notification: Notification) -> str:
    """The title of a firing body that carries no firing alert (``{}``, ``{"title": "Disk full"}``, a
    hand-made sender's object): the body's own ``title`` when it has one, else the group's title
    with a bare ``[FIRING]`` prefix. Grafana OnCall's Alertmanager integration opens an alert group
    for any body (one alert from the whole payload, titled by its template), so senders moved from
    it keep paging here instead of being answered "Ok." and dropped."""
    own = data.get("title")
    if isinstance(own, str) and own.strip():
        return one_line(own)
    return title(notification).replace("[FIRING:0]", "[FIRING]", 1)


def description(notification: Notification) -> str | None:
    return notification.common_annotations.get("description") or None


def source(notification: Notification, default: str) -> str:
    """Where it happened: the common ``instance`` (else ``job``) label, else ``default``."""
    labels = notification.common_labels
    return (labels.get("instance") or labels.get("job") or default)[:MAX_SOURCE]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def links(notification: Notification) -> list[dict[str, Any]]:
    """The ``runbook_url`` annotation (the group's, else the first firing alert's), the first firing
    alert's generator URL and the Alertmanager's external URL, when present: the runbook first, as
    the link a person paged wants before any other."""
    found: list[dict[str, Any]] = []
    alerts = notification.firing or notification.alerts
    runbook = notification.common_annotations.get("runbook_url") or next(
        (alert.annotations["runbook_url"] for alert in alerts if alert.annotations.get("runbook_url")), ""
    )
    if _is_url(runbook):
        found.append({"href": runbook, "text": "Runbook"})
    generator = next(
        (alert.generator_url for alert in notification.firing or notification.alerts if alert.generator_url),
        "",
    )
    if _is_url(generator):
        found.append({"href": generator, "text": "Source"})
    if _is_url(notification.external_url):
        found.append({"href": notification.external_url, "text": "Alertmanager"})
    return found


def details(notification: Notification) -> dict[str, Any]:
    """The group-level facts an incident keeps as its custom details."""
    return {
        "receiver": notification.receiver,
        "status": notification.status,
        "groupKey": notification.group_key,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": dict(notification.common_labels),
        "commonAnnotations": dict(notification.common_annotations),
        "externalURL": notification.external_url,
        "truncatedAlerts": notification.truncated_alerts,
    }
