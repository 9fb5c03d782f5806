"""Swap requests and the schedule timeline on the wire. The service checks windows, people and
states (and names the field in its 400s); these models only fix the types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel
from tocsin.api.schemas.schedules import ActorRead, OverrideRead, UserSummary
from tocsin.services.swaps import requests as swap_requests

SwapStatus = Literal["open", "taken", "cancelled", "past_due"]


class SwapRequestCreate(WriteModel):
    """Ask for cover over ``[start, end)`` (in the future, at most 31 days). ``user_id`` is whose
    shift it is: by default the key's own user; a service key must name one."""

    start: Timestamp
    end: Timestamp
    user_id: str | None = None
    description: str | None = Field(default=None, max_length=2000)


class SwapRequestUpdate(WriteModel):
    """Only the fields sent change; a new window is checked as at creation."""

    start: Timestamp | None = None
    end: Timestamp | None = None
    description: str | None = Field(default=None, max_length=2000)


class SwapTakeBody(WriteModel):
    """Who takes it: by default the key's own user; a service key must name one."""

    user_id: str | None = None


class SwapRequestRead(ReadModel):
    """``status`` is ``past_due`` for a request nobody took before its window started."""

    id: str
    schedule_id: str
    status: SwapStatus
    beneficiary: UserSummary
    benefactor: UserSummary | None
    start: Timestamp
    end: Timestamp
    description: str | None
    override_id: str | None
    taken_at: Timestamp | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, swap: Any, people: Mapping[str, Any], now: datetime) -> SwapRequestRead:
        def person(user_id: str) -> UserSummary:
            ref = people.get(user_id)
            if ref is None:  # deleted since: shown by id alone
                return UserSummary(id=user_id, name=user_id, email="")
            return UserSummary.of(ref)

        return cls(
            id=swap.id,
            schedule_id=swap.schedule_id,
            status=swap_requests.status_at(swap, now),
            beneficiary=person(swap.beneficiary_id),
            benefactor=person(swap.benefactor_id) if swap.benefactor_id else None,
            start=swap.start,
            end=swap.end,
            description=swap.description,
            override_id=swap.override_id,
            taken_at=swap.taken_at,
            livemode=swap.livemode,
            created_at=swap.created_at,
            updated_at=swap.updated_at,
        )


class SwapTakenRead(BaseModel):
    swap_request: SwapRequestRead
    override: OverrideRead


class ScheduleEventRead(ReadModel):
    """One timeline entry; ``data`` holds the ids involved (``swap_request_id``, ``override_id``...)."""

    id: str
    schedule_id: str
    type: str
    message: str
    actor: ActorRead
    data: dict[str, Any]
    created_at: Timestamp

    @classmethod
    def of(cls, event: Any) -> ScheduleEventRead:
        return cls(
            id=event.id,
            schedule_id=event.schedule_id,
            type=event.type,
            message=event.message,
            actor=ActorRead(type=event.actor_type, id=event.actor_id, name=event.actor_name),
            data=dict(event.data or {}),
            created_at=event.created_at,
        )
