"""Shift-swap requests: someone on call asks for cover over a window; someone else takes it, which
puts them on call there as an override.

A request is stored as open, taken or cancelled. An open request whose window has started reads as
``past_due`` (it expired): nobody may take it any more, since the shift it asked cover for is
already being worked. The engine notes the expiry on the schedule's timeline at the window start
(``swap_takes.expire_request``, run by a job enqueued at creation); the stored status stays open,
so every read derives past due from the clock the same way and nothing is rewritten on time.

Changing, cancelling and taking (``swap_takes``) are conditional updates (``... WHERE status =
'open' AND start > now``): two takers cannot both win, and a cancel cannot slip between a take's
check and its write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from tocsin.db.models import SwapRequest, User
from tocsin.domain.actor import Actor, Tenant
from tocsin.ids import new_id
from tocsin.services import jobs
from tocsin.services.checks import check_optional_text
from tocsin.services.errors import Conflict, Forbidden, Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.people.lookup import UserRef, user_refs
from tocsin.services.schedules import events as schedule_events
from tocsin.services.schedules import oncall
from tocsin.services.schedules.schedules import get_schedule
from tocsin.services.schedules.specs import check_instant
from tocsin.services.sql import load, tenant_filter

OPEN: Final = "open"
TAKEN: Final = "taken"
CANCELLED: Final = "cancelled"
PAST_DUE: Final = "past_due"
STATUSES: Final = (OPEN, TAKEN, CANCELLED, PAST_DUE)
MAX_WINDOW: Final = timedelta(days=31)
MAX_DESCRIPTION: Final = 2000
SWAP_EXPIRY: Final = "swap_expiry"  # the engine job that notes the expiry at the window start


def status_at(swap: SwapRequest, now: datetime) -> str:
    """The status a reader sees: a stored ``open`` whose window has started is ``past_due``."""
    if swap.status == OPEN and swap.start <= now:
        return PAST_DUE
    return swap.status


def people(*, session: Session, tenant: Tenant, swaps: Iterable[SwapRequest]) -> dict[str, UserRef]:
    """Names and emails of everyone the requests mention, in one query."""
    ids = {s.beneficiary_id for s in swaps} | {s.benefactor_id for s in swaps if s.benefactor_id}
    return user_refs(session=session, tenant=tenant, ids=ids)


def at_text(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def tenant_user(*, session: Session, tenant: Tenant, user_id: Any, field: str) -> User:
    if not isinstance(user_id, str) or not user_id.strip():
        raise Invalid(field, "invalid", f"{field} must be a user id (usr_...)")
    user = session.scalar(select(User).where(*tenant_filter(User, tenant), User.id == user_id.strip()))
    if user is None:
        raise Invalid(field, "not_found", f"unknown user id {user_id!r}")
    return user


def _window(start: Any, end: Any, now: datetime) -> tuple[datetime, datetime]:
    """A window that has not begun, ends after it starts and lasts at most 31 days."""
    start = check_instant(start, "start")
    end = check_instant(end, "end")
    if end <= start:
        raise Invalid("end", "before_start", "end must be after start")
    if start <= now:
        raise Invalid("start", "past", "start must be in the future: a shift already begun cannot be swapped")
    if end - start > MAX_WINDOW:
        raise Invalid("end", "range", f"a swap window is at most {MAX_WINDOW.days} days")
    return start, end


def _check_on_call(
    session: Session, tenant: Tenant, schedule_id: str, user: User, start: datetime, end: datetime
) -> None:
    """Cover is only asked for time one actually has on call in this schedule."""
    shifts = oncall.shifts(session=session, tenant=tenant, schedule_id=schedule_id, since=start, until=end)
    if not any(entry.user.id == user.id for entry in shifts):
        raise Invalid(
            "user_id",
            "not_on_call",
            f"{user.name} ({user.id}) is not on call in this schedule between {at_text(start)} and "
            f"{at_text(end)}; there is nothing to swap",
        )


def _enqueue_expiry(session: Session, tenant: Tenant, swap: SwapRequest, now: datetime) -> None:
    """The job keyed by the window start: moving the window enqueues a new one, and the old one
    finds its start no longer matches and does nothing."""
    start = swap.start.isoformat()
    jobs.enqueue(
        session=session,
        tenant=tenant,
        kind=SWAP_EXPIRY,
        key=f"swap-expiry:{swap.id}:{start}",
        run_at=swap.start,
        now=now,
        payload={"swap_request_id": swap.id, "start": start},
    )


def not_open(swap: SwapRequest, now: datetime, verb: str) -> Conflict:
    """Why a request can no longer be taken, changed or cancelled, in words a person acts on."""
    status = status_at(swap, now)
    if status == TAKEN:
        message = f"swap request {swap.id} was already taken by {swap.benefactor_id}; it cannot be {verb}"
        reason = "already_taken"
    elif status == CANCELLED:
        message = f"swap request {swap.id} was cancelled; it cannot be {verb}"
        reason = "cancelled"
    else:
        started = at_text(swap.start)
        message = f"swap request {swap.id} expired: its window started at {started}; it cannot be {verb}"
        reason = "expired"
    return Conflict(message, {"reason": reason, "status": status})


def _may_manage(session: Session, tenant: Tenant, swap: SwapRequest, actor: Actor) -> None:
    """The person who asked, an admin or a service key may change or cancel a request."""
    if actor.type != "user" or actor.id == swap.beneficiary_id:
        return
    role = session.scalar(select(User.role).where(*tenant_filter(User, tenant), User.id == actor.id))
    if role != "admin":
        raise Forbidden(
            "only the person who asked for the swap, an admin or a service key may change or cancel it",
            {"reason": "not_beneficiary"},
        )


def _still_open(tenant: Tenant, swap_id: str, now: datetime) -> Any:
    return and_(
        *tenant_filter(SwapRequest, tenant),
        SwapRequest.id == swap_id,
        SwapRequest.status == OPEN,
        SwapRequest.start > now,
    )


def apply_if_open(
    *, session: Session, tenant: Tenant, swap: SwapRequest, now: datetime, **values: Any
) -> bool:
    """Apply ``values`` only if the request is still open and not started; True when it was."""
    won = session.execute(
        update(SwapRequest)
        .where(_still_open(tenant, swap.id, now))
        .values(updated_at=now, **values)
        .returning(SwapRequest.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(swap)
    return won is not None


def create_request(
    *,
    session: Session,
    tenant: Tenant,
    schedule_id: str,
    beneficiary_id: str | None,
    start: Any,
    end: Any,
    description: Any = None,
    actor: Actor,
    now: datetime,
) -> SwapRequest:
    """Ask for cover over ``[start, end)``; ``beneficiary_id`` must be on call for part of it."""
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    if beneficiary_id is None:
        raise Invalid("user_id", "required", "user_id is required with a service key: whose shift is it?")
    user = tenant_user(session=session, tenant=tenant, user_id=beneficiary_id, field="user_id")
    start, end = _window(start, end, now)
    text = check_optional_text(description, "description", MAX_DESCRIPTION)
    _check_on_call(session, tenant, schedule.id, user, start, end)
    swap = SwapRequest(
        id=new_id("swap_request"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        schedule_id=schedule.id,
        beneficiary_id=user.id,
        start=start,
        end=end,
        description=text,
        status=OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(swap)
    session.flush()
    _enqueue_expiry(session, tenant, swap, now)
    schedule_events.record(
        session=session,
        tenant=tenant,
        schedule_id=schedule.id,
        type=schedule_events.SWAP_REQUESTED,
        message=f"{user.name} asked for cover from {at_text(start)} to {at_text(end)}",
        actor=actor,
        now=now,
        data={"swap_request_id": swap.id, "beneficiary_id": user.id},
    )
    return swap


def get_request(
    *, session: Session, tenant: Tenant, swap_id: str, schedule_id: str | None = None
) -> SwapRequest:
    """One request; under a schedule's path, only that schedule's (another's is a 404)."""
    swap = load(session=session, model=SwapRequest, tenant=tenant, ident=swap_id, resource="swap_request")
    if schedule_id is not None and swap.schedule_id != schedule_id:
        raise NotFound("swap_request", swap_id)
    return swap


def _status_filter(statuses: tuple[str, ...], now: datetime) -> Any:
    unknown = [status for status in statuses if status not in STATUSES]
    if unknown:
        raise Invalid("status", "invalid", f"unknown status {unknown[0]!r}; one of {', '.join(STATUSES)}")
    conditions = {
        OPEN: and_(SwapRequest.status == OPEN, SwapRequest.start > now),
        PAST_DUE: and_(SwapRequest.status == OPEN, SwapRequest.start <= now),
        TAKEN: SwapRequest.status == TAKEN,
        CANCELLED: SwapRequest.status == CANCELLED,
    }
    return or_(*(conditions[status] for status in dict.fromkeys(statuses)))


def list_requests(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    schedule_ids: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
    beneficiary_ids: tuple[str, ...] = (),
    benefactor_ids: tuple[str, ...] = (),
    starting_after: datetime | None = None,
    limit: int,
    offset: int,
) -> Page[SwapRequest]:
    """By window start (soonest first); every filter takes several values (any of them matches)."""
    stmt = select(SwapRequest).where(*tenant_filter(SwapRequest, tenant))
    if schedule_ids:
        stmt = stmt.where(SwapRequest.schedule_id.in_(schedule_ids))
    if statuses:
        stmt = stmt.where(_status_filter(statuses, now))
    if beneficiary_ids:
        stmt = stmt.where(SwapRequest.beneficiary_id.in_(beneficiary_ids))
    if benefactor_ids:
        stmt = stmt.where(SwapRequest.benefactor_id.in_(benefactor_ids))
    if starting_after is not None:
        stmt = stmt.where(SwapRequest.start >= check_instant(starting_after, "starting_after"))
    stmt = stmt.order_by(SwapRequest.start, SwapRequest.id)
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_request(
    *,
    session: Session,
    tenant: Tenant,
    swap_id: str,
    changes: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    schedule_id: str | None = None,
) -> SwapRequest:
    """Change the description or the window of an open request (the new window is checked as at
    creation). Only the keys present in ``changes`` (``description``, ``start``, ``end``) change."""
    swap = get_request(session=session, tenant=tenant, swap_id=swap_id, schedule_id=schedule_id)
    _may_manage(session, tenant, swap, actor)
    if status_at(swap, now) != OPEN:
        raise not_open(swap, now, "changed")
    values: dict[str, Any] = {}
    if "description" in changes:
        values["description"] = check_optional_text(changes["description"], "description", MAX_DESCRIPTION)
    if "start" in changes or "end" in changes:
        start, end = _window(changes.get("start", swap.start), changes.get("end", swap.end), now)
        beneficiary = tenant_user(
            session=session, tenant=tenant, user_id=swap.beneficiary_id, field="user_id"
        )
        _check_on_call(session, tenant, swap.schedule_id, beneficiary, start, end)
        values.update(start=start, end=end)
    moved = "start" in values and values["start"] != swap.start
    if not apply_if_open(session=session, tenant=tenant, swap=swap, now=now, **values):
        raise not_open(swap, now, "changed")
    if moved:
        _enqueue_expiry(session, tenant, swap, now)
    schedule_events.record(
        session=session,
        tenant=tenant,
        schedule_id=swap.schedule_id,
        type=schedule_events.SWAP_UPDATED,
        message=f"Swap request changed: cover from {at_text(swap.start)} to {at_text(swap.end)}",
        actor=actor,
        now=now,
        data={"swap_request_id": swap.id, "changed": sorted(values)},
    )
    return swap


def cancel_request(
    *,
    session: Session,
    tenant: Tenant,
    swap_id: str,
    actor: Actor,
    now: datetime,
    schedule_id: str | None = None,
) -> SwapRequest:
    """Withdraw an open request (by the person who asked, an admin or a service key)."""
    swap = get_request(session=session, tenant=tenant, swap_id=swap_id, schedule_id=schedule_id)
    _may_manage(session, tenant, swap, actor)
    if not apply_if_open(session=session, tenant=tenant, swap=swap, now=now, status=CANCELLED):
        raise not_open(swap, now, "cancelled")
    schedule_events.record(
        session=session,
        tenant=tenant,
        schedule_id=swap.schedule_id,
        type=schedule_events.SWAP_CANCELLED,
        message=f"Swap request for {at_text(swap.start)} to {at_text(swap.end)} cancelled",
        actor=actor,
        now=now,
        data={"swap_request_id": swap.id},
    )
    return swap
