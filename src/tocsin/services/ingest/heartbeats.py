"""Heartbeats, a dead man's switch on a service: a sender hits the beat URL every interval; when
no beat arrives within the timeout an incident opens on the service, and the next beat resolves it.

The deadline is a job row (``HEARTBEAT_DEADLINE``), so a restart never forgets it. There is at
most one pending deadline per heartbeat and beats do not touch it: when it comes due the engine
re-reads the last beat and, if one arrived meanwhile, writes the next deadline (last beat plus the
timeout) instead of firing. So a heartbeat beaten every minute costs one UPDATE per beat and one job
per timeout, and a miss fires exactly at last beat plus timeout.

After downtime: a deadline that passed while no engine ran (before the running engine started)
does not fire at once, because the beats the sender made meanwhile went nowhere; the heartbeat gets
one fresh timeout from the engine's start, and fires only if no beat comes within it.

A miss opens its incident through the one open-or-append path (``bulk.ingest_triggers``), with one
dedup key per heartbeat, so a repeated miss appends to the open incident instead of opening another.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tocsin.db.models import Heartbeat, Job
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.api_keys import hash_key
from tocsin.ids import new_id
from tocsin.services import jobs
from tocsin.services.catalog.services import (
    IngestRoute,
    add_integration,
    get_integration,
    get_service,
    route_of_integration,
)
from tocsin.services.checks import check_int, check_name
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.ingest.bulk import IngestItem, ingest_triggers
from tocsin.services.ingest.events import Event, acknowledge_or_resolve
from tocsin.services.pagination import Page, paginate
from tocsin.services.paging import PagingSettings
from tocsin.services.sql import load, tenant_filter

HEARTBEAT_DEADLINE: Final = "heartbeat_deadline"  # the engine job that checks for a missed beat
# No beat yet since it was made or re-armed; beating; its deadline passed without a beat.
STATES: Final = ("waiting", "up", "missed")
# Seconds between beats and before a miss: from one second (tests, fast senders) to a week.
MIN_SECONDS: Final = 1
MAX_SECONDS: Final = 7 * 24 * 3600


def dedup_key(heartbeat_id: str) -> str:
    """One per heartbeat: a second miss while the first incident is open appends to it."""
    return f"heartbeat:{heartbeat_id}"


def _check_times(interval: Any, timeout: Any) -> tuple[int, int]:
    """``timeout_seconds`` defaults to the interval; a timeout shorter than the interval would
    fire between two punctual beats."""
    interval_seconds = check_int(interval, "interval_seconds", MIN_SECONDS, MAX_SECONDS)
    if timeout is None:
        return interval_seconds, interval_seconds
    timeout_seconds = check_int(timeout, "timeout_seconds", MIN_SECONDS, MAX_SECONDS)
    if timeout_seconds < interval_seconds:
        raise Invalid("timeout_seconds", "range", "timeout_seconds must be at least interval_seconds")
    return interval_seconds, timeout_seconds


def _arm(session: Session, heartbeat: Heartbeat, at: datetime, now: datetime) -> None:
    jobs.enqueue(
        session=session,
        tenant=Tenant(heartbeat.org_id, heartbeat.livemode),
        kind=HEARTBEAT_DEADLINE,
        key=f"heartbeat:{heartbeat.id}:{at.isoformat()}",
        run_at=at,
        now=now,
        payload={"heartbeat_id": heartbeat.id},
    )


def create_heartbeat(
    *,
    session: Session,
    tenant: Tenant,
    service_id: str,
    name: Any,
    interval_seconds: Any,
    timeout_seconds: Any = None,
    integration_id: str | None = None,
    now: datetime,
) -> tuple[Heartbeat, str]:
    """A heartbeat and the token of its beat URL (stored hashed: shown this once), armed from
    now: one that never beats is missed after its first timeout. Without ``integration_id`` it
    gets an integration of its own on the service (the door its incidents open through)."""
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    name = check_name(name)
    interval, timeout = _check_times(interval_seconds, timeout_seconds)
    if integration_id is not None:
        integration = get_integration(
            session=session, tenant=tenant, service_id=service.id, integration_id=integration_id
        )
        if session.scalar(select(Heartbeat.id).where(Heartbeat.integration_id == integration.id)):
            raise Conflict(
                f"integration {integration.id!r} already has a heartbeat", {"field": "integration_id"}
            )
    else:
        integration = add_integration(
            session=session, tenant=tenant, service=service, now=now, name=f"Heartbeat {name}"[:200]
        )
    token = secrets.token_urlsafe(24)
    heartbeat = Heartbeat(
        id=new_id("heartbeat"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        service_id=service.id,
        integration_id=integration.id,
        name=name,
        interval_seconds=interval,
        timeout_seconds=timeout,
        token_hash=hash_key(token),
        state="waiting",
        created_at=now,
        updated_at=now,
    )
    session.add(heartbeat)
    session.flush()
    _arm(session, heartbeat, now + timedelta(seconds=timeout), now)
    return heartbeat, token


def get_heartbeat(*, session: Session, tenant: Tenant, service_id: str, heartbeat_id: str) -> Heartbeat:
    heartbeat = load(
        session=session, model=Heartbeat, tenant=tenant, ident=heartbeat_id, resource="heartbeat"
    )
    if heartbeat.service_id != service_id:
        raise NotFound("heartbeat", heartbeat_id)
    return heartbeat


def list_heartbeats(
    *, session: Session, tenant: Tenant, service_id: str, limit: int, offset: int
) -> Page[Heartbeat]:
    """Oldest first; an unknown service (or another org's) is a 404, not an empty list."""
    get_service(session=session, tenant=tenant, service_id=service_id)
    stmt = (
        select(Heartbeat)
        .where(*tenant_filter(Heartbeat, tenant), Heartbeat.service_id == service_id)
        .order_by(Heartbeat.created_at, Heartbeat.id)
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_heartbeat(
    *,
    session: Session,
    tenant: Tenant,
    service_id: str,
    heartbeat_id: str,
    changes: Mapping[str, Any],
    now: datetime,
) -> Heartbeat:
    """Rename or retime. A pending deadline moves to the new one (last beat plus the new timeout)
    when that is sooner, so a shortened timeout takes effect at once."""
    heartbeat = get_heartbeat(
        session=session, tenant=tenant, service_id=service_id, heartbeat_id=heartbeat_id
    )
    if "name" in changes:
        heartbeat.name = check_name(changes["name"])
    if "interval_seconds" in changes or "timeout_seconds" in changes:
        interval, timeout = _check_times(
            changes.get("interval_seconds", heartbeat.interval_seconds),
            changes.get("timeout_seconds", heartbeat.timeout_seconds),
        )
        heartbeat.interval_seconds, heartbeat.timeout_seconds = interval, timeout
        deadline = (heartbeat.last_beat_at or heartbeat.created_at) + timedelta(seconds=timeout)
        session.execute(
            update(Job)
            .where(*_pending_deadlines(heartbeat.id), Job.run_at > deadline)
            .values(run_at=deadline, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    heartbeat.updated_at = now
    session.flush()
    return heartbeat


def delete_heartbeat(
    *, session: Session, tenant: Tenant, service_id: str, heartbeat_id: str, now: datetime
) -> None:
    """Its pending deadline is cancelled; an open miss incident stays for a person to resolve."""
    heartbeat = get_heartbeat(
        session=session, tenant=tenant, service_id=service_id, heartbeat_id=heartbeat_id
    )
    session.execute(
        update(Job)
        .where(*_pending_deadlines(heartbeat.id))
        .values(status="cancelled", updated_at=now, result="heartbeat deleted")
        .execution_options(synchronize_session=False)
    )
    session.delete(heartbeat)
    session.flush()


def _route(session: Session, heartbeat: Heartbeat) -> IngestRoute:
    """The door its incidents open through: its integration (which it keeps while it lives)."""
    route = route_of_integration(session=session, integration_id=heartbeat.integration_id)
    assert route is not None, "a heartbeat's integration lives as long as the heartbeat"
    return route


def _actor(heartbeat: Heartbeat) -> Actor:
    return Actor(type="system", id=None, name=f"Heartbeat {heartbeat.name}")


def _pending_deadlines(heartbeat_id: str) -> list[Any]:
    """Predicates of a heartbeat's pending deadline jobs (keys as ``_arm`` writes them)."""
    return [
        Job.kind == HEARTBEAT_DEADLINE,
        Job.key.like(f"heartbeat:{heartbeat_id}:%"),
        Job.status == "pending",
    ]


def _locked(session: Session, stmt: Any) -> Heartbeat | None:
    """One heartbeat, locked on PostgreSQL so a beat and its deadline's check run one after the
    other (SQLite's writers are serialised already)."""
    row: Heartbeat | None = session.scalars(stmt.with_for_update()).first()
    return row


def beat(*, session: Session, token: str, now: datetime, paging: PagingSettings) -> Heartbeat | None:
    """Record a beat for the heartbeat of ``token`` (None: no such heartbeat). After a miss it
    resolves the miss incident and arms the next deadline."""
    heartbeat = _locked(session, select(Heartbeat).where(Heartbeat.token_hash == hash_key(token)))
    if heartbeat is None:
        return None
    return _beat(session, heartbeat, now, paging)


def beat_integration(
    *, session: Session, integration_id: str, now: datetime, paging: PagingSettings
) -> Heartbeat | None:
    """A beat by the integration's Grafana OnCall heartbeat URL; None when it has no heartbeat."""
    heartbeat = _locked(session, select(Heartbeat).where(Heartbeat.integration_id == integration_id))
    if heartbeat is None:
        return None
    return _beat(session, heartbeat, now, paging)


def _beat(session: Session, heartbeat: Heartbeat, now: datetime, paging: PagingSettings) -> Heartbeat:
    missed = heartbeat.state == "missed"
    heartbeat.last_beat_at = now
    heartbeat.state = "up"
    heartbeat.updated_at = now
    if missed:
        route = _route(session, heartbeat)
        acknowledge_or_resolve(
            session=session,
            route=route,
            event=Event(action="resolve", dedup_key=dedup_key(heartbeat.id)),
            actor=_actor(heartbeat),
            now=now,
            paging=paging,
        )
        _arm(session, heartbeat, now + timedelta(seconds=heartbeat.timeout_seconds), now)
    session.flush()
    return heartbeat


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def check_deadline(
    *,
    session: Session,
    tenant: Tenant,
    payload: Mapping[str, Any],
    now: datetime,
    engine_started_at: datetime | None,
) -> str:
    """The deadline job: fire (open the miss incident) when no beat came within the timeout, else
    write the next deadline. ``engine_started_at``: see the module's rule on downtime."""
    heartbeat = _locked(
        session,
        select(Heartbeat).where(
            Heartbeat.id == str(payload.get("heartbeat_id")), *tenant_filter(Heartbeat, tenant)
        ),
    )
    if heartbeat is None:
        return "heartbeat deleted"
    if heartbeat.state == "missed":
        return "already missed"
    timeout = timedelta(seconds=heartbeat.timeout_seconds)
    since = heartbeat.last_beat_at or heartbeat.created_at
    deadline = since + timeout
    if engine_started_at is not None and deadline < engine_started_at:
        deadline = engine_started_at + timeout
    if now < deadline:
        _arm(session, heartbeat, deadline, now)
        return f"next deadline {deadline.isoformat()}"
    last = (
        f"last beat {_ago(now - since)} ago"
        if heartbeat.last_beat_at
        else f"no beat since created {_ago(now - since)} ago"
    )
    summary = f"Heartbeat '{heartbeat.name}' missed: {last}"
    details = {
        "heartbeat_id": heartbeat.id,
        "last_beat_at": heartbeat.last_beat_at.isoformat() if heartbeat.last_beat_at else None,
        "timeout_seconds": heartbeat.timeout_seconds,
    }
    event = Event(
        action="trigger",
        dedup_key=dedup_key(heartbeat.id),
        summary=summary,
        severity="critical",
        source="heartbeat",
        custom_details=details,
        raw=details,
    )
    route = _route(session, heartbeat)
    actor = _actor(heartbeat)
    [result] = ingest_triggers(
        session=session, items=[IngestItem(route=route, event=event, actor=actor, now=now)]
    )
    heartbeat.state = "missed"
    heartbeat.updated_at = now
    session.flush()
    return f"missed: {result.outcome} {result.incident_id}"


def heartbeats_by_integration(*, session: Session, integration_ids: list[str]) -> dict[str, Heartbeat]:
    """The heartbeat of each integration that has one (Grafana OnCall renders it per integration)."""
    if not integration_ids:
        return {}
    rows = session.scalars(select(Heartbeat).where(Heartbeat.integration_id.in_(integration_ids)))
    return {row.integration_id: row for row in rows}


def count_by_state(*, session: Session) -> dict[tuple[str, bool], int]:
    """Heartbeats by (state, livemode) across all orgs, every state present (0 when none): the
    operator's view, for /metrics, where an absent series would hide a missed one."""
    counts = dict.fromkeys(((state, livemode) for state in STATES for livemode in (True, False)), 0)
    columns = (Heartbeat.state, Heartbeat.livemode)
    rows = session.execute(select(*columns, func.count()).group_by(*columns))
    for state, livemode, count in rows:
        counts[(state, livemode)] = count
    return counts
