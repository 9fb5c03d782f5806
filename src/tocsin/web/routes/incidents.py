"""The Incidents screen (``/incidents``) and the Incident screen (``/incidents/{number}``).

Both read through ``services.incidents.views`` and act through the same services as the API
(``incidents.actions``, ``escalation.manual``, ``incidents.timeline``), with the API's org scoping,
its mode (the session's) and its messages; the person's role decides every button, and the POSTs
check it again. Each action is a plain form POST answered with a redirect back (PRG), so the screens
work without JavaScript; a refused action re-renders the screen with the message beside its form.

Live: ``/incidents/live`` and ``/incidents/{number}/live`` stream the rendered fragments (the list's
rows, the incident's facts and timeline) over SSE, one event per change at most once a second,
read once per tenant and view whatever the number of open tabs (``Broadcaster.shared``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from tocsin.domain.incident import Status
from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.errors import Conflict, Invalid, NotFound, ServiceError
from tocsin.services.escalation import manual
from tocsin.services.incidents import actions, records, timeline, views
from tocsin.services.incidents.records import IncidentQuery
from tocsin.web.csrf import CsrfChecked, token_for
from tocsin.web.live import Broadcaster
from tocsin.web.session import Person
from tocsin.web.templating import ENVIRONMENT, render_page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MIN_GAP_SECONDS = 1.0  # as /live/incidents: at most one event a second per stream
FILTERS = ("status", "urgency", "service_id", "team_id", "assignee_id", "created_after", "created_before")
ORDERING = ("sort", "order")
SNOOZES = {"15": 15, "60": 60, "240": 240}  # the Snooze choices, in minutes; "custom" reads a field
BULK = {"acknowledge": (Status.ACKNOWLEDGED, "Acknowledged"), "resolve": (Status.RESOLVED, "Resolved")}
SINGLE = {"acknowledge": Status.ACKNOWLEDGED, "resolve": Status.RESOLVED}

T = TypeVar("T")


class ListParams:
    """The list's URL: filters and order exactly as ``GET /api/incidents`` takes them, and the
    offset of the page. ``query`` raises ``Invalid`` for a bad value, with the API's message."""

    def __init__(self, params: Mapping[str, str]) -> None:
        raw = {name: params[name].strip() for name in (*FILTERS, *ORDERING) if params.get(name, "").strip()}
        # Spelled as the form spells them, so its selects show the URL's choice (the parser takes both).
        for name in ("status", "urgency"):
            if name in raw:
                raw[name] = raw[name].upper()
        for name in ORDERING:
            if name in raw:
                raw[name] = raw[name].lower()
        self.raw = raw
        self.offset_text = params.get("offset", "0")

    def query(self) -> IncidentQuery:
        return records.parse_query(**self.raw)

    def offset(self) -> int:
        text = self.offset_text.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 9:
            raise Invalid("offset", "invalid", f"offset must be a whole number of 0 or more, not {text!r}")
        return int(text)

    def url(self, path: str = "/incidents", **changes: str | int | None) -> str:
        values: dict[str, Any] = {**self.raw, "offset": self.offset_text}
        values.update(changes)
        kept = {name: value for name, value in values.items() if value not in (None, "", "0", 0)}
        return f"{path}?{urlencode(kept)}" if kept else path


def _fragment(template: str, context: Mapping[str, Any]) -> str:
    return ENVIRONMENT.get_template(template).render(context)


async def _in_read(request: Request, work: Callable[[Any], T]) -> T:
    db = request.app.state.db

    def run() -> T:
        with db.read() as session:
            return work(session)

    return await run_in_threadpool(run)


async def _in_write(request: Request, work: Callable[[Any], T]) -> T:
    db = request.app.state.db

    def run() -> T:
        with db.write() as session:
            return work(session)

    return await run_in_threadpool(run)


def _common(request: Request, person: SignedIn) -> dict[str, Any]:
    return {
        "nav": True,
        "person": person,
        "zone": person.time_zone,
        "now": request.app.state.clock.now(),
        "can_act": person.can(Action.RESPOND),
        "csrf": token_for(request),
    }


