"""Incidents seen as Grafana OnCall alert groups: which integration fed each, its last alert, who
acknowledged or resolved it and when it was silenced, read in a few set-based queries per page.

Grafana OnCall's public API shows facts we keep elsewhere (the alerts, the timeline), so this module
gathers them; the compat route only renders. The actions keep Grafana's rules (acknowledging an
acknowledged group is a 400, not a no-op) and go through ``incident_actions.transition``, so the
timeline, paging and webhooks behave as for any other client.

Choices made where Grafana has concepts we lack:
- **integration**: the integration of the incident's first alert; a manual incident (no alert) is
  shown under its service's oldest integration.
- **state**: OPEN is ``firing``, ACKNOWLEDGED ``acknowledged``, RESOLVED ``resolved``, SNOOZED
  ``silenced``; SUPPRESSED (opened in a maintenance window, pages nobody) is ``silenced`` too, since
  it is open and quiet, with ``silenced_at`` its creation time.
- **labels**: the incident's ``custom_details`` entries whose value is a string.
- **silence forever** (``delay`` -1 or 0): a snooze of ``FOREVER`` (100 years).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from tocsin.db.models import Alert, Incident, Integration, TimelineEntry
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.incident import Status
from tocsin.services.errors import Conflict, NotFound
from tocsin.services.incidents.actions import transition
from tocsin.services.pagination import Page
from tocsin.services.paging import PagingSettings
from tocsin.services.sql import load, tenant_filter

FOREVER: Final = timedelta(days=36500)

# Grafana state filter value → the statuses it covers. Upstream documents ``new`` for the filter
# but answers ``firing`` in the group's ``state``; both are taken, so every state a response can
# carry filters back to exactly those groups.
STATE_STATUSES: Final[dict[str, tuple[Status, ...]]] = {
    "new": (Status.OPEN,),
    "firing": (Status.OPEN,),
    "acknowledged": (Status.ACKNOWLEDGED,),
    "resolved": (Status.RESOLVED,),
    "silenced": (Status.SNOOZED, Status.SUPPRESSED),
}
_STATE_OF: Final = {
    Status.OPEN: "firing",
    Status.ACKNOWLEDGED: "acknowledged",
    Status.RESOLVED: "resolved",
    Status.SNOOZED: "silenced",
    Status.SUPPRESSED: "silenced",
}


@dataclass(frozen=True, slots=True)
class AlertGroupFilters:
    ids: tuple[str, ...] = ()
    integration_ids: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    started_after: datetime | None = None
    started_before: datetime | None = None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """An incident with the facts Grafana shows beside it."""

    incident: Incident
    integration_id: str | None
    last_alert: Alert | None
    acknowledged_by: str | None
    resolved_by: str | None
    silenced_at: datetime | None

    @property
    def state(self) -> str:
        return _STATE_OF[Status(self.incident.status)]

    @property
    def labels(self) -> list[tuple[str, str]]:
        details = self.incident.custom_details or {}
        return [(key, value) for key, value in details.items() if isinstance(value, str)]


def _integration_of() -> ColumnElement[Any]:
    """The integration an incident is shown under, as a correlated SQL expression (so the
    ``integration_id`` filter and the rendered value can never disagree)."""
    first_alert = (
        select(Alert.integration_id)
        .where(Alert.incident_id == Incident.id)
        .order_by(Alert.created_at, Alert.id)
        .limit(1)
        .scalar_subquery()
    )
    oldest_integration = (
        select(Integration.id)
        .where(Integration.service_id == Incident.service_id)
        .order_by(Integration.created_at, Integration.id)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(first_alert, oldest_integration)


def _filtered(tenant: Tenant, filters: AlertGroupFilters) -> Select[Any]:
    integration = _integration_of().label("integration_id")
    stmt = select(Incident, integration).where(*tenant_filter(Incident, tenant))
    if filters.ids:
        stmt = stmt.where(Incident.id.in_(filters.ids))
    if filters.integration_ids:
        stmt = stmt.where(_integration_of().in_(filters.integration_ids))
    if filters.team_ids:
        stmt = stmt.where(Incident.team_id.in_(filters.team_ids))
    if filters.states:
        statuses = [status.value for state in filters.states for status in STATE_STATUSES[state]]
        stmt = stmt.where(Incident.status.in_(statuses))
    if filters.started_after is not None:
        stmt = stmt.where(Incident.created_at >= filters.started_after)
    if filters.started_before is not None:
        stmt = stmt.where(Incident.created_at <= filters.started_before)
    for key, value in filters.labels:
        stmt = stmt.where(Incident.custom_details[key].as_string() == value)
    return stmt


def _last_alerts(session: Session, incident_ids: Sequence[str]) -> dict[str, Alert]:
    """Each incident's newest alert, in one query however many alerts a storm appended."""
    if not incident_ids:
        return {}
    ranked = (
        select(
            Alert.id,
            func.row_number()
            .over(partition_by=Alert.incident_id, order_by=(Alert.created_at.desc(), Alert.id.desc()))
            .label("rank"),
        )
        .where(Alert.incident_id.in_(incident_ids))
        .subquery()
    )
    newest = select(Alert).join(ranked, and_(ranked.c.id == Alert.id, ranked.c.rank == 1))
    return {alert.incident_id: alert for alert in session.scalars(newest)}


