"""The storm path of ingest: a batch of triggers from many requests in a handful of statements.

Per batch and service: one SELECT finds the open incidents for all dedup keys, one reads the
service (team, policy, maintenance), one reserves incident numbers, one multi-row INSERT opens
the new incidents, one UPDATE per already-open incident adds to its count; then one INSERT each
for all alerts and all timeline entries. The statements are hand-written (``db.raw``): through
the ORM the same work took ~3 ms an event, which capped a server at ~300 events/s."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.db.raw import RawSQL
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.escalation import Step, step_key
from tocsin.domain.incident import Status, urgency_for_severity
from tocsin.ids import new_id
from tocsin.services import jobs as job_queue
from tocsin.services import paging
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.ingest.events import Event, IngestResult, ingest_event
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.remote_commit import BatchHandler

_INCIDENT_COLUMNS = (
    "id, org_id, livemode, number, title, status, urgency, service_id, team_id, escalation_policy_id, "
    "escalation_level, dedup_key, alert_count, source, severity, custom_details, links, "
    "created_at, updated_at, priority, description"
)
_ALERTS = (
    "INSERT INTO alerts (id, org_id, livemode, incident_id, integration_id, summary, severity, source, "
    "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_TIMELINE = (
    "INSERT INTO timeline_entries (id, org_id, livemode, incident_id, type, message, actor_type, actor_id, "
    "actor_name, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_JOBS = (
    "INSERT INTO jobs (id, org_id, livemode, kind, key, status, run_at, incident_id, payload, attempts, "
    "max_attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0, 8, ?, ?)"
)
_BUMP = "UPDATE incidents SET alert_count = alert_count + ?, updated_at = ? WHERE id = ?"
_RESERVE = (
    "INSERT INTO counters (org_id, livemode, name, value) VALUES (?, ?, 'incident', ?) "
    "ON CONFLICT (org_id, livemode, name) DO UPDATE SET value = counters.value + excluded.value "
    "RETURNING value"
)
_FACTS = (
    "SELECT team_id, escalation_policy_id, EXISTS (SELECT 1 FROM maintenance_windows "
    'WHERE service_id = ? AND start <= ? AND "end" > ?) FROM services WHERE id = ?'
)


class _BatchSQL(RawSQL):
    """``RawSQL`` that formats each timestamp once per batch: an event's time goes into its alert,
    and a new incident's into the incident, its timeline entry and its job (five times)."""

    def __init__(self, dbapi: Any, *, postgres: bool) -> None:
        super().__init__(dbapi, postgres=postgres)
        self._times: dict[datetime, Any] = {}

    def time(self, value: datetime) -> Any:
        stamp = self._times.get(value)
        if stamp is None:
            stamp = self._times[value] = super().time(value)
        return stamp


@dataclass(frozen=True, slots=True)
class IngestItem:
    """One accepted event waiting for the group commit."""

    route: IngestRoute
    event: Event
    actor: Actor
    now: datetime


@dataclass(frozen=True, slots=True)
class _Open:
    id: str
    number: int


def _open_incidents(raw: RawSQL, tenant: Tenant, service_id: str, keys: Sequence[str]) -> dict[str, _Open]:
    sql = (
        "SELECT id, number, dedup_key FROM incidents WHERE org_id = ? AND livemode = ? AND service_id = ? "
        f"AND status != 'RESOLVED' AND dedup_key IN ({raw.marks(len(keys))})"
    )
    if raw.postgres:
        sql += " FOR UPDATE"  # hold them, so another replica cannot resolve one we are appending to
    rows = raw.rows(sql, [tenant.org_id, tenant.livemode, service_id, *keys])
    return {dedup_key: _Open(incident_id, number) for incident_id, number, dedup_key in rows}


def _timeline_row(
    raw: RawSQL,
    tenant: Tenant,
    incident_id: str,
    kind: str,
    message: str,
    actor: Actor,
    at: datetime,
    data: dict[str, Any],
) -> tuple[Any, ...]:
    return (
        new_id("timeline"), tenant.org_id, tenant.livemode, incident_id, kind, message,
        actor.type, actor.id, actor.name, raw.json(data), raw.time(at),
    )  # fmt: skip