def _require(person: SignedIn, action: Action) -> None:
    if not person.can(action):
        raise HTTPException(403, "Your role may not do this.")


# -- the list -------------------------------------------------------------------------------


@router.get("/incidents", response_class=HTMLResponse)
async def incident_list(request: Request, person: Person) -> Response:
    _require(person, Action.READ)
    params = ListParams(request.query_params)
    context = _common(request, person)
    context.update(params=params, error=None, page=None, query=IncidentQuery(), options=None, done=None)
    try:
        query, offset = params.query(), params.offset()
    except Invalid as error:
        context["error"] = error
        return render_page(request, "incidents/list.html", context, status=400)
    context["query"] = query

    def read(session: Any) -> tuple[views.ListPage, views.FilterChoices]:
        page = views.list_page(
            session=session, tenant=person.tenant, query=query, limit=PAGE_SIZE, offset=offset
        )
        return page, views.filter_choices(session=session, tenant=person.tenant)

    page, choices = await _in_read(request, read)
    context["page"] = page
    context["options"] = {
        name: [(item.id, item.name) for item in getattr(choices, name)]
        for name in ("services", "teams", "people")
    }
    context["done"] = _done_notice(request)
    return render_page(request, "incidents/list.html", context)


def _done_notice(request: Request) -> str | None:
    """The bulk action's outcome after its redirect: words built here from a verb and counts, so a
    crafted URL can say nothing but "Acknowledged 3 incidents"."""
    verb = BULK.get(request.query_params.get("done", ""))
    count = request.query_params.get("n", "")
    if verb is None or not count.isdigit():
        return None
    plural = "incident" if count == "1" else "incidents"
    skipped = request.query_params.get("skipped", "")
    extra = f"; {skipped} could not be" if skipped.isdigit() and skipped != "0" else ""
    return f"{verb[1]} {count} {plural}{extra}."


async def _stream_query(request: Request, person: Person) -> tuple[SignedIn, ListParams, IncidentQuery, int]:
    """The list stream's checks, run before its response starts (a stream cannot answer 400 once
    it has begun): the person may read, and the URL's filters parse."""
    _require(person, Action.READ)
    params = ListParams(request.query_params)
    try:
        return person, params, params.query(), params.offset()
    except Invalid as error:
        raise HTTPException(400, error.message) from None


@router.get("/incidents/live", response_class=EventSourceResponse)
async def list_stream(
    request: Request,
    checked: Annotated[tuple[SignedIn, ListParams, IncidentQuery, int], Depends(_stream_query)],
) -> AsyncIterator[ServerSentEvent]:
    """The list's rows for the page's own URL (filters, order, offset), rendered; the first event
    re-renders everything, so a reconnecting page is whole again at once."""
    person, params, query, offset = checked
    broadcaster: Broadcaster = request.app.state.live
    tenant = person.tenant
    context = _common(request, person)
    key = f"incident-list:{params.url()}:{person.time_zone}:{context['can_act']}"

    async def read() -> str:
        page = await _in_read(
            request,
            lambda session: views.list_page(
                session=session, tenant=tenant, query=query, limit=PAGE_SIZE, offset=offset
            ),
        )
        now = request.app.state.clock.now()
        return _fragment("incidents/_rows.html", {**context, "now": now, "page": page, "params": params})

    with broadcaster.subscribe(tenant) as subscription:
        while not broadcaster.closing:
            # Every event is the whole page of rows, so a refresh and a change read the same.
            rows = await broadcaster.shared(tenant, key, read)
            yield ServerSentEvent(event="rows", raw_data=rows, retry=2000)
            await asyncio.sleep(MIN_GAP_SECONDS)
            await subscription.next()
            if broadcaster.closing:
                return


