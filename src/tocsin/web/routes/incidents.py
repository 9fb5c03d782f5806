"""The Incidents screen (``/incidents``): the org's incidents, filtered and ordered by the URL
exactly as ``GET /api/incidents`` is (one parser, ``records.parse_query``, so a bad value gets the
API's message), in pages of 25, live, with Acknowledge and Resolve on a selection.

It works without JavaScript: the list is a page, the selection a form POSTed to ``/incidents/bulk``
and answered with a redirect back (PRG). With it, ``/incidents/live`` streams the rows rendered for
the page's own URL over SSE (``static/incidents.js`` puts them in place), one event per change at
most once a second, read once per tenant and URL whatever the number of open tabs
(``Broadcaster.shared``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from tocsin.domain.incident import Status
from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.incidents import actions, records, views
from tocsin.services.incidents.records import IncidentQuery
from tocsin.web.csrf import CsrfChecked
from tocsin.web.live import Broadcaster
from tocsin.web.permissions import require
from tocsin.web.screen import MIN_GAP_SECONDS, common, fragment, in_read, in_write
from tocsin.web.session import Person
from tocsin.web.templating import render_page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
FILTERS = ("status", "urgency", "service_id", "team_id", "assignee_id", "created_after", "created_before")
ORDERING = ("sort", "order")
BULK = {"acknowledge": (Status.ACKNOWLEDGED, "Acknowledged"), "resolve": (Status.RESOLVED, "Resolved")}


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


@router.get("/incidents", response_class=HTMLResponse)
async def incident_list(request: Request, person: Person) -> Response:
    require(person, Action.READ)
    params = ListParams(request.query_params)
    context = common(request, person)
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

    page, choices = await in_read(request, read)
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
    require(person, Action.READ)
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
    context = common(request, person)
    key = f"incident-list:{params.url()}:{person.time_zone}:{context['can_act']}"

    async def read() -> str:
        page = await in_read(
            request,
            lambda session: views.list_page(
                session=session, tenant=tenant, query=query, limit=PAGE_SIZE, offset=offset
            ),
        )
        now = request.app.state.clock.now()
        return fragment("incidents/_rows.html", {**context, "now": now, "page": page, "params": params})

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
    require(person, Action.READ)
    number = request.query_params.get("number", "").strip().removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 10:
        return RedirectResponse(f"/incidents/{int(number)}", status_code=303)
    context = common(request, person)
    error = Invalid("number", "invalid", "Type an incident's number, such as 42.")
    context.update(
        params=ListParams({}), error=error, page=None, query=IncidentQuery(), done=None, options=None
    )
    return render_page(request, "incidents/list.html", context, status=400)


@router.post("/incidents/bulk")
async def bulk(request: Request, person: CsrfChecked) -> Response:
    """Acknowledge or resolve the selected incidents, in one transaction; one already past the
    action (resolved, say) is skipped and counted, not a failure of the rest."""
    require(person, Action.RESPOND)
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

    done, skipped = await in_write(request, work)
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}{urlencode({'done': verb, 'n': done, 'skipped': skipped})}", 303)


def _back(raw: str) -> str:
    """Where a form goes back to: a list URL of this server, never another site."""
    return raw if raw.startswith("/incidents") and not raw.startswith("//") else "/incidents"


def _bulk_refused(request: Request, person: SignedIn, message: str) -> Response:
    context = common(request, person)
    context.update(
        params=ListParams({}),
        error=Invalid("incident", "required", message),
        page=None,
        query=IncidentQuery(),
        done=None,
        options=None,
    )
    return render_page(request, "incidents/list.html", context, status=400)
