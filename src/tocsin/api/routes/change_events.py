"""``/api/services/{service_id}/change-events``: what changed on a service, newest first.

Change events come in by PagerDuty's ``/v2/change/enqueue`` (``api/compat/pagerduty/endpoints.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Offset, ServicesRead
from tocsin.api.schemas.common import ListEnvelope, ReadModel, Timestamp, page_envelope
from tocsin.services.ingest import change_events

router = APIRouter(prefix="/api/services", tags=["services"])


class ChangeEventRead(ReadModel):
    id: str
    service_id: str
    integration_id: str | None
    summary: str
    source: str | None
    timestamp: Timestamp
    custom_details: dict[str, Any] | None
    links: list[dict[str, Any]]
    livemode: bool
    created_at: Timestamp


@router.get(
    "/{service_id}/change-events",
    response_model=ListEnvelope[ChangeEventRead],
    summary="List a service's change events",
)
def list_change_events(
    service_id: str, key: ServicesRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """Newest first (by the change's own ``timestamp``). Change events never open incidents."""
    with db.read() as session:
        page = change_events.list_change_events(
            session=session, tenant=key.tenant, service_id=service_id, limit=limit, offset=offset
        )
        return page_envelope(page, ChangeEventRead.model_validate)
