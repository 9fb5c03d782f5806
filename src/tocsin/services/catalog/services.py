"""The service catalog: services, their integrations (routing keys) and maintenance windows."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import Incident, Integration, MaintenanceWindow, Org, Service
from tocsin.domain import integration_urls
from tocsin.domain.actor import Tenant
from tocsin.domain.incident import Status
from tocsin.ids import new_id
from tocsin.services.checks import check_int, check_name, check_policy_ref, check_team
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_filter

ROUTING_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
INTEGRATION_TYPES: Final = integration_urls.INTEGRATION_TYPES


@dataclass(frozen=True, slots=True)
class IngestRoute:
    """Everything ingest needs about a routing key, small enough to cache in memory."""

    integration_id: str
    integration_name: str
    integration_type: str
    org_id: str
    livemode: bool
    service_id: str
    service_name: str
    org_rate_limits: Mapping[str, str] = field(default_factory=dict)
    # The integration's settings (the webhook types' templates); read-only here.
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.org_id, self.livemode)


def _check_ack_timeout(value: int | None) -> int | None:
    return None if value is None else check_int(value, "ack_timeout_minutes", 1, 7 * 24 * 60)


def get_service(*, session: Session, tenant: Tenant, service_id: str) -> Service:
    return load(session=session, model=Service, tenant=tenant, ident=service_id, resource="service")


def list_services(
    *,
    session: Session,
    tenant: Tenant,
    team_ids: tuple[str, ...] = (),
    query: str | None = None,
    limit: int,
    offset: int,
) -> Page[Service]:
    stmt = (
        select(Service)
        .where(*tenant_filter(Service, tenant))
        .options(selectinload(Service.integrations), selectinload(Service.maintenance_windows))
        .order_by(Service.name, Service.id)
    )
    if team_ids:
        stmt = stmt.where(Service.team_id.in_(team_ids))
    if query:
        stmt = stmt.where(func.lower(Service.name).contains(query.strip().lower(), autoescape=True))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def create_service(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    name: str,
    description: str | None = None,
    team_id: str | None = None,
    ack_timeout_minutes: int | None = None,
    integrations: list[dict[str, Any]] | None = None,
    escalation_policy_id: str | None = None,
) -> Service:
    """A service, with an Events API integration unless the caller lists its own."""
    service = Service(
        id=new_id("service"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        name=check_name(name),
        description=description,
        team_id=check_team(session=session, tenant=tenant, team_id=team_id),
        ack_timeout_minutes=_check_ack_timeout(ack_timeout_minutes),
        escalation_policy_id=check_policy_ref(
            session=session, tenant=tenant, policy_id=escalation_policy_id, field="escalation_policy_id"
        ),
        created_at=now,
        updated_at=now,
    )
    session.add(service)
    session.flush()
    for spec in integrations if integrations is not None else [{"name": "Events API v2"}]:
        add_integration(session=session, tenant=tenant, service=service, now=now, **spec)
    return service


def update_service(
    *, session: Session, tenant: Tenant, service_id: str, changes: dict[str, Any], now: datetime
) -> Service:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    if "name" in changes:
        service.name = check_name(changes["name"])
    if "description" in changes:
        service.description = changes["description"]
    if "team_id" in changes:
        service.team_id = check_team(session=session, tenant=tenant, team_id=changes["team_id"])
    if "ack_timeout_minutes" in changes:
        service.ack_timeout_minutes = _check_ack_timeout(changes["ack_timeout_minutes"])
    if "escalation_policy_id" in changes:
        service.escalation_policy_id = check_policy_ref(
            session=session,
            tenant=tenant,
            policy_id=changes["escalation_policy_id"],
            field="escalation_policy_id",
        )
    service.updated_at = now
    session.flush()
    return service


def delete_service(*, session: Session, tenant: Tenant, service_id: str) -> None:
    """Refused while the service has unresolved incidents: nobody should lose a live page."""
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    still_open = session.scalar(
        select(Incident.id)
        .where(Incident.service_id == service.id, Incident.status != Status.RESOLVED.value)
        .limit(1)
    )
    if still_open is not None:
        raise Conflict("the service has unresolved incidents; resolve them first", {"service_id": service.id})
    session.delete(service)
    session.flush()


def add_integration(
    *,
    session: Session,
    tenant: Tenant,
    service: Service,
    now: datetime,
    name: str | None = None,
    type: str = "events_api_v2",
    routing_key: str | None = None,
    config: dict[str, Any] | None = None,
) -> Integration:
    """A new inbound door. Routing keys are global: a key chosen by hand must be free everywhere."""
    type = _check_type(type)
    config = _check_config(type, config)
    if routing_key is None:
        routing_key = secrets.token_hex(16)
    elif not ROUTING_KEY.fullmatch(routing_key):
        raise Invalid(
            "routing_key",
            "format",
            "routing_key is 3-64 letters, digits, '.', '_' or '-', starting alphanumeric",
        )
    elif session.scalar(select(Integration.id).where(Integration.routing_key == routing_key)) is not None:
        raise Conflict(f"routing key {routing_key!r} is already in use", {"field": "routing_key"})
    integration = Integration(
        id=new_id("integration"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        service_id=service.id,
        name=check_name(name or type.replace("_", " ").title()),
        type=type,
        routing_key=routing_key,
        config=config,
        created_at=now,
    )
    service.integrations.append(integration)
    session.flush()
    return integration


def _check_type(value: Any) -> str:
    if value not in INTEGRATION_TYPES:
        raise Invalid("type", "unknown", f"integration type must be one of {', '.join(INTEGRATION_TYPES)}")
    return str(value)


def _check_config(integration_type: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Only the webhook types take settings (their templates); any other key is refused rather than
    silently ignored, so a typo in a template name is caught when it is saved, not at 3 am."""
    allowed = integration_urls.CONFIG_KEYS.get(integration_type, ())
    checked: dict[str, Any] = {}
    for key, value in (config or {}).items():
        field_name = f"config.{key}"
        if key not in allowed:
            takes = f"takes only {', '.join(allowed)}" if allowed else "takes no config keys"
            raise Invalid(field_name, "unknown", f"integration type {integration_type} {takes}")
        if value is None:  # an explicit null leaves the template at its default
            continue
        if not isinstance(value, str):
            raise Invalid(field_name, "string_type", f"{field_name} must be a string")
        if len(value) > integration_urls.TEMPLATE_MAX_CHARS:
            raise Invalid(
                field_name,
                "too_long",
                f"{field_name} is at most {integration_urls.TEMPLATE_MAX_CHARS} characters",
            )
        checked[key] = value
    return checked


