"""``/api/services``: the service catalog, with nested integrations and maintenance windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, ServicesRead, ServicesWrite
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.services import (
    IntegrationCreate,
    IntegrationRead,
    IntegrationUpdate,
    MaintenanceWindowCreate,
    MaintenanceWindowRead,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
)
from tocsin.domain.maintenance import Window, in_maintenance
from tocsin.services.catalog import services as catalog
from tocsin.services.pagination import Page
from tocsin.services.query import csv_values

router = APIRouter(prefix="/api/services", tags=["services"])

T = TypeVar("T")


def _base_url(request: Request) -> str:
    """The public URL integrations are reached at (``TOCSIN_BASE_URL``)."""
    base_url: str = request.app.state.settings.base_url
    return base_url


BaseUrl = Annotated[str, Depends(_base_url)]


def _integration(integration: Any, base_url: str) -> IntegrationRead:
    return IntegrationRead.model_validate(integration).with_urls(base_url)


def _read(service: Any, now: datetime, base_url: str) -> ServiceRead:
    read = ServiceRead.model_validate(service)
    read.in_maintenance = in_maintenance((Window(w.start, w.end) for w in read.maintenance_windows), now)
    for integration in read.integrations:
        integration.with_urls(base_url)
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
    base_url: BaseUrl,
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
        return page_envelope(page, lambda service: _read(service, now, base_url))


@router.post("", status_code=201, response_model=Envelope[ServiceRead], summary="Create a service")
def create_service(
    body: ServiceCreate, request: Request, key: ServicesWrite, db: Db, now: Now, base_url: BaseUrl
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
        result = envelope(_read(service, now, base_url))
    _forget_routes(request)
    return result


@router.get("/{service_id}", response_model=Envelope[ServiceRead], summary="Get a service")
def get_service(service_id: str, key: ServicesRead, db: Db, now: Now, base_url: BaseUrl) -> dict[str, Any]:
    with db.read() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        return envelope(_read(service, now, base_url))


@router.patch("/{service_id}", response_model=Envelope[ServiceRead], summary="Update a service")
def update_service(
    service_id: str,
    body: ServiceUpdate,
    request: Request,
    key: ServicesWrite,
    db: Db,
    now: Now,
    base_url: BaseUrl,
) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        service = catalog.update_service(
            session=session, tenant=key.tenant, service_id=service_id, changes=changes, now=now
        )
        result = envelope(_read(service, now, base_url))
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
    service_id: str,
    key: ServicesRead,
    db: Db,
    base_url: BaseUrl,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Each with its ready-to-paste ``url`` and ``config_snippet`` for this server."""
    with db.read() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        return page_envelope(
            _slice(service.integrations, limit, offset), lambda item: _integration(item, base_url)
        )


@router.get(
    "/{service_id}/integrations/{integration_id}",
    response_model=Envelope[IntegrationRead],
    summary="Get an integration",
)
def get_integration(
    service_id: str, integration_id: str, key: ServicesRead, db: Db, base_url: BaseUrl
) -> dict[str, Any]:
    with db.read() as session:
        integration = catalog.get_integration(
            session=session, tenant=key.tenant, service_id=service_id, integration_id=integration_id
        )
        return envelope(_integration(integration, base_url))


@router.post(
    "/{service_id}/integrations",
    status_code=201,
    response_model=Envelope[IntegrationRead],
    summary="Add an integration",
)
def add_integration(
    service_id: str,
    body: IntegrationCreate,
    request: Request,
    key: ServicesWrite,
    db: Db,
    now: Now,
    base_url: BaseUrl,
) -> dict[str, Any]:
    """``type`` decides the URL its sender posts to (``url`` in the answer)."""
    with db.write() as session:
        service = catalog.get_service(session=session, tenant=key.tenant, service_id=service_id)
        integration = catalog.add_integration(
            session=session, tenant=key.tenant, service=service, now=now, **body.model_dump()
        )
        result = envelope(_integration(integration, base_url))
    _forget_routes(request)  # the key may have been looked up (and cached as unknown) before
    return result


@router.patch(
    "/{service_id}/integrations/{integration_id}",
    response_model=Envelope[IntegrationRead],
    summary="Update an integration",
)
def update_integration(
    service_id: str,
    integration_id: str,
    body: IntegrationUpdate,
    request: Request,
    key: ServicesWrite,
    db: Db,
    base_url: BaseUrl,
) -> dict[str, Any]:
    """Name, type and config; ``config`` replaces the whole object. The routing key never changes."""
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        integration = catalog.update_integration(
            session=session,
            tenant=key.tenant,
            service_id=service_id,
            integration_id=integration_id,
            changes=changes,
        )
        result = envelope(_integration(integration, base_url))
    _forget_routes(request)  # cached routes carry the integration's name, type and config
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
