"""``/api/schedules/{id}/swap-requests``: ask for cover, take or cancel a request; ``/api/swap-requests``
lists them across schedules; ``/api/schedules/{id}/timeline`` is the schedule's log (oldest first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, SchedulesRead, SchedulesWrite
from tocsin.api.routes.schedules import instant
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.schedules import OverrideRead
from tocsin.api.schemas.swap_requests import (
    ScheduleEventRead,
    SwapRequestCreate,
    SwapRequestRead,
    SwapRequestUpdate,
    SwapTakeBody,
    SwapTakenRead,
)
from tocsin.domain.actor import Tenant
from tocsin.services.pagination import Page
from tocsin.services.query import csv_values
from tocsin.services.schedules import events as schedule_events
from tocsin.services.schedules import schedules
from tocsin.services.swaps import requests as swap_requests
from tocsin.services.swaps import takes as swap_takes

router = APIRouter(tags=["swap requests"])
NESTED = "/api/schedules/{schedule_id}/swap-requests"


def _read(session: Session, tenant: Tenant, swaps: list[Any], now: datetime) -> list[SwapRequestRead]:
    people = swap_requests.people(session=session, tenant=tenant, swaps=swaps)
    return [SwapRequestRead.of(swap, people, now) for swap in swaps]


def _page(session: Session, tenant: Tenant, page: Page[Any], now: datetime) -> dict[str, Any]:
    result = page_envelope(page)
    result["data"] = _read(session, tenant, list(page.items), now)
    return result


def _list(
    db: Db,
    tenant: Tenant,
    now: datetime,
    *,
    schedule_ids: tuple[str, ...],
    status: str | None,
    beneficiary_id: str | None,
    benefactor_id: str | None,
    starting_after: str | None,
    limit: int,
    offset: int,
    nested: bool,
) -> dict[str, Any]:
    with db.read() as session:
        if nested:
            schedules.get_schedule(session=session, tenant=tenant, schedule_id=schedule_ids[0])
        page = swap_requests.list_requests(
            session=session,
            tenant=tenant,
            now=now,
            schedule_ids=schedule_ids,
            statuses=csv_values(status),
            beneficiary_ids=csv_values(beneficiary_id),
            benefactor_ids=csv_values(benefactor_id),
            starting_after=instant(starting_after, "starting_after"),
            limit=limit,
            offset=offset,
        )
        return _page(session, tenant, page, now)


@router.get(NESTED, response_model=ListEnvelope[SwapRequestRead], summary="List a schedule's swap requests")
def list_schedule_swaps(
    schedule_id: str,
    key: SchedulesRead,
    db: Db,
    now: Now,
    status: str | None = None,
    beneficiary_id: str | None = None,
    benefactor_id: str | None = None,
    starting_after: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Soonest window first. ``status`` (open, taken, cancelled, past_due) and the user filters take
    comma-separated values; ``starting_after`` keeps windows starting at or after it."""
    return _list(
        db, key.tenant, now, schedule_ids=(schedule_id,), status=status, beneficiary_id=beneficiary_id,
        benefactor_id=benefactor_id, starting_after=starting_after, limit=limit, offset=offset, nested=True,
    )  # fmt: skip