def get_integration(*, session: Session, tenant: Tenant, service_id: str, integration_id: str) -> Integration:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    integration = load(
        session=session, model=Integration, tenant=tenant, ident=integration_id, resource="integration"
    )
    if integration.service_id != service.id:  # not under this service's URL: as good as absent
        raise NotFound("integration", integration_id)
    return integration


def update_integration(
    *, session: Session, tenant: Tenant, service_id: str, integration_id: str, changes: dict[str, Any]
) -> Integration:
    """Rename, retype or reconfigure; ``config`` replaces the whole object. A type change keeps the
    routing key, so the sender only has to move to the new URL shape."""
    integration = get_integration(
        session=session, tenant=tenant, service_id=service_id, integration_id=integration_id
    )
    new_type = _check_type(changes["type"]) if "type" in changes else integration.type
    config = changes["config"] if "config" in changes else integration.config
    checked = _check_config(new_type, config)
    if "name" in changes:
        integration.name = check_name(changes["name"])
    integration.type = new_type
    if checked != integration.config:
        integration.config = checked
    session.flush()
    return integration


def delete_integration(*, session: Session, tenant: Tenant, service_id: str, integration_id: str) -> None:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    integration = load(
        session=session, model=Integration, tenant=tenant, ident=integration_id, resource="integration"
    )
    if integration.service_id != service.id:  # not under this service's URL: as good as absent
        raise NotFound("integration", integration_id)
    service.integrations.remove(integration)
    session.flush()


