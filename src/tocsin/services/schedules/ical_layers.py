"""Layers drawn from a stored iCalendar (as Grafana OnCall's iCal schedules): checks, user matching,
parsing with a small cache, and the event labels that match nobody.

An event names who is on call by its SUMMARY or an ATTENDEE email (``ical.imported_shifts``); here
the keys are the tenant's users' lowercased emails and names. A name two users share is left out
(it would be a guess); their emails still match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Schedule, User
from tocsin.domain.actor import Tenant
from tocsin.domain.ical import imported_shifts, parse_calendar
from tocsin.domain.rotation import Shift
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.sql import load, tenant_filter

MAX_ICAL_BYTES = 1024 * 1024
UNMAPPED_LOOKAHEAD = timedelta(days=30)
"""How far ahead ``layers[].ical_unmapped`` looks for events that name nobody."""


@dataclass(frozen=True, slots=True)
class TenantUser:
    id: str
    name: str
    email: str
    username: str | None


def check_ical_text(value: Any, field: str) -> str:
    """Calendar text for an iCal layer: present, at most 1 MiB, and readable by ``parse_calendar``."""
    if isinstance(value, bytes):
        if len(value) > MAX_ICAL_BYTES:
            raise Invalid(field, "too_long", f"{field} is at most {MAX_ICAL_BYTES} bytes")
        try:
            value = value.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise Invalid(
                field, "invalid", f"{field}: the calendar is not UTF-8 text (bad byte at {error.start})"
            ) from None
    if not isinstance(value, str) or not value.strip():
        raise Invalid(field, "required", f"{field} is required for an iCal layer: BEGIN:VCALENDAR ...")
    if len(value.encode()) > MAX_ICAL_BYTES:
        raise Invalid(field, "too_long", f"{field} is at most {MAX_ICAL_BYTES} bytes")
    try:
        parse_calendar(value)
    except ValueError as error:
        raise Invalid(field, "invalid", f"{field}: {error}") from None
    return value.lstrip("\ufeff")


def ical_layer_values(
    spec: Mapping[str, Any], field: str, *, position: int, name: str, stored_text: str | None
) -> dict[str, Any]:
    """Column values for a layer drawn from a calendar; ``stored_text`` (the calendar the layer
    already has, when the spec keeps an existing layer) stays when no ``ical_text`` is sent."""
    for column in ("users", "rotation_unit", "rotation_length", "start", "end", "restrictions"):
        if spec.get(column):
            raise Invalid(
                f"{field}.{column}",
                "not_allowed",
                f"an iCal layer takes its shifts from ical_text, not {column}",
            )
    text = spec.get("ical_text")
    if text is None and stored_text:
        text = stored_text
    return {
        "position": position,
        "name": name,
        "source": "ical",
        "ical_text": check_ical_text(text, f"{field}.ical_text"),
        "users": [],
        "rotation_unit": None,
        "rotation_length": None,
        "start": None,
        "end": None,
        "restrictions": [],
    }


def replace_layer_calendar(
    *, session: Session, tenant: Tenant, schedule_id: str, layer_id: str, ical: str | bytes, now: datetime
) -> Schedule:
    """Replace the calendar of one of the schedule's iCal layers with an uploaded ``.ics``."""
    schedule = load(session=session, model=Schedule, tenant=tenant, ident=schedule_id, resource="schedule")
    layer = next((layer for layer in schedule.layers if layer.id == layer_id), None)
    if layer is None:
        raise NotFound("layer", layer_id)
    if layer.source != "ical":
        raise Conflict(
            f"layer {layer_id!r} is a rotation layer; PATCH the schedule with "
            '"source": "ical" to turn it into a calendar layer',
            {"field": "layer_id", "reason": "not_ical"},
        )
    layer.ical_text = check_ical_text(ical, "body")
    layer.updated_at = schedule.updated_at = now
    session.flush()
    return schedule


@lru_cache(maxsize=16)
def calendar_of(text: str) -> Calendar:
    """A stored (already checked) calendar, parsed once per process while it stays in use."""
    return parse_calendar(text)


def tenant_users(*, session: Session, tenant: Tenant) -> list[TenantUser]:
    rows = session.execute(
        select(User.id, User.name, User.email, User.username).where(*tenant_filter(User, tenant))
    )
    return [TenantUser(row.id, row.name, row.email, row.username) for row in rows]


def users_by_key(users: Sequence[TenantUser]) -> dict[str, str]:
    """Lowercased email and name to user id; a name two users share maps to neither."""
    by_name: dict[str, set[str]] = {}
    keys: dict[str, str] = {}
    for user in users:
        by_name.setdefault(user.name.strip().lower(), set()).add(user.id)
    for name, ids in by_name.items():
        if len(ids) == 1 and name:
            keys[name] = next(iter(ids))
    for user in users:
        keys[user.email.strip().lower()] = user.id
    return keys


def layer_shifts(
    layer_id: str, ical_text: str | None, keys: Mapping[str, str], zone: str, since: datetime, until: datetime
) -> tuple[list[Shift], list[str]]:
    """An iCal layer's shifts in ``[since, until)`` and the labels of its events that match no user."""
    if not ical_text:
        return [], []
    return imported_shifts(
        calendar_of(ical_text), users_by_key=keys, since=since, until=until, zone=zone, layer_id=layer_id
    )


def unmapped_labels(
    *, session: Session, tenant: Tenant, schedules: Sequence[Schedule], now: datetime
) -> dict[str, list[str]]:
    """For each iCal layer of ``schedules``, the labels of its next 30 days' events matching nobody."""
    pairs = [(s, layer) for s in schedules for layer in s.layers if layer.source == "ical"]
    if not pairs:
        return {}
    keys = users_by_key(tenant_users(session=session, tenant=tenant))
    return {
        layer.id: layer_shifts(
            layer.id, layer.ical_text, keys, schedule.time_zone, now, now + UNMAPPED_LOOKAHEAD
        )[1]
        for schedule, layer in pairs
    }
