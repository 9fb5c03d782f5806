"""What every signed-in screen does around its services: run them in a read or write transaction
off the event loop (the web layer never holds a session itself), the values every page's template
reads (the person, their zone, the clock's now, whether they may act, the CSRF token), and
rendering a fragment (a live stream's HTML). The role check is ``web.permissions``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.templating import ENVIRONMENT, page_csrf

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
