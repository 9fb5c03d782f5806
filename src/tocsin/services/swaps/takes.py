"""Taking a swap request, and its expiry at the window start (the engine's job).

A take is one conditional update (``... WHERE status = 'open' AND start > now``, in
``swap_requests.apply_if_open``): of two people taking the same request at once exactly one wins,
and the loser hears why. The winner's override, the request's move to taken and the timeline
entries commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ScheduleOverride, SwapRequest
from tocsin.domain.actor import Actor, Tenant
from tocsin.services.errors import Invalid
from tocsin.services.people.lookup import user_refs
from tocsin.services.schedules import events as schedule_events
from tocsin.services.schedules.overrides import create_override
from tocsin.services.sql import tenant_filter
from tocsin.services.swaps.requests import (
    OPEN,
    TAKEN,
    apply_if_open,
    at_text,
    get_request,
    not_open,
    tenant_user,
)


@dataclass(frozen=True, slots=True)
class TakenSwap:
    """A request just taken and the override that now covers its window."""

    swap: SwapRequest
    override: ScheduleOverride


def take_request(
    *,
    session: Session,
    tenant: Tenant,
    swap_id: str,
    benefactor_id: str | None,
    actor: Actor,
    now: datetime,
    schedule_id: str | None = None,
) -> TakenSwap:
    """``benefactor_id`` covers the window: an override for them over it, made in the same
    transaction as the request's move to taken. Exactly one of concurrent takers wins."""
    swap = get_request(session=session, tenant=tenant, swap_id=swap_id, schedule_id=schedule_id)
    if benefactor_id is None:
        raise Invalid("user_id", "required", "user_id is required with a service key: who takes the swap?")
    benefactor = tenant_user(session=session, tenant=tenant, user_id=benefactor_id, field="user_id")
    if benefactor.id == swap.beneficiary_id:
        raise Invalid("user_id", "same_user", "a swap request cannot be taken by the person who asked for it")
    if not apply_if_open(
        session=session,
        tenant=tenant,
        swap=swap,
        now=now,
        status=TAKEN,
        benefactor_id=benefactor.id,
        taken_at=now,
    ):
        raise not_open(swap, now, "taken")
    override = create_override(
        session=session,
        tenant=tenant,
        schedule_id=swap.schedule_id,
        user_id=benefactor.id,
        start=swap.start,
        end=swap.end,
        actor=actor,
        now=now,
    )
    swap.override_id = override.id
    session.flush()
    whose = _beneficiary_name(session, tenant, swap)
    schedule_events.record(
        session=session,
        tenant=tenant,
        schedule_id=swap.schedule_id,
        type=schedule_events.SWAP_TAKEN,
        message=f"{benefactor.name} took {whose}'s shift from {at_text(swap.start)} to {at_text(swap.end)}",
        actor=actor,
        now=now,
        data={
            "swap_request_id": swap.id,
            "override_id": override.id,
            "benefactor_id": benefactor.id,
            "beneficiary_id": swap.beneficiary_id,
        },
    )
    schedule_events.record(
        session=session,
        tenant=tenant,
        schedule_id=swap.schedule_id,
        type=schedule_events.OVERRIDE_CREATED,
        message=f"Override {override.id}: {benefactor.name} on call "
        f"from {at_text(swap.start)} to {at_text(swap.end)}",
        actor=actor,
        now=now,
        data={"override_id": override.id, "user_id": benefactor.id, "swap_request_id": swap.id},
    )
    return TakenSwap(swap=swap, override=override)


def _beneficiary_name(session: Session, tenant: Tenant, swap: SwapRequest) -> str:
    """Who asked, for the timeline; their id if they have been deleted since."""
    beneficiary = user_refs(session=session, tenant=tenant, ids=[swap.beneficiary_id]).get(
        swap.beneficiary_id
    )
    return beneficiary.name if beneficiary else swap.beneficiary_id


def expire_request(*, session: Session, tenant: Tenant, payload: Mapping[str, Any], now: datetime) -> str:
    """The engine's job at a window start: a request still open there expired; note it on the
    timeline (at the start). One taken, cancelled, moved or deleted since is left alone."""
    swap_id = str(payload.get("swap_request_id", ""))
    swap = session.scalar(
        select(SwapRequest).where(*tenant_filter(SwapRequest, tenant), SwapRequest.id == swap_id)
    )
    if swap is None:
        return "swap request deleted"
    if swap.start.isoformat() != payload.get("start"):
        return "window moved; the job for the new start expires it"
    if swap.status != OPEN:
        return f"nothing to do: {swap.status}"
    whose = _beneficiary_name(session, tenant, swap)
    schedule_events.record(
        session=session,
        tenant=tenant,
        schedule_id=swap.schedule_id,
        type=schedule_events.SWAP_EXPIRED,
        message=f"Nobody took {whose}'s swap request before {at_text(swap.start)}; it expired",
        actor=Actor.system(),
        now=min(swap.start, now),
        data={"swap_request_id": swap.id, "beneficiary_id": swap.beneficiary_id},
    )
    return "expired"