def _latest_actions(
    session: Session, incident_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[str | None, datetime]]:
    """(incident, kind) → (user id or None, when) of the latest acknowledge, resolve and snooze."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(
            TimelineEntry.incident_id,
            TimelineEntry.type,
            TimelineEntry.actor_type,
            TimelineEntry.actor_id,
            TimelineEntry.created_at,
        )
        .where(
            TimelineEntry.incident_id.in_(incident_ids),
            TimelineEntry.type.in_(("acknowledged", "resolved", "snoozed")),
        )
        .order_by(TimelineEntry.created_at, TimelineEntry.id)
    )
    latest: dict[tuple[str, str], tuple[str | None, datetime]] = {}
    for incident_id, kind, actor_type, actor_id, at in rows:
        latest[(incident_id, kind)] = (actor_id if actor_type == "user" else None, at)
    return latest


def _assemble(session: Session, rows: Sequence[tuple[Incident, str | None]]) -> list[AlertGroup]:
    ids = [incident.id for incident, _ in rows]
    last = _last_alerts(session, ids)
    actions = _latest_actions(session, ids)
    groups = []
    for incident, integration_id in rows:
        acked = actions.get((incident.id, "acknowledged"))
        resolved = actions.get((incident.id, "resolved"))
        silenced_at: datetime | None = None
        if incident.status == Status.SNOOZED.value:
            snoozed = actions.get((incident.id, "snoozed"))
            silenced_at = snoozed[1] if snoozed else incident.updated_at
        elif incident.status == Status.SUPPRESSED.value:
            silenced_at = incident.created_at
        groups.append(
            AlertGroup(
                incident=incident,
                integration_id=integration_id,
                last_alert=last.get(incident.id),
                acknowledged_by=acked[0] if acked and incident.acknowledged_at else None,
                resolved_by=resolved[0] if resolved and incident.resolved_at else None,
                silenced_at=silenced_at,
            )
        )
    return groups


def list_alert_groups(
    *, session: Session, tenant: Tenant, filters: AlertGroupFilters, limit: int, offset: int
) -> Page[AlertGroup]:
    """Newest first, as Grafana lists them."""
    stmt = _filtered(tenant, filters)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(
        stmt.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit).offset(offset)
    ).all()
    groups = _assemble(session, [(incident, integration_id) for incident, integration_id in rows])
    return Page(items=groups, total=total, limit=limit, offset=offset)


def get_alert_group(*, session: Session, tenant: Tenant, incident_id: str) -> AlertGroup:
    """One group by incident id; another org's id is not found."""
    row = session.execute(_filtered(tenant, AlertGroupFilters(ids=(incident_id,)))).first()
    if row is None:
        raise NotFound("alert_group", incident_id)
    return _assemble(session, [(row[0], row[1])])[0]


# --- actions, with Grafana's preconditions --------------------------------------------------------


