"""Open-or-append, the one implementation of a trigger on SQLite and PostgreSQL alike: a batch of
triggers from many requests in a handful of statements.

Per batch and integration: one SELECT finds the open incidents for all its dedup keys; the keys
with none are opened together (``incidents.opening``: numbers, one multi-row INSERT per service,
timeline entries, first escalation steps); on PostgreSQL one ``SELECT … ORDER BY id FOR UPDATE``
then holds every incident appended to; one UPDATE per such incident adds to its count, and one
INSERT writes all alerts. The statements are hand-written (``db.raw``): through the ORM the same
work took ~3 ms an event, which capped a server at ~300 events/s.

Lock order on PostgreSQL: the incident-number counters first (inside ``opening``), then incident
rows in id order, all of them in one statement. Taken the other way round (an incident held while
waiting for the counter), two replicas in a burst of new and repeated keys deadlocked."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.db.raw import RawSQL
from tocsin.domain.actor import Actor
from tocsin.domain.incident import urgency_for_severity
from tocsin.ids import new_id
from tocsin.services import jobs as job_queue
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.incidents import changes
from tocsin.services.incidents.opening import NewIncident, OpenRequest, Placement, open_incidents
from tocsin.services.ingest.events import Event, IngestResult, acknowledge_or_resolve
from tocsin.services.paging import PagingSettings
from tocsin.services.writes.remote_commit import BatchHandler

_ALERTS = (
    "INSERT INTO alerts (id, org_id, livemode, incident_id, integration_id, summary, severity, source, "
    "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_BUMP = (
    "UPDATE incidents SET alert_count = alert_count + ?, updated_at = ?, title = COALESCE(?, title) "
    "WHERE id = ?"
)
# Deduplicated alerts on the timeline, coalesced: one entry per incident ("3 more alerts (total 4)"),
# whose id is derived from the incident's, rewritten in place by each batch that adds alerts. The
# counts come from the incident row the batch just bumped, in the same statement, so the storm path
# gains one statement per batch (executemany) and no read, and a storm leaves one entry, not
# thousands. Its time moves to the latest alert, so it reads as "as of then" in the timeline.
_MORE_ALERTS = (
    "INSERT INTO timeline_entries (id, org_id, livemode, incident_id, type, message, actor_type, "
    "actor_id, actor_name, data, created_at) "
    "SELECT CAST(? AS VARCHAR(40)), org_id, livemode, id, 'alerts_added', "
    "CAST(alert_count - 1 AS TEXT) || CASE WHEN alert_count = 2 THEN ' more alert' ELSE ' more alerts' END "
    "|| ' (total ' || CAST(alert_count AS TEXT) || ')', 'system', NULL, 'Tocsin', "
    "{json}('more', alert_count - 1, 'total', alert_count), ? FROM incidents WHERE id = ? "
    "ON CONFLICT (id) DO UPDATE SET message = excluded.message, data = excluded.data, "
    "created_at = excluded.created_at"
)
# Rounds of open-then-hold: another round only when an incident found open was resolved by
# another writer before we held it (its key then opens a new incident).
_ROUNDS = 5


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


@dataclass(slots=True)
class _Group:
    """The triggers of one integration in a batch: item indices by dedup key, and where each key
    stands (found open, or opened by this batch)."""

    route: IngestRoute
    indices: dict[str, list[int]] = field(default_factory=dict)
    found: dict[str, tuple[str, int]] = field(default_factory=dict)
    created: dict[str, tuple[str, int]] = field(default_factory=dict)

    def unsettled(self) -> list[str]:
        return [key for key in self.indices if key not in self.found and key not in self.created]


def _find_open(raw: RawSQL, route: IngestRoute, keys: Sequence[str]) -> dict[str, tuple[str, int]]:
    """The open incident (id, number) of each key that has one; no lock taken (see ``_hold``)."""
    rows = raw.rows(
        "SELECT id, number, dedup_key FROM incidents WHERE org_id = ? AND livemode = ? AND service_id = ? "
        f"AND status != 'RESOLVED' AND dedup_key IN ({raw.marks(len(keys))})",
        [route.org_id, route.livemode, route.service_id, *keys],
    )
    return {dedup_key: (incident_id, number) for incident_id, number, dedup_key in rows}


def _hold(raw: RawSQL, groups: Sequence[_Group]) -> bool:
    """PostgreSQL: lock every incident the batch appends to, so another replica cannot resolve
    one meanwhile; all in one statement, in id order, after any counter (the global lock order).
    False when one was resolved before we held it: its key is unsettled again."""
    ids = [incident_id for group in groups for incident_id, _ in group.found.values()]
    if not ids:
        return True
    held = {
        incident_id
        for (incident_id,) in raw.rows(
            f"SELECT id FROM incidents WHERE id IN ({raw.marks(len(ids))}) AND status != 'RESOLVED' "
            "ORDER BY id FOR UPDATE",
            ids,
        )
    }
    if len(held) == len(ids):
        return True
    for group in groups:
        group.found = {key: found for key, found in group.found.items() if found[0] in held}
    return False


def more_alerts_id(incident_id: str) -> str:
    """The id of an incident's one coalesced "N more alerts" timeline entry."""
    return f"tlm_{incident_id}"