def _first_step(raw: RawSQL, tenant: Tenant, incident_id: str, at: datetime) -> tuple[Any, ...]:
    """The job row of a new incident's first escalation step, as ``paging.start_escalation`` writes
    it (same kind, key and payload), in the same transaction as the incident."""
    return (
        new_id("job"), tenant.org_id, tenant.livemode, paging.ESCALATE,
        step_key(incident_id, 0, Step(0, 0)), raw.time(at), incident_id,
        raw.json({"run": 0, "cycle": 0, "level": 0, "first": True}), raw.time(at), raw.time(at),
    )  # fmt: skip


def _open_new(
    raw: RawSQL,
    route: IngestRoute,
    groups: dict[str, list[int]],
    new_keys: list[str],
    items: Sequence[IngestItem],
    timeline: list[tuple[Any, ...]],
    jobs: list[tuple[Any, ...]],
) -> dict[str, _Open]:
    tenant = route.tenant
    first_at = items[groups[new_keys[0]][0]].now
    [(team_id, policy_id, suppressed)] = raw.rows(
        _FACTS, [route.service_id, raw.time(first_at), raw.time(first_at), route.service_id]
    )
    status = Status.SUPPRESSED if suppressed else Status.OPEN
    [(last,)] = raw.rows(_RESERVE, [tenant.org_id, tenant.livemode, len(new_keys)])
    number = last - len(new_keys) + 1
    values: list[Any] = []
    planned: dict[str, tuple[str, int, str]] = {}
    for offset, key in enumerate(new_keys):
        indices = groups[key]
        first = items[indices[0]]
        event = first.event
        incident_id = new_id("incident")
        urgency = urgency_for_severity(event.severity or "critical").value
        planned[key] = (incident_id, number + offset, urgency)
        values += [
            incident_id, tenant.org_id, tenant.livemode, number + offset, (event.summary or "")[:1024],
            status.value, urgency, route.service_id, team_id, policy_id, 0, key, len(indices),
            event.source, (event.severity or "").lower() or None, raw.json(event.custom_details),
            raw.json(event.links), raw.time(first.now), raw.time(items[indices[-1]].now),
            event.priority, event.description,
        ]  # fmt: skip
    row_marks = ", ".join([f"({raw.marks(21)})"] * len(new_keys))
    inserted = raw.rows(
        f"INSERT INTO incidents ({_INCIDENT_COLUMNS}) VALUES {row_marks} "
        "ON CONFLICT (org_id, livemode, service_id, dedup_key) WHERE status != 'RESOLVED' DO NOTHING "
        "RETURNING id",
        values,
    )
    won = {incident_id for (incident_id,) in inserted}
    created: dict[str, _Open] = {}
    for key, (incident_id, incident_number, urgency) in planned.items():
        if incident_id not in won:
            continue  # another replica opened it first; the caller appends to theirs
        first = items[groups[key][0]]
        created[key] = _Open(incident_id, incident_number)
        timeline.append(
            _timeline_row(
                raw, tenant, incident_id, "triggered",
                f"Incident #{incident_number} triggered via {route.integration_name}",
                first.actor, first.now, {"dedup_key": key, "urgency": urgency},
            )
        )  # fmt: skip
        if not suppressed:
            jobs.append(_first_step(raw, tenant, incident_id, first.now))
        if suppressed:
            timeline.append(
                _timeline_row(
                    raw, tenant, incident_id, "suppressed",
                    "Suppressed: the service is in a maintenance window; nobody is paged",
                    Actor.system(), first.now, {},
                )
            )  # fmt: skip
    return created


def ingest_triggers(*, session: Session, items: Sequence[IngestItem]) -> list[IngestResult]:
    """Apply a run of trigger events in bulk. Triggers commute (each opens the incident for its
    dedup key or adds to it), so grouping them by key loses nothing. Results follow ``items``."""
    results, enqueued = apply_triggers(_BatchSQL.of(session.connection()), items)
    if enqueued:
        job_queue.mark_enqueued(session)
    return results


