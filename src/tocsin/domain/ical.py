"""iCalendar in and out of schedules: feeds people subscribe to, and layers drawn from a calendar.

Export turns final shifts into a feed that Google Calendar, Outlook and Apple Calendar subscribe to by
URL, so every event must be plain RFC 5545 that those clients accept: UTC times (no VTIMEZONE to get
wrong), UIDs that stay the same across refreshes so clients update rather than duplicate events, and
second precision (iCalendar has no fractions of a second; starts and ends are floored). Each event
also carries ``X-TOCSIN-USER-ID``, so a feed reads back to user ids exactly (``shifts_from_feed``).

Import lets a layer take its shifts from a calendar, as Grafana OnCall's iCal schedules do: each event
names the person on call in its SUMMARY or as an ATTENDEE. Recurrences (RRULE, RDATE, EXDATE and
instances moved by RECURRENCE-ID) are expanded by ``recurring_ical_events`` and never by hand. Times a
calendar leaves floating and all-day dates are read in the layer's zone with the same ``fold=0`` DST
rule as the rest of the schedule code (``tocsin.domain.restrictions.wall_to_utc``).

Nothing here touches the database: callers pass users in and store what comes out.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component, Event, vCalAddress

from tocsin.domain.restrictions import load_zone, require_aware, require_window, wall_to_utc
from tocsin.domain.schedule import Shift

__all__ = [
    "PRODID",
    "USER_ID_PROPERTY",
    "export_calendar",
    "imported_shifts",
    "parse_calendar",
    "shifts_from_feed",
]

PRODID = "-//Tocsin//On-call//EN"
USER_ID_PROPERTY = "X-TOCSIN-USER-ID"
"""The event property naming the Tocsin user on call, so a feed maps back to users without guessing."""

_REFRESH = "PT1H"
"""How often subscribers should re-fetch a feed (Outlook reads X-PUBLISHED-TTL, Apple REFRESH-INTERVAL)."""

_QUERY_MARGIN = timedelta(days=1)
"""Widening of the recurrence query, so floating and all-day occurrences near the edges are not missed."""

_NO_SUMMARY = "(event without a summary)"

_SINGLE = ("UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "SUMMARY", "STATUS")
"""Event properties RFC 5545 allows at most once; a repeat means the file is broken, not ambiguous."""

_LIBRARY_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, OSError)
"""What icalendar, recurring_ical_events and dateutil raise on broken input, as found by fuzzing
(OSError: a TZID such as ``Europe`` names a tzdata directory, which ``ZoneInfo`` tries to open)."""


# --- export ----------------------------------------------------------------------------------------


def export_calendar(
    *,
    name: str,
    shifts: Sequence[Shift],
    users: Mapping[str, tuple[str, str]],
    calendar_id: str,
    generated_at: datetime,
    schedule_names: Sequence[str] | None = None,
) -> bytes:
    """An RFC 5545 feed with one event per shift, for calendar clients to subscribe to.

    ``users`` maps a user id to ``(name, email)``; a user missing from it is shown by id, and an empty
    email leaves out the ATTENDEE. ``schedule_names``, when given, runs parallel to ``shifts`` (one name
    per shift, for a per-user feed that merges several schedules): it is shown in the summary and is
    part of the UID, so the same person on call in two schedules at the same time gives two events.
    ``calendar_id`` (a schedule or user id) scopes the UIDs, so two feeds never share an event.

    Times are written in UTC and floored to the second; a shift shorter than one second after flooring
    is left out, and an exact repeat of an event (same user, times and schedule name) is written once.
    """
    stamp = _whole_seconds(require_aware(generated_at, "generated_at"))
    if schedule_names is not None and len(schedule_names) != len(shifts):
        raise ValueError(
            f"schedule_names has {len(schedule_names)} entries for {len(shifts)} shifts; "
            "give one name per shift, in the same order"
        )
    labels: Sequence[str | None] = schedule_names if schedule_names is not None else [None] * len(shifts)

    rows: set[tuple[datetime, datetime, str, str]] = set()
    for shift, label in zip(shifts, labels, strict=True):
        start = _whole_seconds(require_aware(shift.start, "shift start"))
        end = _whole_seconds(require_aware(shift.end, "shift end"))
        if start < end:
            rows.add((start, end, shift.user_id, label or ""))

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", _REFRESH)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for start, end, user_id, label in sorted(rows):
        user_name, email = users.get(user_id, (user_id, ""))
        who = f"{user_name} ({label})" if label else user_name
        event = Event()
        event.add("uid", _uid(calendar_id, user_id, start, end, label))
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", f"On call: {who}")
        contact = f"{user_name} <{email}>" if email else user_name
        event.add("description", f"{contact} is on call.")
        if email:
            attendee = vCalAddress(f"mailto:{email}")
            attendee.params["CN"] = user_name
            attendee.params["ROLE"] = "REQ-PARTICIPANT"
            attendee.params["PARTSTAT"] = "ACCEPTED"
            event.add("attendee", attendee)
        event.add("transp", "OPAQUE")
        event.add(USER_ID_PROPERTY, user_id)
        calendar.add_component(event)
    feed: bytes = calendar.to_ical()
    return feed


def shifts_from_feed(data: bytes | str) -> list[Shift]:
    """The shifts of a feed written by ``export_calendar``, sorted by start (then end, then user).

    Only the user id, start and end travel through a feed: the shifts come back with no layer or
    override id. An event without ``X-TOCSIN-USER-ID`` means the feed is not ours: ``ValueError``.
    """
    shifts: list[Shift] = []
    for event in _events(parse_calendar(data)):
        user_id = str(event.get(USER_ID_PROPERTY, "")).strip()
        if not user_id:
            raise ValueError(f"event {_label(event)!r} has no {USER_ID_PROPERTY}; this is not a Tocsin feed")
        start, end = event.start, event.end
        if not (isinstance(start, datetime) and isinstance(end, datetime)) or start.tzinfo is None:
            raise ValueError(f"event {_label(event)!r} is not in UTC times; this is not a Tocsin feed")
        shifts.append(Shift(user_id, start.astimezone(UTC), end.astimezone(UTC), None, None))
    shifts.sort(key=lambda s: (s.start, s.end, s.user_id))
    return shifts


def _whole_seconds(value: datetime) -> datetime:
    """``value`` in UTC without its fraction of a second: iCalendar times have second precision."""
    return value.astimezone(UTC).replace(microsecond=0)


def _uid(calendar_id: str, user_id: str, start: datetime, end: datetime, label: str) -> str:
    """A UID that is the same for the same shift in every export of one feed, and differs otherwise."""
    parts = [calendar_id, user_id, f"{start:%Y%m%dT%H%M%SZ}", f"{end:%Y%m%dT%H%M%SZ}"]
    if label:
        parts.append(label)
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest() + "@tocsin"


# --- import ----------------------------------------------------------------------------------------


def parse_calendar(text: str | bytes) -> Calendar:
    """A calendar from ``.ics`` text, or ``ValueError`` saying what is wrong with it.

    Checked here so an upload fails at once rather than when its shifts are next computed: UTF-8
    (a byte-order mark is allowed), one VCALENDAR, property values icalendar can read (RRULE,
    DURATION, dates), and for every event a DTSTART, an end not before its start, and a TZID the
    calendar defines or that names a known zone. A calendar without events is valid.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"the calendar is not UTF-8 text (bad byte at offset {error.start}); "
                "export it again as an .ics file"
            ) from None
    if not text.strip():
        raise ValueError("the calendar is empty; expected BEGIN:VCALENDAR ... END:VCALENDAR")
    try:
        parsed = Calendar.from_ical(text)
    except _LIBRARY_ERRORS as error:
        raise ValueError(f"malformed iCalendar: {error}") from None
    if not isinstance(parsed, Calendar):
        raise ValueError(f"expected a VCALENDAR at the top level, found {parsed.name or 'nothing'}")
    for component in parsed.walk():
        for prop, problem in component.errors:
            raise ValueError(f"malformed {component.name} {prop}: {problem}")
    for event in _events(parsed):
        _check_event(event)
    try:  # reads every RRULE/RDATE/EXDATE now, so a bad rule fails the upload, not a later page
        recurring_ical_events.of(parsed)
    except _LIBRARY_ERRORS as error:
        raise ValueError(f"the calendar's recurrences cannot be read: {error}") from None
    return parsed


