"""One-click acknowledge and resolve links from pages, usable without a login.

``GET /links/{token}`` shows a small confirmation page with one button; the button POSTs back and
the action happens. The GET never acts, so mail scanners and link previews that fetch every URL
cannot acknowledge an incident by themselves. A link works once, for 24 hours; afterwards (or when
tampered with) the page says so with a 4xx status. Throttled per client address like the calendar
feeds. The flow's rules live in ``services.responders.links``; this module only renders it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.paging import PagingSettings
from tocsin.services.responders import links
from tocsin.web.templating import render_page
from tocsin.web.throttle import Throttled, throttle_address

router = APIRouter(tags=["one-click links"], include_in_schema=False)

# The action's button, and the word for it once done.
VERBS = {"acknowledge": ("Acknowledge", "acknowledged"), "resolve": ("Resolve", "resolved")}


def _refused(request: Request, error: Exception) -> HTMLResponse:
    if isinstance(error, Throttled):
        if error.retry_after is None:
            return _notice(request, "Try again shortly", "This page cannot be served right now.", 503)
        return _notice(
            request,
            "Too many requests",
            f"Too many requests from your address. Try again in {error.retry_after} seconds.",
            429,
            {"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, Conflict):
        used = "This link was already used: each link works once. A newer page has fresh links."
        return _notice(request, "Link already used", used, 410)
    if isinstance(error, Invalid) and error.details.get("reason") == "expired":
        return _notice(request, "Link expired", "This link has expired. Open the incident instead.", 410)
    if isinstance(error, NotFound):
        return _notice(request, "Incident not found", "The incident no longer exists.", 404)
    return _notice(request, "Invalid link", "This link is not valid. Check that it was copied whole.", 400)


def _notice(
    request: Request, title: str, message: str, status: int, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return render_page(
        request, "links/refused.html", {"title": title, "message": message}, status=status, headers=headers
    )


def _card(incident: Any) -> dict[str, Any]:
    return {
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "alert_count": incident.alert_count,
    }


@router.get("/links/{token}", response_class=HTMLResponse)
async def confirm(token: str, request: Request) -> HTMLResponse:
    db, now = request.app.state.db, request.app.state.clock.now()

    def look() -> tuple[links.LinkClaim, dict[str, Any]]:
        with db.write() as session:
            claim = links.read_token(links.signing_key(session=session, now=now), token, now=now)
            return claim, _card(links.preview(session=session, claim=claim))

    try:
        await throttle_address(request)
        claim, incident = await run_in_threadpool(look)
    except (Invalid, Conflict, NotFound, Throttled) as error:
        return _refused(request, error)
    if claim.action == "view":
        return render_page(request, "links/view.html", {"incident": incident})
    verb = VERBS[claim.action][0]
    return render_page(request, "links/confirm.html", {"incident": incident, "verb": verb})


@router.post("/links/{token}", response_class=HTMLResponse)
async def act(token: str, request: Request) -> HTMLResponse:
    db, now = request.app.state.db, request.app.state.clock.now()
    paging: PagingSettings = request.app.state.paging

    def use() -> tuple[links.LinkClaim, dict[str, Any]]:
        with db.write() as session:
            claim = links.read_token(links.signing_key(session=session, now=now), token, now=now)
            return claim, _card(links.use(session=session, claim=claim, now=now, paging=paging))

    try:
        await throttle_address(request)
        claim, incident = await run_in_threadpool(use)
    except (Invalid, Conflict, NotFound, Throttled) as error:
        return _refused(request, error)
    done = VERBS[claim.action][1]
    return render_page(request, "links/done.html", {"incident": incident, "done": done})
