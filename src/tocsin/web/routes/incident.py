"""The Incident screen (``/incidents/{number}``) and its actions.

Each action (Acknowledge, Resolve, Snooze, Escalate, Reassign, Add note) is a plain form POST with
the session's CSRF token, through the same services as the API (``incidents.actions``,
``escalation.manual``, ``incidents.timeline``) with its org scoping, mode and messages; it is
answered 303 back to the incident (PRG), or with the screen again and the service's message beside
the form (400 for bad input, 409 for a state that forbids it). Another org's number is the 404
page, as on the API. ``/incidents/{number}/live`` streams the facts and the timeline, rendered,
which htmx's SSE extension swaps in place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from tocsin.domain.incident import Status
from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.errors import Conflict, Invalid, NotFound, ServiceError
from tocsin.services.escalation import manual
from tocsin.services.incidents import actions, records, timeline, views
from tocsin.web.csrf import CsrfChecked
from tocsin.web.live import Broadcaster
from tocsin.web.permissions import require
from tocsin.web.screen import MIN_GAP_SECONDS, common, fragment, in_read, in_write
from tocsin.web.session import Person
from tocsin.web.templating import render_page

router = APIRouter(include_in_schema=False)

SNOOZES = {"15": 15, "60": 60, "240": 240}  # the Snooze choices, in minutes; "custom" reads a field
SINGLE = {"acknowledge": Status.ACKNOWLEDGED, "resolve": Status.RESOLVED}


async def _detail(request: Request, person: SignedIn, number: str) -> views.IncidentDetail:
    try:
        return await in_read(
            request, lambda session: views.detail(session=session, tenant=person.tenant, ref=number)
        )
    except NotFound:
        raise HTTPException(404) from None


async def _detail_page(
    request: Request,
    person: SignedIn,
    number: str,
    *,
    errors: Mapping[str, ServiceError] | None = None,
    status: int = 200,
) -> Response:
    incident = await _detail(request, person, number)
    context = common(request, person)
    context.update(incident=incident, errors=errors or {}, snoozes=SNOOZES)
    return render_page(request, "incidents/detail.html", context, status=status)


@router.get("/incidents/{number}", response_class=HTMLResponse)
async def incident_page(number: str, request: Request, person: Person) -> Response:
    require(person, Action.READ)
    return await _detail_page(request, person, number)


async def _stream_incident(number: str, request: Request, person: Person) -> SignedIn:
    """Before the stream starts: the person may read, and the incident is the tenant's (404)."""
    require(person, Action.READ)
    await _detail(request, person, number)
    return person


@router.get("/incidents/{number}/live", response_class=EventSourceResponse)
async def incident_stream(
    number: str, request: Request, person: Annotated[SignedIn, Depends(_stream_incident)]
) -> AsyncIterator[ServerSentEvent]:
    """The incident's facts and timeline, rendered, on each change of the tenant."""
    broadcaster: Broadcaster = request.app.state.live
    tenant = person.tenant
    context = common(request, person)

    async def read() -> tuple[str, str]:
        incident = await _detail(request, person, number)
        values = {**context, "now": request.app.state.clock.now(), "incident": incident}
        return fragment("incidents/_facts.html", values), fragment("incidents/_timeline.html", values)

    with broadcaster.subscribe(tenant) as subscription:
        while not broadcaster.closing:
            facts, entries = await broadcaster.shared(tenant, f"incident:{number}:{person.time_zone}", read)
            yield ServerSentEvent(event="facts", raw_data=facts, retry=2000)
            yield ServerSentEvent(event="timeline", raw_data=entries)
            await asyncio.sleep(MIN_GAP_SECONDS)
            await subscription.next()
            if broadcaster.closing:
                return


async def _act(
    request: Request, person: SignedIn, number: str, form_name: str, work: Callable[[Any], object]
) -> Response:
    """Run one action and go back to the incident (303), or show it again with the service's
    message beside the form (400 for bad input, 409 for a state that forbids it)."""
    require(person, Action.RESPOND)
    try:
        await in_write(request, work)
    except NotFound:
        raise HTTPException(404) from None  # the only lookup by path: the incident itself
    except (Invalid, Conflict) as error:
        status = 409 if isinstance(error, Conflict) else 400
        return await _detail_page(request, person, number, errors={form_name: error}, status=status)
    return RedirectResponse(f"/incidents/{number}", status_code=303)


