"""``/api/oncalls``: everyone on call across the org's schedules, now or at a given instant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, SchedulesRead
from tocsin.api.routes.schedules import instant
from tocsin.api.schemas.common import ListEnvelope, page_envelope
from tocsin.api.schemas.schedules import ScheduleOnCallRead
from tocsin.services.query import csv_values
from tocsin.services.schedules import oncall

router = APIRouter(prefix="/api/oncalls", tags=["schedules"])


@router.get("", response_model=ListEnvelope[ScheduleOnCallRead], summary="List who is on call")
def list_oncalls(
    key: SchedulesRead,
    db: Db,
    now: Now,
    at: str | None = None,
    user_id: str | None = None,
    schedule_id: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """By schedule name. ``user_id`` and ``schedule_id`` take comma-separated values."""
    when = instant(at, "at") or now
    with db.read() as session:
        page = oncall.oncalls(
            session=session,
            tenant=key.tenant,
            at=when,
            user_ids=csv_values(user_id),
            schedule_ids=csv_values(schedule_id),
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, ScheduleOnCallRead.of)
