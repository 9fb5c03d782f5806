"""``/oncall``: who is on call now and next, per schedule and per service (each escalation level
as a page would resolve it now); "Just me" in the URL (``?mine=1``); my shifts across every
schedule for the next four weeks; and the shift actions where the role allows them.

The actions are the API's services, as form POSTs with the CSRF field:

- **Take shift** beside someone on call now: ``schedules.overrides.take_shift`` (an override for
  me from now to the end of their shift, Splunk On-Call's "take");
- **Take shift** on someone's open cover request: ``swaps.takes.take_request`` (one of two
  takers wins, the other reads why);
- **Ask for cover** on a shift of mine not begun yet: ``swaps.requests.create_request``, and
  **Cancel request** on my open one.

Everything shown comes from one snapshot per schedule over the four weeks
(``oncall.load_snapshots``), so "now", "next" and "my shifts" cannot disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.catalog.on_call import services_on_call
from tocsin.services.errors import ServiceError, status_of
from tocsin.services.schedules import oncall
from tocsin.services.schedules.oncall import ShiftEntry
from tocsin.services.schedules.overrides import take_shift
from tocsin.services.schedules.schedules import list_schedules
from tocsin.services.swaps import requests as swaps
from tocsin.services.swaps.takes import take_request
from tocsin.web.csrf import CsrfChecked
from tocsin.web.permissions import require
from tocsin.web.screen import in_read, in_write
from tocsin.web.session import Person
from tocsin.web.templating import render_page

router = APIRouter(include_in_schema=False)

AHEAD: Final = timedelta(days=28)  # "my shifts": the next four weeks
BEHIND: Final = timedelta(days=1)  # how far back a current shift's start is shown
MAX_SCHEDULES: Final = 200
MAX_REQUESTS: Final = 50
DONE: Final = {
    "taken": "Shift taken: you are on call for it now.",
    "took": "Shift taken: you cover that request.",
    "asked": "Cover requested. Others see it here and can take it.",
    "cancelled": "Request cancelled.",
}


@dataclass(frozen=True, slots=True)
class ScheduleView:
    id: str
    name: str
    time_zone: str
    now: list[ShiftEntry]
    next: list[ShiftEntry]


def _reader(person: SignedIn, now: datetime) -> Callable[[Any], dict[str, Any]]:
    tenant, me = person.tenant, person.user_id

    def read(session: Any) -> dict[str, Any]:
        schedules = list_schedules(session=session, tenant=tenant, limit=MAX_SCHEDULES, offset=0).items
        snapshots = oncall.load_snapshots(
            session=session, tenant=tenant, schedules=schedules, since=now - BEHIND, until=now + AHEAD
        )
        zones = {s.id: s.time_zone for s in schedules}
        views, mine = [], []
        for snapshot in snapshots:
            entries = snapshot.entries(snapshot.final(now - BEHIND, now + AHEAD))
            current = [e for e in entries if e.start <= now < e.end]
            # Next is the handover: the first shift after now of someone not on call now (the
            # same person carrying on past an override is not a handover).
            holding = {e.user.id for e in current}
            later = [e for e in entries if e.start > now and e.user.id not in holding]
            first = min((e.start for e in later), default=None)
            views.append(
                ScheduleView(
                    snapshot.schedule.id,
                    snapshot.schedule.name,
                    zones[snapshot.schedule.id],
                    current,
                    [e for e in later if e.start == first],
                )
            )
            mine += [e for e in entries if e.user.id == me and e.end > now]
        open_requests = swaps.list_requests(
            session=session, tenant=tenant, now=now, statuses=(swaps.OPEN,), limit=MAX_REQUESTS, offset=0
        ).items
        names = swaps.people(session=session, tenant=tenant, swaps=open_requests)
        schedule_names = {s.id: s.name for s in schedules}
        return {
            "schedules": views,
            "services": services_on_call(session=session, tenant=tenant, at=now),
            "my_shifts": sorted(mine, key=lambda e: (e.start, e.schedule.name)),
            "requests": [
                {
                    "id": r.id,
                    "schedule": schedule_names.get(r.schedule_id, r.schedule_id),
                    "time_zone": zones.get(r.schedule_id),
                    "who": names[r.beneficiary_id].name if r.beneficiary_id in names else r.beneficiary_id,
                    "mine": r.beneficiary_id == me,
                    "start": r.start,
                    "end": r.end,
                    "description": r.description,
                }
                for r in open_requests
            ],
            "asked": {(r.schedule_id, r.start, r.end) for r in open_requests if r.beneficiary_id == me},
            "zones": zones,
        }

    return read


def _instant(text: str) -> datetime | str:
    """A form's RFC 3339 text as a datetime; anything else stays text, for the service's message."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return text