@router.get("/incidents/find")
async def find(request: Request, person: Person) -> Response:
    """The search box: an incident's number (``42`` or ``#42``) opens it."""
    _require(person, Action.READ)
    number = request.query_params.get("number", "").strip().removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 10:
        return RedirectResponse(f"/incidents/{int(number)}", status_code=303)
    context = _common(request, person)
    error = Invalid("number", "invalid", "Type an incident's number, such as 42.")
    context.update(
        params=ListParams({}), error=error, page=None, query=IncidentQuery(), done=None, options=None
    )
    return render_page(request, "incidents/list.html", context, status=400)


@router.post("/incidents/bulk")
async def bulk(request: Request, person: CsrfChecked) -> Response:
    """Acknowledge or resolve the selected incidents, in one transaction; one already past the
    action (resolved, say) is skipped and counted, not a failure of the rest."""
    _require(person, Action.RESPOND)
    form = await request.form()
    verb = str(form.get("action", ""))
    chosen = [str(value) for value in form.getlist("incident") if isinstance(value, str) and value]
    back = _back(str(form.get("back", "")))
    target = BULK.get(verb)
    if target is None:
        return _bulk_refused(request, person, "Choose Acknowledge or Resolve.")
    if not chosen:
        return _bulk_refused(
            request, person, "Select at least one incident, then press Acknowledge or Resolve."
        )
    paging, now = request.app.state.paging, request.app.state.clock.now()

    def work(session: Any) -> tuple[int, int]:
        done = skipped = 0
        for ref in dict.fromkeys(chosen):
            try:
                actions.act(
                    session=session,
                    tenant=person.tenant,
                    ref=ref,
                    target=target[0],
                    actor=person.actor,
                    now=now,
                    paging=paging,
                )
                done += 1
            except (Conflict, NotFound):
                skipped += 1
        return done, skipped

    done, skipped = await _in_write(request, work)
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}{urlencode({'done': verb, 'n': done, 'skipped': skipped})}", 303)


def _back(raw: str) -> str:
    """Where a form goes back to: a list URL of this server, never another site."""
    return raw if raw.startswith("/incidents") and not raw.startswith("//") else "/incidents"


def _bulk_refused(request: Request, person: SignedIn, message: str) -> Response:
    context = _common(request, person)
    context.update(
        params=ListParams({}),
        error=Invalid("incident", "required", message),
        page=None,
        query=IncidentQuery(),
        done=None,
        options=None,
    )
    return render_page(request, "incidents/list.html", context, status=400)


# -- one incident ---------------------------------------------------------------------------


async def _detail(request: Request, person: SignedIn, number: str) -> views.IncidentDetail:
    try:
        return await _in_read(
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
    context = _common(request, person)
    context.update(incident=incident, errors=errors or {}, snoozes=SNOOZES)
    return render_page(request, "incidents/detail.html", context, status=status)


@router.get("/incidents/{number}", response_class=HTMLResponse)
async def incident_page(number: str, request: Request, person: Person) -> Response:
    _require(person, Action.READ)
    return await _detail_page(request, person, number)


async def _stream_incident(number: str, request: Request, person: Person) -> SignedIn:
    """Before the stream starts: the person may read, and the incident is the tenant's (404)."""
    _require(person, Action.READ)
    await _detail(request, person, number)
    return person


@router.get("/incidents/{number}/live", response_class=EventSourceResponse)
async def incident_stream(
    number: str, request: Request, person: Annotated[SignedIn, Depends(_stream_incident)]
) -> AsyncIterator[ServerSentEvent]:
    """The incident's facts and timeline, rendered, on each change of the tenant."""
    broadcaster: Broadcaster = request.app.state.live
    tenant = person.tenant
    context = _common(request, person)

    async def read() -> tuple[str, str]:
        incident = await _detail(request, person, number)
        values = {**context, "now": request.app.state.clock.now(), "incident": incident}
        return _fragment("incidents/_facts.html", values), _fragment("incidents/_timeline.html", values)

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
    _require(person, Action.RESPOND)
    try:
        await _in_write(request, work)
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