def _check_event(event: Event) -> None:
    """Reject an event whose times cannot be read unambiguously."""
    where = f"event {_label(event)!r}"
    for prop in _SINGLE:
        if isinstance(event.get(prop), list):
            raise ValueError(f"{where} has more than one {prop}; an event may have only one")
    if "DTSTART" not in event:
        raise ValueError(f"{where} has no DTSTART; every event needs a start")
    for prop in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        value = event.get(prop)
        if value is None:
            continue
        tzid = value.params.get("TZID")
        moment = value.dt
        if tzid and isinstance(moment, datetime) and moment.tzinfo is None:
            raise ValueError(
                f"{where} has {prop} in the unknown time zone {tzid!r}; "
                "use an IANA name or include its VTIMEZONE"
            )
    try:
        start, end = event.start, event.end
    except _LIBRARY_ERRORS as error:
        raise ValueError(f"{where} has unreadable times: {error}") from None
    if _as_comparable(end) < _as_comparable(start):
        raise ValueError(f"{where} ends ({end.isoformat()}) before it starts ({start.isoformat()})")


def _as_comparable(value: date | datetime) -> datetime:
    """A date, floating or aware time as a naive wall time, good enough to order one event's bounds."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class _Piece:
    """One occurrence mapped to a user, before overlapping occurrences are resolved."""

    start: datetime
    end: datetime
    user_id: str


def imported_shifts(
    calendar: Calendar,
    *,
    users_by_key: Mapping[str, str],
    since: datetime,
    until: datetime,
    zone: str,
    layer_id: str,
) -> tuple[list[Shift], list[str]]:
    """A layer's shifts in ``[since, until)`` from a calendar, and the events no user could be found for.

    Each occurrence goes to a user when its trimmed SUMMARY, or failing that one of its ATTENDEE
    emails (``mailto:`` dropped), matches a key of ``users_by_key`` (emails and names, compared
    case-insensitively) — the first attendee that matches wins. Cancelled events are skipped.

    Floating times and all-day dates are local to ``zone`` (floating times follow the calendar's own
    X-WR-TIMEZONE instead when it has one, as Google's exports do, since ``recurring_ical_events``
    applies it); occurrences are clipped to the window. Where occurrences overlap, the later-starting
    one is on call (on equal starts the shorter one, then the lower user id), like a swap someone
    drops onto a rotation, so the result has one user at a time whatever the order of the file;
    back-to-back shifts of one user are merged.

    The unmapped list holds each distinct label (summary, else attendee emails) of the events in the
    window that matched no user, sorted, so the API can say who is missing.
    """
    since, until = require_window(since, until)
    local = load_zone(zone)
    keys = {key.strip().lower(): user_id for key, user_id in users_by_key.items()}
    if since >= until:
        return [], []
    try:
        occurrences: list[Any] = recurring_ical_events.of(calendar).between(
            (since - _QUERY_MARGIN).astimezone(local), (until + _QUERY_MARGIN).astimezone(local)
        )
    except _LIBRARY_ERRORS as error:  # a calendar that did not come through parse_calendar
        raise ValueError(f"the calendar's recurrences cannot be expanded: {error}") from None

    pieces: list[_Piece] = []
    unmapped: set[str] = set()
    for event in occurrences:
        if not isinstance(event, Event) or str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = max(_to_utc(event.start, local), since)
        end = min(_to_utc(event.end, local), until)
        if start >= end:
            continue
        user_id = _match_user(event, keys)
        if user_id is None:
            unmapped.add(_label(event))
        else:
            pieces.append(_Piece(start, end, user_id))
    return _on_top(pieces, layer_id), sorted(unmapped)


def _to_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An occurrence bound as a UTC instant: dates are local midnights, floating times local times."""
    if not isinstance(value, datetime):
        return wall_to_utc(value, time(), zone)
    if value.tzinfo is None:
        return wall_to_utc(value.date(), value.time(), zone)
    return value.astimezone(UTC)