def _load(session: Session, tenant: Tenant, incident_id: str) -> Incident:
    """The incident an action is about, locked (see ``sql.load``)."""
    return load(
        session=session,
        model=Incident,
        tenant=tenant,
        ident=incident_id,
        resource="alert_group",
        for_update=True,
    )


def _refuse(incident: Incident, refusals: dict[Status, str]) -> None:
    reason = refusals.get(Status(incident.status))
    if reason is not None:
        raise Conflict(reason, {"status": incident.status})


def acknowledge(
    *, session: Session, tenant: Tenant, incident_id: str, actor: Actor, now: datetime, paging: PagingSettings
) -> None:
    incident = _load(session, tenant, incident_id)
    _refuse(
        incident,
        {
            Status.ACKNOWLEDGED: "Can't acknowledge an acknowledged alert group",
            Status.RESOLVED: "Can't acknowledge a resolved alert group",
        },
    )
    transition(
        session=session, incident=incident, target=Status.ACKNOWLEDGED, actor=actor, now=now, paging=paging
    )


def unacknowledge(
    *, session: Session, tenant: Tenant, incident_id: str, actor: Actor, now: datetime, paging: PagingSettings
) -> None:
    incident = _load(session, tenant, incident_id)
    _refuse(incident, {Status.RESOLVED: "Can't unacknowledge a resolved alert group"})
    if incident.status != Status.ACKNOWLEDGED.value:
        raise Conflict("Can't unacknowledge an unacknowledged alert group", {"status": incident.status})
    transition(session=session, incident=incident, target=Status.OPEN, actor=actor, now=now, paging=paging)


def resolve(
    *, session: Session, tenant: Tenant, incident_id: str, actor: Actor, now: datetime, paging: PagingSettings
) -> None:
    incident = _load(session, tenant, incident_id)
    _refuse(incident, {Status.RESOLVED: "Can't resolve a resolved alert group"})
    transition(
        session=session, incident=incident, target=Status.RESOLVED, actor=actor, now=now, paging=paging
    )


def unresolve(
    *, session: Session, tenant: Tenant, incident_id: str, actor: Actor, now: datetime, paging: PagingSettings
) -> None:
    incident = _load(session, tenant, incident_id)
    if incident.status != Status.RESOLVED.value:
        raise Conflict("Can't unresolve an unresolved alert group", {"status": incident.status})
    transition(session=session, incident=incident, target=Status.OPEN, actor=actor, now=now, paging=paging)


def silence(
    *,
    session: Session,
    tenant: Tenant,
    incident_id: str,
    delay_seconds: int,
    actor: Actor,
    now: datetime,
    paging: PagingSettings,
) -> None:
    """``delay_seconds`` > 0 snoozes that long; -1 or 0 snoozes for ``FOREVER``, as Grafana's
    "until unsilenced" (a longer delay is capped there too). A maintenance-suppressed group is
    already silent and stays so."""
    incident = _load(session, tenant, incident_id)
    _refuse(
        incident,
        {
            Status.RESOLVED: "Can't silence a resolved alert group",
            Status.ACKNOWLEDGED: "Can't silence an acknowledged alert group",
            Status.SUPPRESSED: "Can't silence an alert group suppressed by a maintenance window",
        },
    )
    forever = int(FOREVER.total_seconds())
    until = now + timedelta(seconds=min(delay_seconds, forever) if delay_seconds > 0 else forever)
    transition(
        session=session,
        incident=incident,
        target=Status.SNOOZED,
        actor=actor,
        now=now,
        snoozed_until=until,
        paging=paging,
    )


def unsilence(
    *, session: Session, tenant: Tenant, incident_id: str, actor: Actor, now: datetime, paging: PagingSettings
) -> None:
    incident = _load(session, tenant, incident_id)
    _refuse(
        incident,
        {
            Status.RESOLVED: "Can't unsilence a resolved alert group",
            Status.ACKNOWLEDGED: "Can't unsilence an acknowledged alert group",
            Status.OPEN: "Can't unsilence an unsilenced alert group",
            Status.SUPPRESSED: "Can't unsilence an alert group suppressed by a maintenance window; "
            "acknowledge or resolve it",
        },
    )
    transition(session=session, incident=incident, target=Status.OPEN, actor=actor, now=now, paging=paging)
