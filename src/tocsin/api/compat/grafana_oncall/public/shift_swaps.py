"""Grafana OnCall `/api/v1/shift_swaps`: swap requests in Grafana's words, over
``services.swaps.requests``.

As upstream (``engine/apps/public_api/views/shift_swap.py`` and the shift-swap serializer): the
list holds requests starting at or after ``starting_after`` (default now), soonest first, and never
deleted ones; a deleted (our cancelled) request is a 404 everywhere; creating names the
``beneficiary`` and taking the ``benefactor`` in the body; an impossible take is a 400 with
upstream's ``detail`` sentences. Unlike upstream, a single request is found by id whatever its
start (upstream's detail view inherits the list's "starts after now" filter by accident), so
taking a past-due request says why it cannot be taken instead of "Not found.".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, invalid, timestamp
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.deps import Db, Now, SchedulesRead, SchedulesWrite
from tocsin.api.errors import ApiError
from tocsin.db.models import SwapRequest
from tocsin.domain.actor import Tenant
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.pagination import Page
from tocsin.services.swaps import requests as swap_requests
from tocsin.services.swaps import takes as swap_takes

router = SlashRouter()

_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z")
_WRONG_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm:ssZ, "
    "YYYY-MM-DDThh:mm:ss.uuuuuuZ, YYYY-MM-DDThh:mm:ss[+HHMM|-HHMM], "
    "YYYY-MM-DDThh:mm:ss.uuuuuu[+HHMM|-HHMM]."
)
_REQUIRED = "This field is required."
_SAME_USER = "A shift swap request cannot be created and taken by the same user"
_NOT_OPEN = "The shift swap request is not in a state which allows it to be taken"
_PARTIAL_TIMES = (
    "when doing a partial update on time related fields, both start and end times must be specified"
)
# Our field names (and reasons) in the words of Grafana's serializer.
_FIELDS = {"start": "swap_start", "end": "swap_end", "description": "description"}
_WINDOW_MESSAGES = {
    ("start", "past"): "swap_start must be a datetime in the future",
    ("end", "before_start"): "swap_end must occur after swap_start",
}


def _status(swap: SwapRequest, now: datetime) -> str:
    """open | taken | past_due | deleted: our cancelled is Grafana's deleted."""
    status = swap_requests.status_at(swap, now)
    return "deleted" if status == swap_requests.CANCELLED else status


def _render(swap: SwapRequest, now: datetime) -> dict[str, Any]:
    return {
        "id": swap.id,
        "created_at": timestamp(swap.created_at),
        "updated_at": timestamp(swap.updated_at),
        "status": _status(swap, now),
        "schedule": swap.schedule_id,
        "swap_start": timestamp(swap.start),
        "swap_end": timestamp(swap.end),
        "description": swap.description,
        "beneficiary": swap.beneficiary_id,
        "benefactor": swap.benefactor_id,
    }


def _instant(value: Any, field: str) -> datetime:
    """Grafana's datetime fields: ISO 8601 with ``Z`` or an offset, never naive."""
    if isinstance(value, str):
        for pattern in _FORMATS:
            try:
                parsed = datetime.strptime(value.strip(), pattern)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # the literal Z
    raise invalid(field, _WRONG_FORMAT)


