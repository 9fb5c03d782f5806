"""``/schedules`` and ``/schedules/{id}``: read-only (the editor is the admin screens' part).

A schedule's page shows its final schedule for one week, day by day in the viewer's time zone:
who is on call, and whether each span comes from a rotation layer or an override, told by a word
and a pattern as well as a colour. ``?week=YYYY-MM-DD`` picks the week (its Monday in the
viewer's zone); prev/next links move by a week. Another org's schedule id is a 404, as in the
API (``services.schedules`` reads every id within the signed-in person's tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from tocsin.services.errors import NotFound
from tocsin.services.schedules import oncall
from tocsin.services.schedules.schedules import get_schedule, list_schedules
from tocsin.web.screen import in_read
from tocsin.web.session import Person
from tocsin.web.templating import render_page
from tocsin.web.times import zone

router = APIRouter(include_in_schema=False)

MAX_SCHEDULES: Final = 200
WEEK: Final = timedelta(days=7)
DAY_SECONDS: Final = 24 * 3600


@dataclass(frozen=True, slots=True)
class Segment:
    """One span of a day: who, from where (layer or override), placed on the day's 24 hours."""

    who: str
    gap: bool  # nobody on call: a page to this schedule reaches no one
    source: str  # the layer's name, or "Override"
    override: bool
    layer_index: int  # which rotation layer (for its pattern); -1 for an override
    start: datetime
    end: datetime
    left: float  # percent of the day
    width: float


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    segments: list[Segment]


def week_start(text: str | None, today: date) -> date:
    """The Monday of the week holding ``text`` (a date), or of today; a bad date is today's week."""
    try:
        chosen = date.fromisoformat(text) if text else today
    except ValueError:
        chosen = today
    return chosen - timedelta(days=chosen.weekday())


def _with_gaps(segments: list[Segment], start: datetime, end: datetime, length: float) -> list[Segment]:
    """The day's segments with a "Nobody on call" segment in each hole between them."""
    found: list[Segment] = []
    cursor = start
    for segment in [*segments, None]:
        until = end if segment is None else segment.start
        if until > cursor:
            left = round((cursor - start).total_seconds() / length * 100, 3)
            width = round((until - cursor).total_seconds() / length * 100, 3)
            found.append(Segment("Nobody on call", True, "Gap", False, -1, cursor, until, left, width))
        if segment is not None:
            found.append(segment)
            cursor = max(cursor, segment.end)
    return found


def days_of(entries: list[oncall.ShiftEntry], monday: date, viewer: str, layers: list[str]) -> list[Day]:
    """The week's shifts cut at the viewer's midnights, each placed on its day's bar."""
    where = zone(viewer)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        # In UTC: aware datetimes sharing one tzinfo subtract as wall clocks, and a day with a DST
        # change lasts 23 or 25 hours, not 24.
        start = datetime.combine(day, time(), where).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), where).astimezone(UTC)
        length = (end - start).total_seconds() or DAY_SECONDS
        segments = []
        for entry in entries:
            a, b = max(entry.start, start), min(entry.end, end)
            if a >= b:
                continue
            layer = entry.layer.name if entry.layer else "Override"
            index = layers.index(entry.layer.id) if entry.layer and entry.layer.id in layers else -1
            segments.append(
                Segment(
                    entry.user.name,
                    False,
                    layer,
                    entry.layer is None,
                    index,
                    a,
                    b,
                    round((a - start).total_seconds() / length * 100, 3),
                    round((b - a).total_seconds() / length * 100, 3),
                )
            )
        segments.sort(key=lambda s: s.start)
        days.append(Day(day, _with_gaps(segments, start, end, length)))
    return days


@router.get("/schedules", response_class=HTMLResponse)
async def index(request: Request, person: Person) -> HTMLResponse:
    now = request.app.state.clock.now()

    def read(session: Any) -> list[dict[str, Any]]:
        schedules = list_schedules(session=session, tenant=person.tenant, limit=MAX_SCHEDULES, offset=0).items
        page = oncall.oncalls(session=session, tenant=person.tenant, at=now, limit=10_000, offset=0)
        now_by: dict[str, list[str]] = {}
        for entry in page.items:
            now_by.setdefault(entry.schedule.id, []).append(entry.user.name)
        return [
            {"id": s.id, "name": s.name, "time_zone": s.time_zone, "now": now_by.get(s.id, [])}
            for s in schedules
        ]

    rows = await in_read(request, read)
    return render_page(
        request, "schedules/index.html", {"title": "Schedules", "nav": True, "schedules": rows}
    )


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse)
async def show(request: Request, person: Person, schedule_id: str) -> HTMLResponse:
    viewer = person.time_zone
    today = request.app.state.clock.now().astimezone(zone(viewer)).date()
    monday = week_start(request.query_params.get("week"), today)
    since = datetime.combine(monday, time(), zone(viewer))
    until = datetime.combine(monday + WEEK, time(), zone(viewer))

    def read(session: Any) -> dict[str, Any]:
        schedule = get_schedule(session=session, tenant=person.tenant, schedule_id=schedule_id)
        entries = oncall.shifts(
            session=session, tenant=person.tenant, schedule_id=schedule.id, since=since, until=until
        )
        layers = [
            {"id": layer.id, "name": layer.name}
            for layer in sorted(schedule.layers, key=lambda layer: layer.position)
        ]
        return {
            "schedule": {"id": schedule.id, "name": schedule.name, "time_zone": schedule.time_zone},
            "layers": layers,
            "entries": entries,
        }

    try:
        values = await in_read(request, read)
    except NotFound:
        raise HTTPException(404) from None
    layer_ids = [layer["id"] for layer in values["layers"]]
    return render_page(
        request,
        "schedules/show.html",
        {
            "title": values["schedule"]["name"],
            "nav": True,
            "schedule": values["schedule"],
            "layers": values["layers"],
            "days": days_of(values["entries"], monday, viewer, layer_ids),
            "overrides": [e for e in values["entries"] if e.layer is None],
            "monday": monday,
            "prev_week": (monday - WEEK).isoformat(),
            "next_week": (monday + WEEK).isoformat(),
            "this_week": week_start(None, today),
            "viewer_zone": viewer,
        },
    )
