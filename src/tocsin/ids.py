"""Prefixed, time-sortable public ids (``inc_01J...``): the prefix says what it is, the ULID sorts by age.

Ids are also the tie-break wherever rows share a timestamp (a timeline's entries written in one
transaction), so within a process each id is greater than the one before, as python-ulid's
monotonic generator made them. ``ulid-transform`` (C++) makes a ULID in ~0.1 µs against ~4 µs;
a new incident takes four ids in the ingest writer."""

from __future__ import annotations

import threading
from typing import Final

from ulid_transform import bytes_to_ulid, ulid_now, ulid_to_bytes

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
    "contact_check": "cmc",
    "notification_rule": "nr",
    "service_channel": "chn",
    "job": "job",
    "webhook": "wh",
    "webhook_delivery": "whd",
    "channel_health": "chh",
    "channel_hour": "chr",
    "change_event": "chg",
    "swap_request": "ssr",
    "schedule_event": "sev",
    "heartbeat": "hb",
    "absence": "abs",
}


_last = ""
_lock = threading.Lock()


def monotonic_ulid() -> str:
    """A new ULID, greater than every one this process made before: within one millisecond (or if
    the clock steps back) the previous one plus one, as the ULID spec's monotonic mode says."""
    global _last
    with _lock:
        value = ulid_now()
        if value <= _last:  # Crockford base32 sorts as its ASCII text
            value = bytes_to_ulid((int.from_bytes(ulid_to_bytes(_last)) + 1).to_bytes(16))
        _last = value
        return value


def new_id(kind: str) -> str:
    """A fresh id for an entity of ``kind`` (a key of ``PREFIXES``)."""
    return f"{PREFIXES[kind]}_{monotonic_ulid()}"