@router.get("/api/swap-requests", response_model=ListEnvelope[SwapRequestRead], summary="List swap requests")
def list_swaps(
    key: SchedulesRead,
    db: Db,
    now: Now,
    schedule_id: str | None = None,
    status: str | None = None,
    beneficiary_id: str | None = None,
    benefactor_id: str | None = None,
    starting_after: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Across schedules, soonest window first; every filter takes comma-separated values."""
    return _list(
        db, key.tenant, now, schedule_ids=csv_values(schedule_id), status=status,
        beneficiary_id=beneficiary_id, benefactor_id=benefactor_id, starting_after=starting_after,
        limit=limit, offset=offset, nested=False,
    )  # fmt: skip


@router.get(
    "/api/swap-requests/{swap_id}", response_model=Envelope[SwapRequestRead], summary="Get a swap request"
)
def get_any_swap(swap_id: str, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        swap = swap_requests.get_request(session=session, tenant=key.tenant, swap_id=swap_id)
        return envelope(_read(session, key.tenant, [swap], now)[0])


@router.post(NESTED, status_code=201, response_model=Envelope[SwapRequestRead], summary="Ask for cover")
def create_swap(
    schedule_id: str, body: SwapRequestCreate, key: SchedulesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """``user_id`` (by default the key's user) must be on call in this schedule for part of the
    window. The request expires, untaken, when its window starts."""
    with db.write() as session:
        swap = swap_requests.create_request(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            beneficiary_id=body.user_id or key.user_id,
            start=body.start,
            end=body.end,
            description=body.description,
            actor=key.actor,
            now=now,
        )
        return envelope(_read(session, key.tenant, [swap], now)[0])


@router.get(NESTED + "/{swap_id}", response_model=Envelope[SwapRequestRead], summary="Get a swap request")
def get_swap(schedule_id: str, swap_id: str, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        swap = swap_requests.get_request(
            session=session, tenant=key.tenant, swap_id=swap_id, schedule_id=schedule_id
        )
        return envelope(_read(session, key.tenant, [swap], now)[0])


@router.patch(
    NESTED + "/{swap_id}", response_model=Envelope[SwapRequestRead], summary="Change a swap request"
)
def update_swap(
    schedule_id: str, swap_id: str, body: SwapRequestUpdate, key: SchedulesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """While it is open: the description, or the window (checked as at creation)."""
    with db.write() as session:
        swap = swap_requests.update_request(
            session=session,
            tenant=key.tenant,
            swap_id=swap_id,
            schedule_id=schedule_id,
            changes=body.model_dump(include=body.model_fields_set),
            actor=key.actor,
            now=now,
        )
        return envelope(_read(session, key.tenant, [swap], now)[0])


@router.post(
    NESTED + "/{swap_id}/take", response_model=Envelope[SwapTakenRead], summary="Take a swap request"
)
def take_swap(
    schedule_id: str, swap_id: str, key: SchedulesWrite, db: Db, now: Now, body: SwapTakeBody | None = None
) -> dict[str, Any]:
    """``user_id`` (by default the key's user) covers the window: an override is made for them. 409
    when the request expired (its window started), was already taken or was cancelled."""
    with db.write() as session:
        taken = swap_takes.take_request(
            session=session,
            tenant=key.tenant,
            swap_id=swap_id,
            schedule_id=schedule_id,
            benefactor_id=(body.user_id if body else None) or key.user_id,
            actor=key.actor,
            now=now,
        )
        swap = _read(session, key.tenant, [taken.swap], now)[0]
        return envelope(SwapTakenRead(swap_request=swap, override=OverrideRead.of(taken.override)))


@router.post(
    NESTED + "/{swap_id}/cancel", response_model=Envelope[SwapRequestRead], summary="Cancel a swap request"
)
def cancel_swap(schedule_id: str, swap_id: str, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    """By the person who asked, an admin or a service key; only while open (409 otherwise)."""
    with db.write() as session:
        swap = swap_requests.cancel_request(
            session=session,
            tenant=key.tenant,
            swap_id=swap_id,
            schedule_id=schedule_id,
            actor=key.actor,
            now=now,
        )
        return envelope(_read(session, key.tenant, [swap], now)[0])


@router.get(
    "/api/schedules/{schedule_id}/timeline",
    response_model=ListEnvelope[ScheduleEventRead],
    summary="A schedule's timeline",
)
def schedule_timeline(
    schedule_id: str,
    key: SchedulesRead,
    db: Db,
    type: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Oldest first, like an incident's timeline: swap requests asked, changed, taken, cancelled and
    expired, and the overrides takes made. ``type`` takes comma-separated event types."""
    with db.read() as session:
        page = schedule_events.list_events(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            types=csv_values(type),
            limit=limit,
            offset=offset,
        )
        return page_envelope(page, ScheduleEventRead.of)