def _new_incident(key: str, indices: Sequence[int], items: Sequence[IngestItem]) -> NewIncident:
    """The incident a key's first trigger opens; the batch's later triggers of it are its alerts."""
    first = items[indices[0]]
    event = first.event
    return NewIncident(
        title=(event.summary or "")[:1024],
        urgency=urgency_for_severity(event.severity or "critical"),
        dedup_key=key,
        actor=first.actor,
        created_at=first.now,
        updated_at=items[indices[-1]].now,
        description=event.description,
        priority=event.priority,
        source=event.source,
        severity=(event.severity or "").lower() or None,
        custom_details=event.custom_details,
        links=event.links,
        alert_count=len(indices),
    )


def _settle(raw: RawSQL, groups: Sequence[_Group], items: Sequence[IngestItem]) -> bool:
    """Open the keys with no open incident, then (PostgreSQL) hold the rest; whether jobs were
    enqueued. A key that loses the race to open is appended to the winner's incident."""
    enqueued = False
    for _ in range(_ROUNDS):
        requests: list[tuple[_Group, OpenRequest]] = []
        for group in groups:
            keys = group.unsettled()
            if keys:
                route = group.route
                specs = [_new_incident(key, group.indices[key], items) for key in keys]
                placement = Placement(route.tenant, route.service_id, route.integration_name)
                requests.append((group, OpenRequest(placement, specs)))
        if requests:
            enqueued = open_incidents(raw, [request for _, request in requests]) or enqueued
            for group, request in requests:
                group.created.update((key, (o.id, o.number)) for key, o in request.opened.items())
                lost = [spec.dedup_key for spec in request.specs if spec.dedup_key not in request.opened]
                if lost:
                    group.found.update(_find_open(raw, group.route, lost))
        held = not raw.postgres or _hold(raw, groups)
        if held and not any(group.unsettled() for group in groups):
            return enqueued
    raise RuntimeError("could not settle a batch's dedup keys after repeated races")


def ingest_triggers(*, session: Session, items: Sequence[IngestItem]) -> list[IngestResult]:
    """Apply a run of trigger events in bulk. Triggers commute (each opens the incident for its
    dedup key or adds to it), so grouping them by key loses nothing. Results follow ``items``."""
    results, enqueued = apply_triggers(_BatchSQL.of(session.connection()), items)
    if enqueued:
        job_queue.mark_enqueued(session=session)
    return results


def ingest_triggers_raw(dbapi: Any, items: Sequence[IngestItem]) -> tuple[list[IngestResult], bool]:
    """``ingest_triggers`` on a bare SQLite connection inside the caller's transaction (the
    ingest writer's storm path, ``services.ingest.writer``): the results, and whether jobs
    were enqueued, for the caller to announce after its COMMIT."""
    return apply_triggers(_BatchSQL(dbapi, postgres=False), items)


def apply_triggers(raw: RawSQL, items: Sequence[IngestItem]) -> tuple[list[IngestResult], bool]:
    """The statements of a run of triggers: each item's result (its incident's id and number,
    created or appended), and whether they enqueued jobs (new incidents' first escalation steps)."""
    keys = [item.event.dedup_key or uuid.uuid4().hex for item in items]
    by_integration: dict[str, _Group] = {}
    for index, item in enumerate(items):
        group = by_integration.setdefault(item.route.integration_id, _Group(item.route))
        group.indices.setdefault(keys[index], []).append(index)
    groups = list(by_integration.values())
    for group in groups:
        group.found = _find_open(raw, group.route, list(group.indices))
    enqueued = _settle(raw, groups, items)
    results: list[IngestResult | None] = [None] * len(items)
    alerts: list[tuple[Any, ...]] = []
    bumps: list[tuple[Any, ...]] = []
    more: list[tuple[Any, ...]] = []
    for group in groups:
        route = group.route
        for key, indices in group.indices.items():
            appended = indices
            if key in group.created:
                incident_id, number = group.created[key]
                results[indices[0]] = IngestResult(key, "created", incident_id, number)
                appended = indices[1:]
            else:
                incident_id, number = group.found[key]
                last = items[indices[-1]].event
                title = (last.summary or "")[:1024] if last.retitles and last.summary else None
                bumps.append((len(indices), raw.time(items[indices[-1]].now), title, incident_id))
            if appended:
                more.append((more_alerts_id(incident_id), raw.time(items[indices[-1]].now), incident_id))
            for index in appended:
                results[index] = IngestResult(key, "appended", incident_id, number)
            for index in indices:
                event = items[index].event
                alerts.append(
                    (
                        new_id("alert"), route.org_id, route.livemode, incident_id, route.integration_id,
                        (event.summary or "")[:1024], event.severity, event.source, raw.json(event.raw),
                        raw.time(items[index].now),
                    )
                )  # fmt: skip
    if bumps:
        raw.many(_BUMP, bumps)
    if more:
        raw.many(_MORE_ALERTS.format(json="jsonb_build_object" if raw.postgres else "json_object"), more)
    raw.many(_ALERTS, alerts)
    changes.announce_raw(raw, {group.route.tenant for group in groups})
    done = [result for result in results if result is not None]
    assert len(done) == len(items), "every trigger gets a result"
    return done, enqueued


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
                acknowledge_or_resolve(
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