def _user_ref(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not value:
        raise ApiError("CONFLICT", f"{field} user ID is required")
    if not isinstance(value, str):
        raise ApiError("CONFLICT", f"Invalid {field} user ID")
    return value


@contextmanager
def _grafana_words(user_field: str) -> Iterator[None]:
    """The service's errors as Grafana's serializer and view word them (``CONFLICT`` renders as
    400 ``{"detail": ...}`` in this dialect)."""
    try:
        yield
    except Invalid as exc:
        field, reason = str(exc.details.get("field")), str(exc.details.get("reason"))
        if field == "user_id" and reason in ("not_found", "invalid"):
            raise ApiError("CONFLICT", f"Invalid {user_field} user ID") from None
        if field == "user_id" and reason == "same_user":
            raise ApiError("CONFLICT", _SAME_USER) from None
        if field == "user_id":
            raise invalid(user_field, exc.message) from None
        if (field, reason) in _WINDOW_MESSAGES:
            raise invalid("non_field_errors", _WINDOW_MESSAGES[field, reason]) from None
        raise invalid(_FIELDS.get(field, field), exc.message) from None
    except NotFound as exc:
        if exc.details.get("resource") == "schedule":
            raise invalid("schedule", "Object does not exist") from None
        raise
    except Conflict:
        if user_field == "benefactor":
            raise ApiError("CONFLICT", _NOT_OPEN) from None
        raise


def _visible(db: Db, tenant: Tenant, swap_id: str) -> None:
    """404 for an unknown or deleted (cancelled) request, as upstream's manager hides them."""
    with db.read() as session:
        swap = swap_requests.get_request(session=session, tenant=tenant, swap_id=swap_id)
        if swap.status == swap_requests.CANCELLED:
            raise NotFound("swap_request", swap_id)


@router.get("/shift_swaps")
def list_shift_swaps(request: Request, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    query = request.query_params
    raw_after = query.get("starting_after")
    after = _instant(raw_after, "starting_after") if raw_after else now
    open_only = query.get("open_only", "false") == "true"
    statuses = (
        (swap_requests.OPEN,)
        if open_only
        else (swap_requests.OPEN, swap_requests.TAKEN, swap_requests.PAST_DUE)
    )

    def single(name: str) -> tuple[str, ...]:
        value = query.get(name)
        return (value,) if value else ()

    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[SwapRequest]:
            return swap_requests.list_requests(
                session=session,
                tenant=key.tenant,
                now=now,
                schedule_ids=single("schedule_id"),
                statuses=statuses,
                beneficiary_ids=single("beneficiary"),
                benefactor_ids=single("benefactor"),
                starting_after=after,
                limit=limit,
                offset=offset,
            )

        return page_of(request, fetch, lambda swap: _render(swap, now))


@router.get("/shift_swaps/{swap_id}")
def get_shift_swap(swap_id: str, key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    _visible(db, key.tenant, swap_id)
    with db.read() as session:
        return _render(swap_requests.get_request(session=session, tenant=key.tenant, swap_id=swap_id), now)


def _required(body: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if body.get(field) in (None, ""):
            raise invalid(field, _REQUIRED)


@router.post("/shift_swaps", status_code=201)
def create_shift_swap(body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    _required(body, "schedule", "swap_start", "swap_end")
    start = _instant(body["swap_start"], "swap_start")
    end = _instant(body["swap_end"], "swap_end")
    if not isinstance(body["schedule"], str):
        raise invalid("schedule", "Invalid values")
    beneficiary = _user_ref(body, "beneficiary")
    with _grafana_words("beneficiary"), db.write() as session:
        swap = swap_requests.create_request(
            session=session,
            tenant=key.tenant,
            schedule_id=body["schedule"],
            beneficiary_id=beneficiary,
            start=start,
            end=end,
            description=body.get("description"),
            actor=key.actor,
            now=now,
        )
        return _render(swap, now)


def _update(
    body: dict[str, Any], swap_id: str, key: Any, db: Db, now: datetime, *, partial: bool
) -> dict[str, Any]:
    _visible(db, key.tenant, swap_id)
    if not partial:
        _required(body, "schedule", "swap_start", "swap_end")
    elif ("swap_start" in body) != ("swap_end" in body):
        raise invalid("non_field_errors", _PARTIAL_TIMES)
    changes: dict[str, Any] = {}
    if "swap_start" in body:
        changes["start"] = _instant(body["swap_start"], "swap_start")
        changes["end"] = _instant(body["swap_end"], "swap_end")
    if "description" in body:
        changes["description"] = body["description"]
    with _grafana_words("beneficiary"), db.write() as session:
        current = swap_requests.get_request(session=session, tenant=key.tenant, swap_id=swap_id)
        if "schedule" in body and body["schedule"] != current.schedule_id:
            raise invalid("schedule", "A shift swap request cannot move to another schedule")
        swap = swap_requests.update_request(
            session=session, tenant=key.tenant, swap_id=swap_id, changes=changes, actor=key.actor, now=now
        )
        return _render(swap, now)


@router.put("/shift_swaps/{swap_id}")
def replace_shift_swap(swap_id: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    return _update(body, swap_id, key, db, now, partial=False)


@router.patch("/shift_swaps/{swap_id}")
def patch_shift_swap(swap_id: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    return _update(body, swap_id, key, db, now, partial=True)


@router.delete("/shift_swaps/{swap_id}", status_code=204, response_class=Response)
def delete_shift_swap(swap_id: str, key: SchedulesWrite, db: Db, now: Now) -> Response:
    """Grafana's delete is our cancel: the request stays on the timeline as cancelled."""
    _visible(db, key.tenant, swap_id)
    with _grafana_words("beneficiary"), db.write() as session:
        swap_requests.cancel_request(
            session=session, tenant=key.tenant, swap_id=swap_id, actor=key.actor, now=now
        )
    return Response(status_code=204)


@router.post("/shift_swaps/{swap_id}/take")
def take_shift_swap(swap_id: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    _visible(db, key.tenant, swap_id)
    benefactor = _user_ref(body, "benefactor")
    with _grafana_words("benefactor"), db.write() as session:
        taken = swap_takes.take_request(
            session=session,
            tenant=key.tenant,
            swap_id=swap_id,
            benefactor_id=benefactor,
            actor=key.actor,
            now=now,
        )
        return _render(taken.swap, now)
