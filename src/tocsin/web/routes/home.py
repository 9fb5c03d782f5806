"""Home (``/``): what a person opening Tocsin at 3 am wants first. Who is on call now on each
schedule, and whom each service would page first; their own next shifts; their open incidents;
how many incidents there are in each status (each count links to the list filtered by it).

Everything is read in one read transaction through the same services the API uses, for the
signed-in person's tenant only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tocsin.domain.incident import Status
from tocsin.domain.schedule import ON_CALL_HORIZON
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.catalog.first_responders import FirstResponders, first_responders
from tocsin.services.incidents import records
from tocsin.services.schedules import oncall
from tocsin.services.schedules.oncall import ShiftEntry
from tocsin.services.schedules.schedules import list_schedules
from tocsin.web.session import Person
from tocsin.web.templating import render_page

router = APIRouter(include_in_schema=False)

SHIFTS_AHEAD = timedelta(days=28)  # "my shifts" looks four weeks ahead, as the On call screen does
MY_INCIDENTS = 10
SCHEDULES_SHOWN = 100
# Statuses in the order a responder reads them: what needs someone first.
COUNTED = (Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED, Status.SUPPRESSED, Status.RESOLVED)
NOT_DONE = (Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED)


@dataclass(frozen=True, slots=True)
class ScheduleNow:
    id: str
    name: str
    time_zone: str
    shifts: tuple[ShiftEntry, ...]  # who is on call now, with the end of their shift


@dataclass(frozen=True, slots=True)
class Board:
    counts: dict[str, int]
    schedules: list[ScheduleNow]
    services: list[FirstResponders]
    my_shifts: list[ShiftEntry]
    zones: dict[str, str]  # schedule id → its time zone (shown on hover)
    my_incidents: list[dict[str, Any]]
    my_incident_total: int
    # A shift that runs to the end of what was computed has no handoff in sight (one person alone
    # in a rotation): the screen says so rather than show the computation's horizon as an end.
    open_end: datetime
    shifts_end: datetime  # the same for "my next shifts", computed four weeks ahead


def read_board(request: Request, person: SignedIn) -> Board:
    """The home screen's data, in one read transaction (run it in a worker thread)."""
    tenant, now = person.tenant, request.app.state.clock.now()
    with request.app.state.db.read() as session:
        counts = records.status_counts(session=session, tenant=tenant)
        schedules = list_schedules(session=session, tenant=tenant, limit=SCHEDULES_SHOWN, offset=0).items
        zones = {schedule.id: schedule.time_zone for schedule in schedules}
        now_on = oncall.oncalls(session=session, tenant=tenant, at=now, limit=10_000, offset=0).items
        by_schedule: dict[str, list[ShiftEntry]] = {}
        for entry in now_on:
            by_schedule.setdefault(entry.schedule.id, []).append(entry)
        mine = records.list_incidents(
            session=session,
            tenant=tenant,
            filters=records.IncidentFilters(statuses=NOT_DONE, assignee_ids=(person.user_id,)),
            limit=MY_INCIDENTS,
            offset=0,
        )
        return Board(
            counts=counts,
            schedules=[
                ScheduleNow(s.id, s.name, s.time_zone, tuple(by_schedule.get(s.id, ()))) for s in schedules
            ],
            services=first_responders(session=session, tenant=tenant, at=now),
            my_shifts=oncall.shifts_of_user(
                session=session, tenant=tenant, user_id=person.user_id, since=now, until=now + SHIFTS_AHEAD
            ),
            zones=zones,
            my_incidents=[
                {
                    "number": row.number,
                    "title": row.title,
                    "status": row.status,
                    "urgency": row.urgency,
                    "created_at": row.created_at,
                }
                for row in mine.items
            ],
            my_incident_total=mine.total,
            open_end=now + ON_CALL_HORIZON - timedelta(minutes=1),
            shifts_end=now + SHIFTS_AHEAD - timedelta(minutes=1),
        )


@router.get("/")
async def home(request: Request, person: Person) -> Response:
    board = await run_in_threadpool(read_board, request, person)
    context = {"title": "Home", "nav": True, "board": board, "counted": COUNTED}
    return render_page(request, "home.html", context)