def ingest_triggers_raw(dbapi: Any, items: Sequence[IngestItem]) -> tuple[list[IngestResult], bool]:
    """``ingest_triggers`` on a bare SQLite connection inside the caller's transaction (the
    ingest writer's storm path, ``services.ingest.writer``): the results, and whether jobs
    were enqueued, for the caller to announce after its COMMIT."""
    return apply_triggers(_BatchSQL(dbapi, postgres=False), items)


def apply_triggers(raw: _BatchSQL, items: Sequence[IngestItem]) -> tuple[list[IngestResult], bool]:
    """The statements of a run of triggers; whether they enqueued jobs (new incidents' first
    escalation steps)."""
    keys = [item.event.dedup_key or uuid.uuid4().hex for item in items]
    by_integration: dict[str, tuple[IngestRoute, dict[str, list[int]]]] = {}
    for index, item in enumerate(items):
        _, groups = by_integration.setdefault(item.route.integration_id, (item.route, {}))
        groups.setdefault(keys[index], []).append(index)
    results: list[IngestResult | None] = [None] * len(items)
    alerts: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    jobs: list[tuple[Any, ...]] = []
    bumps: list[tuple[Any, ...]] = []
    for route, groups in by_integration.values():
        existing = _open_incidents(raw, route.tenant, route.service_id, list(groups))
        new_keys = [key for key in groups if key not in existing]
        created = _open_new(raw, route, groups, new_keys, items, timeline, jobs) if new_keys else {}
        lost = [key for key in new_keys if key not in created]
        if lost:
            existing.update(_open_incidents(raw, route.tenant, route.service_id, lost))
        for key, indices in groups.items():
            incident = created.get(key)
            appended = indices
            if incident is not None:
                results[indices[0]] = IngestResult(key, "created", incident.id, incident.number)
                appended = indices[1:]
            else:
                incident = existing[key]
                bumps.append((len(indices), raw.time(items[indices[-1]].now), incident.id))
            for index in appended:
                results[index] = IngestResult(key, "appended", incident.id, incident.number)
            for index in indices:
                event = items[index].event
                alerts.append(
                    (
                        new_id("alert"), route.org_id, route.livemode, incident.id, route.integration_id,
                        (event.summary or "")[:1024], event.severity, event.source, raw.json(event.raw),
                        raw.time(items[index].now),
                    )
                )  # fmt: skip
    if bumps:
        raw.many(_BUMP, bumps)
    raw.many(_ALERTS, alerts)
    if timeline:
        raw.many(_TIMELINE, timeline)
    if jobs:
        raw.many(_JOBS, jobs)
    done = [result for result in results if result is not None]
    assert len(done) == len(items), "every trigger gets a result"
    return done, bool(jobs)


def ingest_batch(
    *, session: Session, items: Sequence[IngestItem], paging: PagingSettings
) -> list[IngestResult]:
    """The group-commit handler for events: runs of triggers go in bulk, acknowledge and resolve
    one by one, all in arrival order (a resolve after a trigger of the same key sees it)."""
    results: list[IngestResult] = []
    start = 0
    while start < len(items):
        end = start + 1
        if items[start].event.action == "trigger":
            while end < len(items) and items[end].event.action == "trigger":
                end += 1
            results.extend(ingest_triggers(session=session, items=items[start:end]))
        else:
            item = items[start]
            results.append(
                ingest_event(
                    session=session,
                    route=item.route,
                    event=item.event,
                    actor=item.actor,
                    now=item.now,
                    paging=paging,
                )
            )
        start = end
    return results


def batch_handler(paging: PagingSettings) -> BatchHandler:
    """``ingest_batch`` bound to ``paging``: the group-commit handler for events, built once by the
    app (or the writer child) from its settings. The group commit batches items of one handler
    together and sends a batch to the writer child only when all of it is that writer's handler, by
    identity, so every event of an app goes through this one object."""
    return functools.partial(ingest_batch, paging=paging)
