"""Calendar feeds of final shifts, for a schedule or for one user across the tenant's schedules.

Calendar clients subscribe by a URL holding a secret token (``Schedule.ical_token``,
``User.ical_token``) since they cannot send an API key; rotating the token makes the old URL
answer 404. A token names its row, and the row its tenant, so a feed never mixes orgs or modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Schedule, User
from tocsin.db.models.org import new_ical_token
from tocsin.domain.actor import Tenant
from tocsin.domain.ical import export_calendar
from tocsin.domain.schedule import Shift
from tocsin.services.people.users import get_user
from tocsin.services.schedules import oncall
from tocsin.services.schedules.oncall import MAX_FEED_WINDOW, ShiftEntry, check_window
from tocsin.services.schedules.schedules import get_schedule
from tocsin.services.schedules.specs import check_instant
from tocsin.services.sql import load, tenant_filter

FEED_PAST = timedelta(days=7)
FEED_AHEAD = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Feed:
    """A rendered feed: the ``.ics`` bytes and a name for the download."""

    body: bytes
    filename: str


def feed_window(since: Any, until: Any, now: datetime) -> tuple[datetime, datetime]:
    """``[since, until)`` as given (at most 180 days), or by default from 7 days ago to 60 days ahead."""
    if since is None and until is None:
        return now - FEED_PAST, now + FEED_AHEAD
    start = now - FEED_PAST if since is None else check_instant(since, "since")
    end = start + FEED_PAST + FEED_AHEAD if until is None else check_instant(until, "until")
    return check_window(start, end, MAX_FEED_WINDOW)


# --- tokens ----------------------------------------------------------------------------------------


def schedule_token(*, session: Session, tenant: Tenant, schedule_id: str) -> str:
    return get_schedule(session=session, tenant=tenant, schedule_id=schedule_id).ical_token


def rotate_schedule_token(*, session: Session, tenant: Tenant, schedule_id: str) -> str:
    """A new secret for the schedule's feed URL; the old URL stops working at once."""
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    schedule.ical_token = new_ical_token()
    session.flush()
    return schedule.ical_token


def user_token(*, session: Session, tenant: Tenant, user_id: str) -> str:
    return get_user(session=session, tenant=tenant, user_id=user_id).ical_token


def rotate_user_token(*, session: Session, tenant: Tenant, user_id: str) -> str:
    """A new secret for the user's feed URL; the old URL stops working at once."""
    user = get_user(session=session, tenant=tenant, user_id=user_id)
    user.ical_token = new_ical_token()
    session.flush()
    return user.ical_token


# --- feeds -----------------------------------------------------------------------------------------


def _render(name: str, calendar_id: str, entries: list[ShiftEntry], now: datetime, *, label: bool) -> bytes:
    return export_calendar(
        name=name,
        shifts=[Shift(e.user.id, e.start, e.end, None, None) for e in entries],
        users={e.user.id: (e.user.name, e.user.email) for e in entries},
        calendar_id=calendar_id,
        generated_at=now,
        schedule_names=[e.schedule.name for e in entries] if label else None,
    )


def _schedule_feed(
    session: Session, tenant: Tenant, schedule: Schedule, since: datetime, until: datetime, now: datetime
) -> Feed:
    snapshot = oncall.load_snapshots(
        session=session, tenant=tenant, schedules=[schedule], since=since, until=until
    )[0]
    entries = snapshot.entries(snapshot.final(since, until))
    body = _render(f"On call: {schedule.name}", schedule.id, entries, now, label=False)
    return Feed(body, f"{schedule.id}.ics")


def _user_feed(
    session: Session, tenant: Tenant, user: User, since: datetime, until: datetime, now: datetime
) -> Feed:
    schedules = session.scalars(
        select(Schedule).where(*tenant_filter(Schedule, tenant)).order_by(Schedule.name, Schedule.id)
    ).all()
    entries = [
        entry
        for snapshot in oncall.load_snapshots(
            session=session, tenant=tenant, schedules=schedules, since=since, until=until
        )
        for entry in snapshot.entries(snapshot.final(since, until))
        if entry.user.id == user.id
    ]
    entries.sort(key=lambda e: (e.start, e.end, e.schedule.name))
    body = _render(f"On call: {user.name}", user.id, entries, now, label=True)
    return Feed(body, f"{user.id}.ics")


def schedule_feed(
    *, session: Session, tenant: Tenant, schedule_id: str, since: datetime, until: datetime, now: datetime
) -> Feed:
    """The schedule's final shifts in the window as an ``.ics`` feed."""
    schedule = load(session=session, model=Schedule, tenant=tenant, ident=schedule_id, resource="schedule")
    return _schedule_feed(session, tenant, schedule, since, until, now)


def user_feed(
    *, session: Session, tenant: Tenant, user_id: str, since: datetime, until: datetime, now: datetime
) -> Feed:
    """The user's final shifts in every schedule of the tenant, each event naming its schedule."""
    user = get_user(session=session, tenant=tenant, user_id=user_id)
    return _user_feed(session, tenant, user, since, until, now)


def schedule_feed_by_token(
    *, session: Session, token: str, since: datetime, until: datetime, now: datetime
) -> Feed | None:
    """The feed behind a schedule's secret URL, or ``None`` for a token that names nothing."""
    schedule = session.scalar(select(Schedule).where(Schedule.ical_token == token)) if token else None
    if schedule is None:
        return None
    tenant = Tenant(schedule.org_id, schedule.livemode)
    return _schedule_feed(session, tenant, schedule, since, until, now)


def user_feed_by_token(
    *, session: Session, token: str, since: datetime, until: datetime, now: datetime
) -> Feed | None:
    """The feed behind a user's secret URL, or ``None`` for a token that names nobody."""
    user = session.scalar(select(User).where(User.ical_token == token)) if token else None
    if user is None:
        return None
    return _user_feed(session, Tenant(user.org_id, user.livemode), user, since, until, now)