async def _page(
    request: Request, person: SignedIn, *, problem: str | None = None, status: int = 200
) -> HTMLResponse:
    now = request.app.state.clock.now()
    values = await in_read(request, _reader(person, now))
    just_me = request.query_params.get("mine") == "1"
    if just_me:
        values["schedules"] = [
            s for s in values["schedules"] if any(e.user.id == person.user_id for e in s.now + s.next)
        ]
        values["services"] = [
            s for s in values["services"] if any(p.id == person.user_id for lv in s.levels for p in lv.people)
        ]
    return render_page(
        request,
        "oncall/page.html",
        {
            **values,
            "title": "On call",
            "nav": True,
            "person": person,
            "me": person.user_id,
            "viewer_zone": person.time_zone,
            "now": now,
            "just_me": just_me,
            "can_take": person.can(Action.TAKE_SHIFT),
            "notice": None if problem else DONE.get(request.query_params.get("done", "")),
            "problem": problem,
        },
        status=status,
    )


async def _act(request: Request, person: SignedIn, work: Callable[[Any], object], done: str) -> Response:
    require(person, Action.TAKE_SHIFT)
    try:
        await in_write(request, work)
    except ServiceError as error:
        return await _page(request, person, problem=error.message, status=status_of(error))
    return RedirectResponse(f"/oncall?done={done}", status_code=303)


@router.get("/oncall", response_class=HTMLResponse)
async def show(request: Request, person: Person) -> HTMLResponse:
    return await _page(request, person)


@router.post("/oncall/take")
async def take(
    request: Request, person: CsrfChecked, schedule_id: str = Form(""), from_user_id: str = Form("")
) -> Response:
    """I cover from now to the end of the shift ``from_user_id`` is in."""

    def work(session: Any) -> object:
        return take_shift(
            session=session,
            tenant=person.tenant,
            schedule_id=schedule_id,
            user_id=person.user_id,
            from_user_id=from_user_id,
            actor=person.actor,
            now=request.app.state.clock.now(),
        )

    return await _act(request, person, work, "taken")


@router.post("/oncall/swap-requests")
async def ask(
    request: Request,
    person: CsrfChecked,
    schedule_id: str = Form(""),
    start: str = Form(""),
    end: str = Form(""),
    description: str = Form(""),
) -> Response:
    def work(session: Any) -> object:
        return swaps.create_request(
            session=session,
            tenant=person.tenant,
            schedule_id=schedule_id,
            beneficiary_id=person.user_id,
            start=_instant(start),
            end=_instant(end),
            description=description or None,
            actor=person.actor,
            now=request.app.state.clock.now(),
        )

    return await _act(request, person, work, "asked")


@router.post("/oncall/swap-requests/{swap_id}/take")
async def take_swap(request: Request, person: CsrfChecked, swap_id: str) -> Response:
    def work(session: Any) -> object:
        return take_request(
            session=session,
            tenant=person.tenant,
            swap_id=swap_id,
            benefactor_id=person.user_id,
            actor=person.actor,
            now=request.app.state.clock.now(),
        )

    return await _act(request, person, work, "took")


@router.post("/oncall/swap-requests/{swap_id}/cancel")
async def cancel_swap(request: Request, person: CsrfChecked, swap_id: str) -> Response:
    def work(session: Any) -> object:
        return swaps.cancel_request(
            session=session,
            tenant=person.tenant,
            swap_id=swap_id,
            actor=person.actor,
            now=request.app.state.clock.now(),
        )

    return await _act(request, person, work, "cancelled")
