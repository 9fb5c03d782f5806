"""The CSRF check for every unsafe web request (POST, PUT, PATCH, DELETE on a screen's route).

The cookie is sent by the browser whatever site asked for the request, so a signed-in person's
cookie alone must never be enough to act: the request also carries the session's CSRF token, in
the form's hidden ``csrf_token`` field (a plain HTML form, no JavaScript) or the ``X-CSRF-Token``
header (htmx: the layout's ``hx-headers``). The token is an HMAC of the cookie's secret
(``domain.web_sessions.csrf_token``), compared in constant time; another site can read neither.
A refusal is a 403 page that changes nothing.

The one-click link pages (``routes/links``) are signed tokens, not sessions: they do not use this."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from tocsin.domain.web_sessions import csrf_matches
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.session import COOKIE, Person
from tocsin.web.templating import render_page

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):  # noqa: N818 - an answer, like the HTTP errors
    """The request came without this session's CSRF token (or with another one)."""


async def presented_token(request: Request) -> str | None:
    """The token the request carries: the header first (htmx), else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request, person: Person) -> SignedIn:
    """The signed-in person, once their request is shown to come from one of our pages."""
    cookie = request.cookies.get(COOKIE, "")
    if not csrf_matches(cookie, await presented_token(request)):
        raise CsrfRefused()
    return person


# A route that changes something takes ``CsrfChecked`` instead of ``Person``.
CsrfChecked = Annotated[SignedIn, Depends(check_csrf)]


def _refused(request: Request, exc: Exception) -> Response:
    return render_page(
        request,
        "errors/refused.html",
        {
            "title": "Form expired",
            "message": "This form was out of date or did not come from Tocsin, so nothing was changed. "
            "Go back, reload the page, and try again.",
        },
        status=403,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(CsrfRefused, _refused)
