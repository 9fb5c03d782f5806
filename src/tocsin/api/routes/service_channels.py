"""``/api/services/{service_id}/channels``: Slack, Teams or webhook endpoints told about every
incident of a service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, ServicesRead, ServicesWrite
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.contacts import ServiceChannelCreate, ServiceChannelRead
from tocsin.services.catalog import channels as service_channels

router = APIRouter(prefix="/api/services/{service_id}/channels", tags=["services"])


@router.get("", response_model=ListEnvelope[ServiceChannelRead], summary="List service channels")
def list_channels(
    service_id: str, key: ServicesRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """Oldest first."""
    with db.read() as session:
        page = service_channels.list_channels(
            session=session, tenant=key.tenant, service_id=service_id, limit=limit, offset=offset
        )
        return page_envelope(page, ServiceChannelRead.model_validate)


@router.post(
    "", status_code=201, response_model=Envelope[ServiceChannelRead], summary="Add a service channel"
)
def create_channel(
    service_id: str, body: ServiceChannelCreate, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """``url`` is https:// (or http://) with no credentials in it."""
    with db.write() as session:
        channel = service_channels.create_channel(
            session=session,
            tenant=key.tenant,
            service_id=service_id,
            type=body.type,
            url=body.url,
            label=body.label,
            now=now,
        )
        return envelope(ServiceChannelRead.model_validate(channel))


@router.delete("/{channel_id}", status_code=204, response_class=Response, summary="Delete a service channel")
def delete_channel(service_id: str, channel_id: str, key: ServicesWrite, db: Db) -> Response:
    with db.write() as session:
        service_channels.delete_channel(
            session=session, tenant=key.tenant, service_id=service_id, channel_id=channel_id
        )
    return Response(status_code=204)
