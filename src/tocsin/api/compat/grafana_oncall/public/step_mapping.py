"""Grafana OnCall escalation steps ↔ Tocsin escalation rules, one step per rule.

``wait`` (``duration`` seconds) is a wait rule of that delay; ``notify_persons``,
``notify_on_call_from_schedule`` and ``notify_team_members`` are notify rules of user, schedule or
team targets, ``important`` kept; ``repeat_escalation`` and ``resolve`` are rules of those kinds.
Steps with no Tocsin equivalent (round-robin, Slack groups, webhooks, time or alert-count
conditions, incidents) are refused by name rather than stored as something else.

A rule made through the native API that Grafana cannot show (targets of mixed kinds, a team paged
through one of its schedules) reads as the nearest step when one says the same thing, else with
``type: null`` as upstream shows a step of no type.

A native policy's timing reads as Grafana shows timing, in steps (``chain_steps``): a rule's own
``delay_minutes`` is a ``wait`` step before it (id ``<rule id>-wait``), and a policy that repeats
ends with a ``wait`` of its repeat delay (``<policy id>-repeat-wait``, when not 0) and a
``repeat_escalation`` step (``<policy id>-repeat``); positions count every step shown. Those steps
are read-only: the rule or policy they come from is edited through the native API. Grafana repeats
a chain at most 5 times; ``repeat_count`` (up to 9) has no Grafana field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tocsin.api.compat.grafana_oncall.public.common import bad_request, invalid
from tocsin.domain.escalation import repeat_delay

SUPPORTED = {
    "wait": "wait",
    "notify_persons": "notify",
    "notify_on_call_from_schedule": "notify",
    "notify_team_members": "notify",
    "repeat_escalation": "repeat",
    "resolve": "resolve",
}
UNSUPPORTED = (
    "notify_person_next_each_time",
    "notify_user_group",
    "trigger_webhook",
    "notify_whole_channel",
    "notify_if_time_from_to",
    "notify_if_num_alerts_in_window",
    "declare_incident",
    "notify_one_person",
)
# Grafana's EscalationPolicy.DURATION_CHOICES: 1, 5, 15, 30 and 60 minutes.
DURATIONS = (60, 300, 900, 1800, 3600)
DEFAULT_WAIT_SECONDS = 300  # Grafana's DEFAULT_WAIT_DELAY, for a wait step sent without one
TARGET_FIELDS = {
    "user": "persons_to_notify",
    "schedule": "notify_on_call_from_schedule",
    "team": "team_to_notify",
}


def step_type(value: Any) -> str:
    """A supported step type, or the 400 upstream answers (unknown) or ours (known, unsupported)."""
    if value is None or value == "":
        raise invalid("type", "This field is required.")
    if value in UNSUPPORTED:
        raise invalid("type", f"Step type {value!r} is not supported by Tocsin")
    if not isinstance(value, str) or value not in SUPPORTED:
        raise bad_request("Invalid escalation step type")
    return value


def position(value: Any) -> int | None:
    """``position`` as Grafana takes it: an integer from 0, or -1 for the end (``None``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise invalid("position", "A valid integer is required.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid("position", "A valid integer is required.") from None
    if number == -1:
        return None
    if number < 0 or number > 2147483647:
        raise bad_request("Invalid value for position field")
    return number


def _seconds(value: Any) -> int:
    """Seconds from an integer, a numeric string or ``HH:MM:SS`` (both forms upstream accepts)."""
    if isinstance(value, bool):
        raise bad_request("Invalid duration format")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            return int(text)
        parts = text.split(":")
        if len(parts) == 3 and all(part.isascii() and part.isdigit() and len(part) <= 6 for part in parts):
            hours, minutes, seconds = (int(part) for part in parts)
            return hours * 3600 + minutes * 60 + seconds
    raise bad_request("Invalid duration format")


def duration_minutes(value: Any) -> int:
    seconds = DEFAULT_WAIT_SECONDS if value is None else _seconds(value)
    if seconds not in DURATIONS:
        raise invalid("duration", f'"{value}" is not a valid choice.')
    return seconds // 60


def important(value: Any) -> bool:
    """DRF's BooleanField: true/false and their usual spellings."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise invalid("important", "Must be a valid boolean.")


def _ids(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise invalid(field, "Expected a list of items.")
    return list(dict.fromkeys(value))


def _one_id(value: Any, field: str) -> str:
    if value is None or value == "":
        raise invalid(field, "This field is required.")
    if not isinstance(value, str):
        raise invalid(field, f"Incorrect type. Expected pk value, received {type(value).__name__}.")
    return value


def rule_spec(step: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The native rule spec of a Grafana step (already checked to be supported)."""
    kind = SUPPORTED[step]
    if kind == "wait":
        return {"kind": "wait", "delay_minutes": duration_minutes(body.get("duration")), "targets": []}
    if kind != "notify":
        return {"kind": kind, "delay_minutes": 0, "targets": []}
    flag = important(body.get("important"))
    if step == "notify_persons":
        users = _ids(body.get("persons_to_notify"), "persons_to_notify")
        if not users:
            raise invalid("persons_to_notify", "This list may not be empty.")
        targets = [{"type": "user", "id": user} for user in users]
    elif step == "notify_on_call_from_schedule":
        targets = [
            {
                "type": "schedule",
                "id": _one_id(body.get("notify_on_call_from_schedule"), TARGET_FIELDS["schedule"]),
            }
        ]
    else:
        targets = [{"type": "team", "id": _one_id(body.get("team_to_notify"), TARGET_FIELDS["team"])}]
    return {"kind": "notify", "delay_minutes": 0, "targets": targets, "important": flag}


def target_field(step: str) -> str:
    """The Grafana field that carries a step's targets, to name it in an error about them."""
    return {
        "notify_persons": "persons_to_notify",
        "notify_on_call_from_schedule": "notify_on_call_from_schedule",
        "notify_team_members": "team_to_notify",
    }.get(step, "type")


def current_step(rule: Any) -> tuple[str | None, dict[str, Any]]:
    """A rule as Grafana's step type and its per-type fields, in upstream's order."""
    kind = rule.kind
    if kind == "wait":
        return "wait", {"duration": rule.delay_minutes * 60}
    if kind == "repeat":
        return "repeat_escalation", {}
    if kind == "resolve":
        return "resolve", {}
    targets = list(rule.targets)
    types = {target.get("type") for target in targets}
    if types == {"user"}:
        return "notify_persons", {
            "important": rule.important,
            "persons_to_notify": [target["id"] for target in targets],
        }
    if len(targets) == 1 and types == {"schedule"}:
        return "notify_on_call_from_schedule", {
            "important": rule.important,
            "notify_on_call_from_schedule": targets[0]["id"],
        }
    if len(targets) == 1 and types == {"team"}:
        if targets[0].get("schedule_id"):
            return "notify_on_call_from_schedule", {
                "important": rule.important,
                "notify_on_call_from_schedule": targets[0]["schedule_id"],
            }
        return "notify_team_members", {"important": rule.important, "team_to_notify": targets[0]["id"]}
    return None, {}


def render(rule: Any) -> dict[str, Any]:
    """``position, id, escalation_chain_id, type`` then the fields of that type."""
    kind, fields = current_step(rule)
    return {
        "position": rule.position,
        "id": rule.id,
        "escalation_chain_id": rule.policy_id,
        "type": kind,
        **fields,
    }


WAIT_SUFFIX = "-wait"
REPEAT_SUFFIX = "-repeat"
REPEAT_WAIT_SUFFIX = "-repeat-wait"


def chain_steps(policy: Any) -> list[dict[str, Any]]:
    """A policy (its ``rules`` in position order) as the steps Grafana OnCall would show for the
    same escalation: delays as ``wait`` steps, the policy's repeat as a last ``repeat_escalation``,
    so a chain read through Grafana's API pages at the times it pages here."""
    steps: list[dict[str, Any]] = []

    def add(step_id: str, kind: str | None, fields: Mapping[str, Any]) -> None:
        steps.append(
            {"position": len(steps), "id": step_id, "escalation_chain_id": policy.id, "type": kind, **fields}
        )

    rules = list(policy.rules)
    for rule in rules:
        if rule.kind != "wait" and rule.delay_minutes > 0:
            add(rule.id + WAIT_SUFFIX, "wait", {"duration": rule.delay_minutes * 60})
        kind, fields = current_step(rule)
        add(rule.id, kind, fields)
    if rules and policy.repeat_count > 0:
        minutes = repeat_delay(
            delays_minutes=tuple(rule.delay_minutes for rule in rules),
            repeat_delay_minutes=policy.repeat_delay_minutes,
        )
        if minutes > 0:
            add(policy.id + REPEAT_WAIT_SUFFIX, "wait", {"duration": minutes * 60})
        add(policy.id + REPEAT_SUFFIX, "repeat_escalation", {})
    return steps
