"""Who is signed in behind a browser request: the session cookie, read fresh on every request.

The cookie holds the session's random token (``services.accounts.sessions``: only its SHA-256 is
stored); ``authenticate`` turns it into a ``SignedIn`` (the person, their org and mode, their
role), so a revoked session or a changed role counts at the next request. The sliding expiry is
written at most every few minutes (``needs_touch``), not on every request.

Screens take ``Person`` (a signed-in person, or a redirect to the sign-in page) or
``MaybePerson``. A page asks for sign-in with a 303 to ``/login?next=<path>``; an htmx request,
which would swap the sign-in page into a fragment, gets 401 with ``HX-Redirect`` instead, so the
whole page goes there."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tocsin.services.accounts import sessions
from tocsin.services.accounts.sessions import SignedIn

COOKIE = "tocsin_session"
SIGN_IN_PATH = "/login"


class SignInRequired(Exception):  # noqa: N818 - an answer, like the HTTP errors
    """Nobody (or an expired or revoked session) is behind this request: send them to sign in,
    then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def safe_next(next_path: str | None) -> str | None:
    """``next_path`` when it is a path on this server, else None: it must start with one slash and
    hold no backslash or control character (browsers read ``/\\evil.example`` and ``//evil.example``
    as another site), or an attacker's link to the sign-in page could send people away after it."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return None
    if "\\" in next_path or any(ord(char) < 0x20 or ord(char) == 0x7F for char in next_path):
        return None
    return next_path


def sign_in_url(next_path: str | None) -> str:
    """``/login``, with where to go afterwards when that is a path on this server (``safe_next``)."""
    kept = safe_next(next_path)
    if kept is None or kept == "/":
        return SIGN_IN_PATH
    return f"{SIGN_IN_PATH}?next={quote(kept, safe='/')}"


async def current_person(request: Request) -> SignedIn | None:
    """The person behind the request's session cookie, or None; read once per request."""
    if hasattr(request.state, "person"):
        found: SignedIn | None = request.state.person
        return found
    token = request.cookies.get(COOKIE)
    person: SignedIn | None = None
    if token:
        db, clock = request.app.state.db, request.app.state.clock

        def look() -> SignedIn | None:
            now = clock.now()
            with db.read() as session:
                found = sessions.authenticate(session=session, token=token, now=now)
            if found is not None and found.needs_touch:
                with db.write() as session:
                    sessions.touch(session=session, signed_in=found, now=now)
            return found

        person = await run_in_threadpool(look)
    request.state.person = person
    return person


async def _required(request: Request) -> SignedIn:
    person = await current_person(request)
    if person is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method in ("GET", "HEAD") else "/")
    return person


Person = Annotated[SignedIn, Depends(_required)]
MaybePerson = Annotated[SignedIn | None, Depends(current_person)]


def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = sign_in_url(exc.next_path)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install(app: FastAPI) -> None:
    """Answer ``SignInRequired`` anywhere in the app with the way to the sign-in page."""
    app.add_exception_handler(SignInRequired, _to_sign_in)
