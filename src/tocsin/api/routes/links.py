"""One-click acknowledge and resolve links from pages, usable without a login.

``GET /links/{token}`` shows a small confirmation page with one button; the button POSTs back and
the action happens. The GET never acts, so mail scanners and link previews that fetch every URL
cannot acknowledge an incident by themselves. A link works once, for 24 hours; afterwards (or when
tampered with) the page says so with a 4xx status. Throttled per client address like the calendar
feeds.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.deps import Paging
from tocsin.api.routes.ical import throttle_address
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.responders import links

router = APIRouter(tags=["one-click links"], include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:0;background:#b42318;color:#fff}}
.muted{{color:#555}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""

_VERBS = {"acknowledge": ("Acknowledge", "acknowledged"), "resolve": ("Resolve", "resolved")}


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _refused(error: Exception) -> HTMLResponse:
    if isinstance(error, Conflict):
        return _html("Link already used", "<p>This link was already used. Each link works once.</p>", 410)
    if isinstance(error, Invalid) and error.details.get("reason") == "expired":
        return _html("Link expired", "<p>This link has expired. Open the incident instead.</p>", 410)
    if isinstance(error, NotFound):
        return _html("Incident not found", "<p>The incident no longer exists.</p>", 404)
    return _html("Invalid link", "<p>This link is not valid.</p>", 400)


@router.get("/links/{token}", response_class=HTMLResponse)
async def confirm(token: str, request: Request) -> HTMLResponse:
    await throttle_address(request)
    db, now = request.app.state.db, request.app.state.clock.now()

    def look() -> tuple[links.LinkClaim, int, str, str, int]:
        with db.write() as session:
            claim = links.read_token(links.signing_key(session=session, now=now), token, now=now)
            incident = links.preview(session=session, claim=claim)
            return claim, incident.number, incident.title, incident.status, incident.alert_count

    try:
        claim, number, title, status, alert_count = await run_in_threadpool(look)
    except (Invalid, Conflict, NotFound) as error:
        return _refused(error)
    if claim.action == "view":
        body = (
            f"<p><strong>#{number}</strong> {escape(title)}</p>"
            f'<p class="muted">Status: {escape(status)} · Alerts: {alert_count}</p>'
        )
        return _html(f"Incident #{number}", body)
    verb = _VERBS[claim.action][0]
    body = (
        f"<p><strong>#{number}</strong> {escape(title)}</p>"
        f'<p class="muted">Status: {escape(status)}</p>'
        f'<form method="post"><button type="submit">{verb} incident #{number}</button></form>'
    )
    return _html(f"{verb} incident #{number}?", body)


@router.post("/links/{token}", response_class=HTMLResponse)
async def act(token: str, request: Request, paging: Paging) -> HTMLResponse:
    await throttle_address(request)
    db, now = request.app.state.db, request.app.state.clock.now()

    def use() -> tuple[links.LinkClaim, int, str, str]:
        with db.write() as session:
            claim = links.read_token(links.signing_key(session=session, now=now), token, now=now)
            incident = links.use(session=session, claim=claim, now=now, paging=paging)
            return claim, incident.number, incident.title, incident.status

    try:
        claim, number, title, status = await run_in_threadpool(use)
    except (Invalid, Conflict, NotFound) as error:
        return _refused(error)
    done = _VERBS[claim.action][1]
    body = f"<p><strong>#{number}</strong> {escape(title)}</p><p>Status now: {escape(status)}</p>"
    return _html(f"Incident #{number} {done}", body)
