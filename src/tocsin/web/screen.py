"""What every signed-in screen does around its services: run them in a read or write transaction
off the event loop (the web layer never holds a session itself), the values every page's template
reads (the person, their zone, the clock's now, whether they may act, the CSRF token), the role
check, and rendering a fragment (a live stream's HTML)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.templating import ENVIRONMENT, page_csrf, render_page

T = TypeVar("T")
MIN_GAP_SECONDS = 1.0  # as /live/incidents: at most one event a second per stream


def fragment(template: str, context: Mapping[str, Any]) -> str:
    """A partial alone (no layout): what a live stream sends, from the template the page includes."""
    return ENVIRONMENT.get_template(template).render(context)


async def in_read(request: Request, work: Callable[[Any], T]) -> T:
    """``work(session)`` in one read transaction, in a worker thread (the database is blocking)."""
    db = request.app.state.db

    def run() -> T:
        with db.read() as session:
            return work(session)

    return await run_in_threadpool(run)


async def in_write(request: Request, work: Callable[[Any], T]) -> T:
    """``work(session)`` in one write transaction: all of it commits, or none (an error rolls back)."""
    db = request.app.state.db

    def run() -> T:
        with db.write() as session:
            return work(session)

    return await run_in_threadpool(run)


def common(request: Request, person: SignedIn) -> dict[str, Any]:
    """The values every signed-in page's template reads."""
    return {
        "nav": True,
        "person": person,
        "zone": person.time_zone,
        "now": request.app.state.clock.now(),
        "can_act": person.can(Action.RESPOND),
        "csrf": page_csrf(request),
    }


class NotAllowed(Exception):  # noqa: N818 - an answer, like the HTTP errors
    """The person's role does not allow what the request asks."""


def require(person: SignedIn, action: Action) -> None:
    """403 unless the role allows ``action`` (the buttons are hidden too; this is the check)."""
    if not person.can(action):
        raise NotAllowed()


def _not_allowed(request: Request, exc: Exception) -> Response:
    message = (
        "Your role in this org can read incidents but not act on them. Ask an admin for the responder role."
    )
    context = {"title": "Not allowed", "message": message}
    return render_page(request, "links/refused.html", context, status=403)


def install(app: FastAPI) -> None:
    """Answer ``NotAllowed`` with a page: the person is signed in, only their role stops them."""
    app.add_exception_handler(NotAllowed, _not_allowed)
