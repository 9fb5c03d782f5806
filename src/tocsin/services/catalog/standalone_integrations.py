"""Integrations managed on their own, as Grafana OnCall's API does, over our service catalog where
every integration feeds a service.

- Creating one without a ``service_id`` creates a service named after it (same team, description
  and escalation policy), so a Grafana integration and its "default route" become one service.
- Its name is unique per team (Grafana's rule), checked across the tenant's integrations.
- Its team, description and escalation chain are its service's; changing them changes the service
  (and so every integration that feeds it).
- Maintenance is the service's: starting it opens a window from now; stopping it ends the windows
  running now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.db.models import Integration, MaintenanceWindow, Service
from tocsin.domain.actor import Actor, Tenant
from tocsin.services.catalog import services as catalog
from tocsin.services.errors import Conflict, Invalid, NotFound

NAME_TAKEN = "An integration with this name already exists for this team"
MAX_MAINTENANCE = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class NewIntegration:
    name: str
    type: str
    team_id: str | None = None
    service_id: str | None = None
    description: str | None = None
    config: dict[str, Any] | None = None
    escalation_policy_id: str | None = None


def _service(session: Session, tenant: Tenant, service_id: str) -> Service:
    try:
        return catalog.get_service(session=session, tenant=tenant, service_id=service_id)
    except NotFound:
        raise Invalid("service_id", "not_found", f"unknown service id {service_id!r}") from None


def create_integration(
    *, session: Session, tenant: Tenant, spec: NewIntegration, now: datetime
) -> Integration:
    """An integration on the given service, or on a new service named after it."""
    if spec.service_id is not None:
        service = _service(session, tenant, spec.service_id)
        team_id = service.team_id
    else:
        team_id = spec.team_id
    if catalog.integration_name_taken(session=session, tenant=tenant, name=spec.name, team_id=team_id):
        raise Conflict(NAME_TAKEN, {"field": "name"})
    if spec.service_id is None:
        service = catalog.create_service(
            session=session,
            tenant=tenant,
            now=now,
            name=spec.name,
            description=spec.description,
            team_id=spec.team_id,
            integrations=[],
            escalation_policy_id=spec.escalation_policy_id,
        )
    else:
        changes: dict[str, Any] = {}
        if spec.escalation_policy_id is not None:
            changes["escalation_policy_id"] = spec.escalation_policy_id
        if spec.description is not None:
            changes["description"] = spec.description
        if changes:
            catalog.update_service(
                session=session, tenant=tenant, service_id=service.id, changes=changes, now=now
            )
    return catalog.add_integration(
        session=session,
        tenant=tenant,
        service=service,
        now=now,
        name=spec.name,
        type=spec.type,
        config=spec.config,
    )


def update_integration(
    *, session: Session, tenant: Tenant, integration_id: str, changes: dict[str, Any], now: datetime
) -> Integration:
    """``changes`` may hold ``name`` and ``config`` (the integration's), ``team_id``,
    ``description`` and ``escalation_policy_id`` (its service's)."""
    integration = catalog.find_integration(session=session, tenant=tenant, integration_id=integration_id)
    service = integration.service
    team_id = changes["team_id"] if "team_id" in changes else service.team_id
    name = changes["name"] if "name" in changes else integration.name
    if ("name" in changes or "team_id" in changes) and catalog.integration_name_taken(
        session=session, tenant=tenant, name=name, team_id=team_id, exclude_id=integration.id
    ):
        raise Conflict(NAME_TAKEN, {"field": "name"})
    service_changes: dict[str, Any] = {
        key: changes[key] for key in ("team_id", "description", "escalation_policy_id") if key in changes
    }
    if service_changes:
        catalog.update_service(
            session=session, tenant=tenant, service_id=service.id, changes=service_changes, now=now
        )
    own: dict[str, Any] = {key: changes[key] for key in ("name", "config") if key in changes}
    if own:
        catalog.update_integration(
            session=session, tenant=tenant, service_id=service.id, integration_id=integration.id, changes=own
        )
    return integration


def delete_integration(*, session: Session, tenant: Tenant, integration_id: str) -> None:
    """The integration goes; its service, and the incidents it fed, stay."""
    integration = catalog.find_integration(session=session, tenant=tenant, integration_id=integration_id)
    catalog.delete_integration(
        session=session, tenant=tenant, service_id=integration.service_id, integration_id=integration.id
    )


def running_window(service: Service, now: datetime) -> MaintenanceWindow | None:
    """The maintenance window of the service running at ``now`` that ends last, if any."""
    running = [window for window in service.maintenance_windows if window.start <= now < window.end]
    return max(running, key=lambda window: window.end) if running else None


def start_maintenance(
    *, session: Session, tenant: Tenant, integration_id: str, seconds: int, actor: Actor, now: datetime
) -> Integration:
    """A maintenance window on the integration's service from now for ``seconds``: alerts open
    incidents that page nobody (SUPPRESSED) until it ends."""
    integration = catalog.find_integration(session=session, tenant=tenant, integration_id=integration_id)
    if not 0 < seconds <= MAX_MAINTENANCE.total_seconds():
        raise Invalid("duration", "range", "Invalid duration")
    if running_window(integration.service, now) is not None:
        raise Conflict("Maintenance is already running for this integration", {"field": "mode"})
    catalog.add_maintenance_window(
        session=session,
        tenant=tenant,
        service_id=integration.service_id,
        start=now,
        end=now + timedelta(seconds=seconds),
        description=f"Maintenance started by {actor.name} for integration {integration.name}",
        now=now,
    )
    return integration


def stop_maintenance(*, session: Session, tenant: Tenant, integration_id: str, now: datetime) -> Integration:
    """End the maintenance running now on the integration's service (nothing to end is fine)."""
    integration = catalog.find_integration(session=session, tenant=tenant, integration_id=integration_id)
    catalog.end_maintenance(session=session, tenant=tenant, service_id=integration.service_id, now=now)
    return integration