def add_maintenance_window(
    *,
    session: Session,
    tenant: Tenant,
    service_id: str,
    start: datetime,
    end: datetime,
    description: str | None,
    now: datetime,
) -> MaintenanceWindow:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    for label, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise Invalid(label, "timezone", f"{label} needs a time zone offset, e.g. 2024-01-15T10:30:00Z")
    if end <= start:
        raise Invalid("end", "before_start", "end must be after start")
    window = MaintenanceWindow(
        id=new_id("maintenance_window"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        service_id=service.id,
        start=start,
        end=end,
        description=description,
        created_at=now,
    )
    service.maintenance_windows.append(window)
    session.flush()
    return window


def delete_maintenance_window(*, session: Session, tenant: Tenant, service_id: str, window_id: str) -> None:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    window = load(
        session=session,
        model=MaintenanceWindow,
        tenant=tenant,
        ident=window_id,
        resource="maintenance_window",
    )
    if window.service_id != service.id:
        raise NotFound("maintenance_window", window_id)
    service.maintenance_windows.remove(window)
    session.flush()


def find_route(*, session: Session, routing_key: str) -> IngestRoute | None:
    """The integration behind a routing key, across all orgs (the key alone names the tenant)."""
    return _route_where(session, Integration.routing_key == routing_key)


def route_of_integration(*, session: Session, integration_id: str) -> IngestRoute | None:
    """The route of an integration the caller already holds by id (a heartbeat's door)."""
    return _route_where(session, Integration.id == integration_id)


def _route_where(session: Session, chosen: Any) -> IngestRoute | None:
    row = session.execute(
        select(Integration, Service.name, Org.rate_limits)
        .join(Service, Service.id == Integration.service_id)
        .join(Org, Org.id == Integration.org_id)
        .where(chosen)
    ).first()
    if row is None:
        return None
    integration, service_name, rate_limits = row
    return IngestRoute(
        integration_id=integration.id,
        integration_name=integration.name,
        integration_type=integration.type,
        org_id=integration.org_id,
        livemode=integration.livemode,
        service_id=integration.service_id,
        service_name=service_name,
        org_rate_limits=dict(rate_limits or {}),
        config=dict(integration.config or {}),
    )


# --- integrations across the tenant (Grafana OnCall's flat /integrations) --------------------------


def list_integrations(
    *,
    session: Session,
    tenant: Tenant,
    name: str | None = None,
    team_id: str | None = None,
    limit: int,
    offset: int,
) -> Page[Integration]:
    """Every integration of the tenant, oldest first, with its service (and its maintenance
    windows) loaded; ``name`` is an exact match, ``team_id`` the service's team."""
    stmt = (
        select(Integration)
        .join(Service, Service.id == Integration.service_id)
        .where(*tenant_filter(Integration, tenant))
        .options(selectinload(Integration.service).selectinload(Service.maintenance_windows))
        .order_by(Integration.created_at, Integration.id)
    )
    if name is not None:
        stmt = stmt.where(Integration.name == name)
    if team_id is not None:
        stmt = stmt.where(Service.team_id == team_id)
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def find_integration(*, session: Session, tenant: Tenant, integration_id: str) -> Integration:
    """An integration of the tenant by id alone (its service loaded); 404 otherwise."""
    return load(
        session=session, model=Integration, tenant=tenant, ident=integration_id, resource="integration"
    )


def integration_name_taken(
    *, session: Session, tenant: Tenant, name: str, team_id: str | None, exclude_id: str | None = None
) -> bool:
    """Whether another integration of the same team (or of no team) already has this name."""
    team = Service.team_id.is_(None) if team_id is None else Service.team_id == team_id
    stmt = (
        select(Integration.id)
        .join(Service, Service.id == Integration.service_id)
        .where(*tenant_filter(Integration, tenant), Integration.name == name.strip(), team)
    )
    if exclude_id is not None:
        stmt = stmt.where(Integration.id != exclude_id)
    return session.scalar(stmt.limit(1)) is not None


def end_maintenance(*, session: Session, tenant: Tenant, service_id: str, now: datetime) -> int:
    """End every window of the service that is running now, at ``now``; windows still to come are
    left alone. Returns how many were ended."""
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    ended = 0
    for window in service.maintenance_windows:
        if window.start <= now < window.end:
            window.end = now
            ended += 1
    session.flush()
    return ended
