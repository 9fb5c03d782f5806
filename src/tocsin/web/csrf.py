"""The CSRF check on every unsafe request from a signed-in browser.

The token is derived from the session cookie's secret (``domain.web_sessions.csrf_token``), so
nothing more is stored: forms carry it in the hidden field ``csrf_token``, htmx in the header
``X-CSRF-Token`` (``base.html`` sets it for every htmx request). Another site can make a browser
send the cookie (a form posted cross-site) but cannot read the page to learn the token, so a POST
without it is refused before anything changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from tocsin.domain.web_sessions import csrf_matches, csrf_token
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.session import COOKIE, Person
from tocsin.web.templating import render_page

FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfRefused(Exception):  # noqa: N818 - an answer, like the HTTP errors
    """The request carried no CSRF token, or not this session's."""


def token_for(request: Request) -> str:
    """The token the signed-in browser's forms carry (empty when there is no session cookie)."""
    cookie = request.cookies.get(COOKIE)
    return csrf_token(cookie) if cookie else ""


async def _checked(request: Request, person: Person) -> SignedIn:
    presented = request.headers.get(HEADER)
    if presented is None:
        form = await request.form()  # Starlette keeps it: the route reads the same form
        value = form.get(FIELD)
        presented = value if isinstance(value, str) else None
    cookie = request.cookies.get(COOKIE)
    if cookie is None or not csrf_matches(cookie, presented):
        raise CsrfRefused()
    return person


CsrfChecked = Annotated[SignedIn, Depends(_checked)]


def _refused(request: Request, exc: Exception) -> Response:
    message = "This form is out of date or came from another site. Reload the page and try again."
    return render_page(
        request, "links/refused.html", {"title": "Form expired", "message": message}, status=403
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(CsrfRefused, _refused)
