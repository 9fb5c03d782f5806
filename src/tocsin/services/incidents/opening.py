"""Opening incidents: the one implementation, in hand-written SQL (``db.raw``), shared by ingest's
open-or-append (``services.ingest.bulk``) and by a manual incident (``records.create_incident``).

Why one: two ways to open an incident, kept in step by a comment, had already drifted apart.
Why SQL: ingest opens hundreds a second in a storm, and through the ORM the same work cost ~3 ms
an event.

The partial unique index on open incidents, with ``ON CONFLICT DO NOTHING``, is what keeps dedup
exact across replicas; an insert that loses the race reports the key as lost and gives its number
back, so incident numbers stay without gaps.

Lock order (PostgreSQL): a transaction takes its tenants' incident-number counters (sorted) before
it waits for any incident row, so ``open_incidents`` runs before the caller locks the open
incidents it appends to (``services.ingest.bulk``). The other order deadlocked two replicas: one
held an incident and waited for the counter, the other held the counter, lost the race to open
that same incident, and waited for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.db.raw import RawSQL
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status, Urgency
from tocsin.ids import new_id
from tocsin.services import paging

_COLUMNS = (
    "id, org_id, livemode, number, title, status, urgency, service_id, team_id, escalation_policy_id, "
    "escalation_level, dedup_key, alert_count, source, severity, custom_details, links, "
    "created_at, updated_at, priority, description"
)
_TIMELINE = (
    "INSERT INTO timeline_entries (id, org_id, livemode, incident_id, type, message, actor_type, actor_id, "
    "actor_name, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_JOBS = (
    "INSERT INTO jobs (id, org_id, livemode, kind, key, status, run_at, incident_id, payload, attempts, "
    "max_attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0, 8, ?, ?)"
)
_RESERVE = (
    "INSERT INTO counters (org_id, livemode, name, value) VALUES (?, ?, 'incident', ?) "
    "ON CONFLICT (org_id, livemode, name) DO UPDATE SET value = counters.value + excluded.value "
    "RETURNING value"
)
_GIVE_BACK = "UPDATE counters SET value = value - ? WHERE org_id = ? AND livemode = ? AND name = 'incident'"
_RENUMBER = "UPDATE incidents SET number = ? WHERE id = ?"
_FACTS = (
    "SELECT team_id, escalation_policy_id, EXISTS (SELECT 1 FROM maintenance_windows "
    'WHERE service_id = ? AND start <= ? AND "end" > ?) FROM services WHERE id = ?'
)


@dataclass(frozen=True, slots=True)
class NewIncident:
    """One incident to open. ``created_at`` also decides suppression (a maintenance window)."""

    title: str
    urgency: Urgency
    dedup_key: str
    actor: Actor
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    priority: str | None = None
    source: str | None = None
    severity: str | None = None
    custom_details: dict[str, Any] | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    alert_count: int = 1


@dataclass(frozen=True, slots=True)
class Placement:
    """Where incidents open: the tenant, the service, and what the timeline says they came via."""

    tenant: Tenant
    service_id: str
    via: str


@dataclass(frozen=True, slots=True)
class Opened:
    id: str
    number: int


@dataclass(slots=True)
class OpenRequest:
    """The incidents to open for one placement; ``opened`` is filled with the winners by key."""

    placement: Placement
    specs: Sequence[NewIncident]
    opened: dict[str, Opened] = field(default_factory=dict)


def _reserve_numbers(raw: RawSQL, requests: Sequence[OpenRequest]) -> dict[Tenant, int]:
    """Reserve a run of incident numbers per tenant, in one sorted order (the lock order that
    keeps two replicas from waiting on each other's counters); the first number of each run."""
    wanted: dict[Tenant, int] = {}
    for request in requests:
        tenant = request.placement.tenant
        wanted[tenant] = wanted.get(tenant, 0) + len(request.specs)
    first: dict[Tenant, int] = {}
    for tenant in sorted(wanted, key=lambda t: (t.org_id, t.livemode)):
        [(last,)] = raw.rows(_RESERVE, [tenant.org_id, tenant.livemode, wanted[tenant]])
        first[tenant] = last - wanted[tenant] + 1
    return first


def open_incidents(raw: RawSQL, requests: Sequence[OpenRequest]) -> bool:
    """Open every requested incident whose dedup key has no open incident yet, with its timeline
    entries and first escalation step; each request's ``opened`` holds the winners. A key that
    lost the race (another writer opened it first) is left out, for the caller to append to.
    Returns whether jobs were enqueued (for the caller to wake the engine after its commit)."""
    requests = [request for request in requests if request.specs]
    if not requests:
        return False
    first = _reserve_numbers(raw, requests)
    timeline: list[tuple[Any, ...]] = []
    jobs: list[tuple[Any, ...]] = []
    planned: list[tuple[OpenRequest, NewIncident, str, int]] = []
    won: set[str] = set()
    suppressed: dict[str, bool] = {}
    for request in requests:
        placement = request.placement
        tenant = placement.tenant
        at = raw.time(request.specs[0].created_at)
        [(team_id, policy_id, in_window)] = raw.rows(
            _FACTS, [placement.service_id, at, at, placement.service_id]
        )
        status = Status.SUPPRESSED if in_window else Status.OPEN
        values: list[Any] = []
        for spec in request.specs:
            incident_id = new_id("incident")
            number = first[tenant]
            first[tenant] += 1
            planned.append((request, spec, incident_id, number))
            suppressed[incident_id] = bool(in_window)
            values += [
                incident_id, tenant.org_id, tenant.livemode, number, spec.title[:1024], status.value,
                spec.urgency.value, placement.service_id, team_id, policy_id, 0, spec.dedup_key,
                spec.alert_count, spec.source, spec.severity, raw.json(spec.custom_details),
                raw.json(spec.links), raw.time(spec.created_at), raw.time(spec.updated_at),
                spec.priority, spec.description,
            ]  # fmt: skip
        row_marks = ", ".join([f"({raw.marks(21)})"] * len(request.specs))
        inserted = raw.rows(
            f"INSERT INTO incidents ({_COLUMNS}) VALUES {row_marks} "
            "ON CONFLICT (org_id, livemode, service_id, dedup_key) WHERE status != 'RESOLVED' DO NOTHING "
            "RETURNING id",
            values,
        )
        won.update(incident_id for (incident_id,) in inserted)
    numbers = _close_gaps(raw, planned, won)
    for request, spec, incident_id, _ in planned:
        if incident_id not in won:
            continue
        tenant, number = request.placement.tenant, numbers[incident_id]
        request.opened[spec.dedup_key] = Opened(incident_id, number)
        timeline.append(
            _timeline_row(
                raw, tenant, incident_id, "triggered",
                f"Incident #{number} triggered via {request.placement.via}",
                spec.actor, spec.created_at, {"dedup_key": spec.dedup_key, "urgency": spec.urgency.value},
            )
        )  # fmt: skip
        if suppressed[incident_id]:
            timeline.append(
                _timeline_row(
                    raw, tenant, incident_id, "suppressed",
                    "Suppressed: the service is in a maintenance window; nobody is paged",
                    Actor.system(), spec.created_at, {},
                )
            )  # fmt: skip
        else:
            jobs.append(_first_step(raw, tenant, incident_id, spec.created_at))
    if timeline:
        raw.many(_TIMELINE, timeline)
    if jobs:
        raw.many(_JOBS, jobs)
    return bool(jobs)


def _close_gaps(
    raw: RawSQL, planned: Sequence[tuple[OpenRequest, NewIncident, str, int]], won: set[str]
) -> dict[str, int]:
    """The final number of each winner. Numbers reserved for keys that lost a race are given back:
    the winners after them move down (in ascending order, so the unique number never clashes), and
    the counter goes back by the losses. The counter's row lock, held since the reservation, means
    nobody took a number meanwhile."""
    numbers = {incident_id: number for _, _, incident_id, number in planned}
    lost: dict[Tenant, int] = {}
    moves: list[tuple[int, str]] = []
    for request, _, incident_id, number in sorted(planned, key=lambda plan: plan[3]):
        tenant = request.placement.tenant
        if incident_id not in won:
            lost[tenant] = lost.get(tenant, 0) + 1
        elif lost.get(tenant):
            numbers[incident_id] = number - lost[tenant]
            moves.append((numbers[incident_id], incident_id))
    if moves:
        raw.many(_RENUMBER, moves)
    for tenant, count in lost.items():
        raw.many(_GIVE_BACK, [(count, tenant.org_id, tenant.livemode)])
    return numbers


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
    """The job row of a new incident's first escalation step (``paging.first_step``: the same key
    and payload a restarted run gets), in the same transaction as the incident."""
    key, payload = paging.first_step(incident_id, 0)
    return (
        new_id("job"), tenant.org_id, tenant.livemode, paging.ESCALATE,
        key, raw.time(at), incident_id, raw.json(payload), raw.time(at), raw.time(at),
    )  # fmt: skip
