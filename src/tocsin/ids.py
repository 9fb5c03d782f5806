"""Prefixed, time-sortable public ids (``inc_01J...``): the prefix says what it is, the ULID sorts by age."""

from __future__ import annotations

from typing import Final

from ulid import ULID

PREFIXES: Final = {
    "org": "org",
    "user": "usr",
    "team": "tm",
    "service": "svc",
    "integration": "int",
    "maintenance_window": "mw",
    "incident": "inc",
    "alert": "alr",
    "timeline": "tle",
    "note": "note",
    "api_key": "key",
    "schedule": "sch",
    "schedule_layer": "lyr",
    "schedule_override": "ovr",
    "escalation_policy": "ep",
    "escalation_rule": "epr",
    "contact_method": "cm",
    "notification_rule": "nr",
    "service_channel": "chn",
    "job": "job",
    "webhook": "wh",
    "webhook_delivery": "whd",
    "change_event": "chg",
    "swap_request": "ssr",
    "schedule_event": "sev",
    "absence": "abs",
}


def new_id(kind: str) -> str:
    """A fresh id for an entity of ``kind`` (a key of ``PREFIXES``)."""
    return f"{PREFIXES[kind]}_{ULID()}"