def _match_user(event: Event, keys: Mapping[str, str]) -> str | None:
    """The user an event names by summary, or else by the first attendee email that is known."""
    summary = str(event.get("SUMMARY", "")).strip().lower()
    if summary and summary in keys:
        return keys[summary]
    for email in _attendee_emails(event):
        user_id = keys.get(email.lower())
        if user_id is not None:
            return user_id
    return None


def _attendee_emails(event: Event) -> list[str]:
    """The ATTENDEE addresses of an event without their ``mailto:`` scheme, in the order given."""
    raw = event.get("ATTENDEE")
    values: Iterable[object] = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    emails = []
    for value in values:
        address = str(value).strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:") :]
        if address:
            emails.append(address.strip())
    return emails


def _label(event: Component) -> str:
    """How an event is named in messages and in the unmapped list."""
    raw = event.get("SUMMARY", "")
    summary = str(raw[0] if isinstance(raw, list) and raw else raw).strip()
    if summary:
        return summary
    emails = _attendee_emails(event) if isinstance(event, Event) else []
    return ", ".join(emails) if emails else _NO_SUMMARY


def _events(calendar: Calendar) -> list[Event]:
    """The calendar's VEVENT components, typed."""
    return [c for c in calendar.walk("VEVENT") if isinstance(c, Event)]


def _on_top(pieces: list[_Piece], layer_id: str) -> list[Shift]:
    """Resolve overlaps (a later start lies on top) in one sweep and merge back-to-back same-user runs."""
    if not pieces:
        return []
    # Rank ascending: a later rank lies on top. Ties on start and length go to the lower user id.
    by_user = sorted(pieces, key=lambda p: p.user_id, reverse=True)
    ranked = sorted(by_user, key=lambda p: (p.start, p.start - p.end))
    bounds = sorted({p.start for p in pieces} | {p.end for p in pieces})
    active: list[tuple[int, datetime, str]] = []  # (-rank, end, user): the top is the highest rank
    shifts: list[Shift] = []
    i = 0
    for lo, hi in pairwise(bounds):
        while i < len(ranked) and ranked[i].start <= lo:
            heapq.heappush(active, (-i, ranked[i].end, ranked[i].user_id))
            i += 1
        while active and active[0][1] <= lo:
            heapq.heappop(active)
        if not active:
            continue
        user_id = active[0][2]
        last = shifts[-1] if shifts else None
        if last is not None and last.user_id == user_id and last.end == lo:
            shifts[-1] = Shift(user_id, last.start, hi, layer_id, None)
        else:
            shifts.append(Shift(user_id, lo, hi, layer_id, None))
    return shifts
