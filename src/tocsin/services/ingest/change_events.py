"""Change events on a service: recorded as context for responders, never as an incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ChangeEvent, Service
from tocsin.domain.actor import Tenant
from tocsin.ids import new_id
from tocsin.services.catalog.services import IngestRoute
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_filter


def record_change_event(
    *,
    session: Session,
    route: IngestRoute,
    summary: str,
    source: str | None,
    timestamp: datetime | None,
    custom_details: dict[str, Any] | None,
    links: list[dict[str, Any]],
    now: datetime,
) -> ChangeEvent:
    """A change arrives by an integration's key, so it lands on that integration's service; it
    pages no one, which is the point: it explains incidents rather than raising them."""
    change = ChangeEvent(
        id=new_id("change_event"),
        org_id=route.org_id,
        livemode=route.livemode,
        service_id=route.service_id,
        integration_id=route.integration_id,
        summary=summary[:1024],
        source=source,
        timestamp=timestamp or now,
        custom_details=custom_details,
        links=links,
        created_at=now,
    )
    session.add(change)
    session.flush()
    return change


def list_change_events(
    *, session: Session, tenant: Tenant, service_id: str, limit: int, offset: int
) -> Page[ChangeEvent]:
    """Newest change first, as a responder scanning "what changed before this broke?" reads them."""
    load(session=session, model=Service, tenant=tenant, ident=service_id, resource="service")
    stmt = (
        select(ChangeEvent)
        .where(*tenant_filter(ChangeEvent, tenant), ChangeEvent.service_id == service_id)
        .order_by(ChangeEvent.timestamp.desc(), ChangeEvent.id.desc())
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)
