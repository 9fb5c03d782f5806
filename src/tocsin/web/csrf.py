"""The CSRF check on every unsafe request of a signed-in person.

The expected token is derived from the session cookie (``domain.web_sessions.csrf_token``), so
nothing more is stored; a form sends it in the hidden field ``csrf_token``, htmx in the header
``X-CSRF-Token``. Another site can make a browser send the cookie, but cannot read a page to learn
the token, so its forged form fails here before anything changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from tocsin.domain.web_sessions import csrf_matches, csrf_token
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.session import COOKIE, Person

FIELD = "csrf_token"
HEADER = "x-csrf-token"


def token_for(request: Request) -> str:
    """The token the page's forms carry: the one this browser's cookie derives."""
    return csrf_token(request.cookies.get(COOKIE, ""))


async def _checked(request: Request, person: Person) -> SignedIn:
    presented = request.headers.get(HEADER)
    if presented is None:
        value = (await request.form()).get(FIELD)  # parsed once; the route's Form() fields reuse it
        presented = value if isinstance(value, str) else None
    if not csrf_matches(request.cookies.get(COOKIE, ""), presented):
        raise HTTPException(
            403, "The form has expired or came from another site: reload the page and try again."
        )
    return person


CsrfChecked = Annotated[SignedIn, Depends(_checked)]
