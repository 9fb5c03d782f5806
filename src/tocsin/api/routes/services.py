"""``/api/services``: the service catalog, with nested integrations and maintenance windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, ServicesRead, ServicesWrite
from tocsin.api.query import csv_values
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.services import (
    IntegrationCreate,
    IntegrationRead,
    MaintenanceWindowCreate,
    MaintenanceWindowRead,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
)
from tocsin.domain.maintenance import Window, in_maintenance
from tocsin.services import catalog
from tocsin.services.pagination import Page

router = APIRouter(prefix="/api/services", tags=["services"])

T = TypeVar("T")


def _read(service: Any, now: datetime) -> ServiceRead:
    read = ServiceRead.model_validate(service)
    read.in_maintenance = in_maintenance((Window(w.start, w.end) for w in read.maintenance_windows), now)
    return read


def _slice(items: Sequence[T], limit: int, offset: int) -> Page[T]:
    """A page of a service's own (few) integrations or windows, already loaded with it."""
    return Page(items=items[offset : offset + limit], total=len(items), limit=limit, offset=offset)


def _forget_routes(request: Request) -> None:
    """Drop cached routing keys, so a deleted integration or service stops taking events at once."""
    request.app.state.routes.forget()


@router.get("", response_model=ListEnvelope[ServiceRead], summary="List services")
def list_services(
    key: ServicesRead,
    db: Db,
    now: Now,
    team_id: str | None = None,
    query: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Sorted by name. ``team_id`` takes comma-separated values; ``query`` matches part of the name."""
    with db.read() as session:
        page = catalog.list_services(
            session=session,
            tenant=key.tenant,
            team_ids=csv_values(team_id),
            query=query.strip() if query and query.strip() else None,
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, lambda service: _read(service, now))


@router.post("", status_code=201, response_model=Envelope[ServiceRead], summary="Create a service")
def create_service(
    body: ServiceCreate, request: Request, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    integrations = None if body.integrations is None else [spec.model_dump() for spec in body.integrations]
    with db.write() as session:
        service = catalog.create_service(
            session=session,
            tenant=key.tenant,
            now=now,
            name=body.name,
            description=body.description,
            team_id=body.team_id,
            ack_timeout_minutes=body.ack_timeout_minutes,
            escalation_policy_id=body.escalation_policy_id,
            integrations=integrations,
        )
        result = envelope(_read(service, now))
    _forget_routes(request)
    return result


@router.get("/{service_id}", response_model=Envelope[ServiceRead], summary="Get a service")
def get_service(service_id: str, key: ServicesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        return envelope(_read(service, now))


@router.patch("/{service_id}", response_model=Envelope[ServiceRead], summary="Update a service")
def update_service(
    service_id: str, body: ServiceUpdate, request: Request, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        service = catalog.update_service(
            session=session, tenant=key.tenant, service_id=service_id, changes=changes, now=now
        )
        result = envelope(_read(service, now))
    _forget_routes(request)  # cached routes carry the service name
    return result


@router.delete("/{service_id}", status_code=204, response_class=Response, summary="Delete a service")
def delete_service(service_id: str, request: Request, key: ServicesWrite, db: Db) -> Response:
    """Refused with 409 CONFLICT while the service has unresolved incidents."""
    with db.write() as session:
        catalog.delete_service(session=session, tenant=key.tenant, service_id=service_id)
    _forget_routes(request)
    return Response(status_code=204)


@router.get(
    "/{service_id}/integrations", response_model=ListEnvelope[IntegrationRead], summary="List integrations"
)
def list_integrations(
    service_id: str, key: ServicesRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    with db.read() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        return page_envelope(_slice(service.integrations, limit, offset), IntegrationRead.model_validate)


@router.post(
    "/{service_id}/integrations",
    status_code=201,
    response_model=Envelope[IntegrationRead],
    summary="Add an integration",
)
def add_integration(
    service_id: str, body: IntegrationCreate, request: Request, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    with db.write() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        integration = catalog.add_integration(
            session=session, tenant=key.tenant, service=service, now=now, **body.model_dump()
        )
        result = envelope(IntegrationRead.model_validate(integration))
    _forget_routes(request)  # the key may have been looked up (and cached as unknown) before
    return result


@router.delete(
    "/{service_id}/integrations/{integration_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an integration",
)
def delete_integration(
    service_id: str, integration_id: str, request: Request, key: ServicesWrite, db: Db
) -> Response:
    """Its routing key stops taking events at once."""
    with db.write() as session:
        catalog.delete_integration(
            session=session, tenant=key.tenant, service_id=service_id, integration_id=integration_id
        )
    _forget_routes(request)
    return Response(status_code=204)


@router.get(
    "/{service_id}/maintenance-windows",
    response_model=ListEnvelope[MaintenanceWindowRead],
    summary="List maintenance windows",
)
def list_maintenance_windows(
    service_id: str, key: ServicesRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """Sorted by start, past windows included."""
    with db.read() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        return page_envelope(
            _slice(service.maintenance_windows, limit, offset), MaintenanceWindowRead.model_validate
        )


@router.post(
    "/{service_id}/maintenance-windows",
    status_code=201,
    response_model=Envelope[MaintenanceWindowRead],
    summary="Add a maintenance window",
)
def add_maintenance_window(
    service_id: str, body: MaintenanceWindowCreate, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """Incidents created on the service in ``[start, end)`` are SUPPRESSED and page no one."""
    with db.write() as session:
        window = catalog.add_maintenance_window(
            session=session,
            tenant=key.tenant,
            service_id=service_id,
            start=body.start,
            end=body.end,
            description=body.description,
            now=now,
        )
        return envelope(MaintenanceWindowRead.model_validate(window))


@router.delete(
    "/{service_id}/maintenance-windows/{window_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a maintenance window",
)
def delete_maintenance_window(service_id: str, window_id: str, key: ServicesWrite, db: Db) -> Response:
    with db.write() as session:
        catalog.delete_maintenance_window(
            session=session, tenant=key.tenant, service_id=service_id, window_id=window_id
        )
    return Response(status_code=204)
