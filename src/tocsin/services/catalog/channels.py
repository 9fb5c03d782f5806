"""Service channels: chat rooms and endpoints (Slack, Teams, a webhook) told about every incident of
a service, whoever is paged. The URL and label are checked as a contact method's are
(``checks.check_url``, ``checks.check_optional_text``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ServiceChannel
from tocsin.domain.actor import Tenant
from tocsin.ids import new_id
from tocsin.services.catalog.services import get_service
from tocsin.services.checks import MAX_LABEL, check_optional_text, check_url
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import tenant_filter

CHANNEL_TYPES = ("slack", "teams", "webhook")


def list_channels(
    *, session: Session, tenant: Tenant, service_id: str, limit: int, offset: int
) -> Page[ServiceChannel]:
    """Oldest first."""
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    stmt = (
        select(ServiceChannel)
        .where(*tenant_filter(ServiceChannel, tenant), ServiceChannel.service_id == service.id)
        .order_by(ServiceChannel.created_at, ServiceChannel.id)
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def room_types(*, session: Session, tenant: Tenant) -> frozenset[str]:
    """The room types this tenant posts to on any service: what makes Slack, Teams or a webhook a
    configured channel in the channel-health view."""
    found = session.scalars(
        select(ServiceChannel.type).where(*tenant_filter(ServiceChannel, tenant)).distinct()
    )
    return frozenset(found)


def create_channel(
    *,
    session: Session,
    tenant: Tenant,
    service_id: str,
    type: str,
    url: str,
    now: datetime,
    label: str | None = None,
) -> ServiceChannel:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    if type not in CHANNEL_TYPES:
        raise Invalid("type", "invalid", f"type must be one of {', '.join(CHANNEL_TYPES)}")
    channel = ServiceChannel(
        id=new_id("service_channel"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        service_id=service.id,
        type=type,
        url=check_url(url, "url"),
        label=check_optional_text(label, "label", MAX_LABEL),
        created_at=now,
    )
    session.add(channel)
    session.flush()
    return channel


def delete_channel(*, session: Session, tenant: Tenant, service_id: str, channel_id: str) -> None:
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    channel = session.scalar(
        select(ServiceChannel).where(
            *tenant_filter(ServiceChannel, tenant),
            ServiceChannel.id == channel_id,
            ServiceChannel.service_id == service.id,
        )
    )
    if channel is None:
        raise NotFound("service_channel", channel_id)
    session.delete(channel)
    session.flush()