@router.post("/incidents/{number}/acknowledge")
async def acknowledge(number: str, request: Request, person: CsrfChecked) -> Response:
    return await _state(request, person, number, "acknowledge")


@router.post("/incidents/{number}/resolve")
async def resolve(number: str, request: Request, person: CsrfChecked) -> Response:
    return await _state(request, person, number, "resolve")


async def _state(request: Request, person: SignedIn, number: str, verb: str) -> Response:
    paging, now = request.app.state.paging, request.app.state.clock.now()
    return await _act(
        request,
        person,
        number,
        "status",
        lambda session: actions.act(
            session=session,
            tenant=person.tenant,
            ref=number,
            target=SINGLE[verb],
            actor=person.actor,
            now=now,
            paging=paging,
        ),
    )


def _minutes(form: Mapping[str, Any]) -> int:
    """The Snooze form's duration: one of the choices, or the custom number of minutes."""
    choice = str(form.get("duration", "") or "")
    if choice in SNOOZES:
        return SNOOZES[choice]
    if choice != "custom":
        raise Invalid("duration", "invalid", "Choose how long to snooze: 15 min, 1 h, 4 h or custom.")
    text = str(form.get("minutes", "") or "").strip()
    if not text:
        raise Invalid("duration_minutes", "required", "Enter the number of minutes to snooze for.")
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 9:
        raise Invalid("duration_minutes", "int_type", "duration_minutes must be a whole number of minutes")
    return int(text)


@router.post("/incidents/{number}/snooze")
async def snooze(number: str, request: Request, person: CsrfChecked) -> Response:
    form = await request.form()
    paging, now = request.app.state.paging, request.app.state.clock.now()

    def work(session: Any) -> object:
        until = actions.snooze_until(now=now, until=None, duration_minutes=_minutes(form))
        return actions.act(
            session=session,
            tenant=person.tenant,
            ref=number,
            target=Status.SNOOZED,
            actor=person.actor,
            now=now,
            snoozed_until=until,
            paging=paging,
        )

    return await _act(request, person, number, "snooze", work)


@router.post("/incidents/{number}/escalate")
async def escalate(number: str, request: Request, person: CsrfChecked) -> Response:
    form = await request.form()
    paging, now = request.app.state.paging, request.app.state.clock.now()
    raw = str(form.get("level", "") or "").strip()

    def work(session: Any) -> object:
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
            raise Invalid("level", "int_type", "level must be a whole number (1 is the first level)")
        return manual.escalate(
            session=session,
            tenant=person.tenant,
            ref=number,
            level=int(raw) if raw else None,
            actor=person.actor,
            now=now,
            paging=paging,
        )

    return await _act(request, person, number, "escalate", work)


@router.post("/incidents/{number}/reassign")
async def reassign(number: str, request: Request, person: CsrfChecked) -> Response:
    """To a person (``user_id``) or to an escalation policy (``escalation_policy_id``), one of
    the two, as the API's ``reassign`` takes them."""
    form = await request.form()
    paging, now = request.app.state.paging, request.app.state.clock.now()
    user_id = str(form.get("user_id", "") or "").strip()
    policy_id = str(form.get("escalation_policy_id", "") or "").strip() or None

    def work(session: Any) -> object:
        return manual.reassign(
            session=session,
            tenant=person.tenant,
            ref=number,
            user_ids=[user_id] if user_id else [],
            escalation_policy_id=policy_id,
            actor=person.actor,
            now=now,
            paging=paging,
        )

    return await _act(request, person, number, "reassign", work)


@router.post("/incidents/{number}/notes")
async def add_note(number: str, request: Request, person: CsrfChecked) -> Response:
    form = await request.form()
    now = request.app.state.clock.now()
    content = form.get("content")

    def work(session: Any) -> object:
        if not isinstance(content, str):
            raise Invalid("content", "required", "a note needs some content")
        incident = records.get_incident(session=session, tenant=person.tenant, ref=number)
        return timeline.add_note(
            session=session, incident=incident, content=content, actor=person.actor, now=now
        )

    return await _act(request, person, number, "note", work)
