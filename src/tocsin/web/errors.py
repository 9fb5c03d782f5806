"""Pages for people who reach a URL that does not exist.

A browser that asks for a missing page gets a page in the layout it can read; an API client keeps
the JSON error envelope. The test is the request, not a list of prefixes kept in step by hand: a
GET or HEAD whose ``Accept`` names ``text/html``, outside every API dialect's URL space (the app's
``state.dialects``). Everything else goes to the handler the API installed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tocsin.web.templating import render_page

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]


def wants_page(request: Request) -> bool:
    """Whether this request comes from a person's browser rather than a program."""
    if request.method not in ("GET", "HEAD") or "text/html" not in request.headers.get("accept", ""):
        return False
    dialects = getattr(request.app.state, "dialects", None)
    return dialects is None or dialects.for_path(request.url.path) is None


def install(app: FastAPI) -> None:
    """Put the HTML 404 in front of the API's handler for HTTP errors (which must be installed)."""
    fallback: Handler = app.exception_handlers[HTTPException]

    async def not_found_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and wants_page(request):
            return render_page(request, "errors/not_found.html", {"path": request.url.path}, status=404)
        answer = fallback(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    app.add_exception_handler(HTTPException, not_found_page)
