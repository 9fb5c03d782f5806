"""Signing in and out: ``/login`` (Email, Password, and which org when the password opens several),
``POST /logout`` and ``POST /profile/sign-out-everywhere``.

The rules live in ``services.accounts``: one message for an unknown email and a wrong password
(``SignInFailed``), the throttle per account and per address on the API limiter's store (never
failing open), a new session id at every sign-in with the browser's old session revoked
(``replacing``: a cookie planted before sign-in is never promoted). This module turns their answers
into pages and the cookie."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tocsin.config import Settings
from tocsin.services.accounts import sessions
from tocsin.services.accounts.hashing import DEFAULT_PASSWORDS, Passwords
from tocsin.services.accounts.sessions import ChooseOrg, SignInFailed, SignInResult
from tocsin.services.accounts.throttle import LoginThrottle, SignInUnavailable, TooManyAttempts
from tocsin.services.errors import Invalid
from tocsin.web.csrf import CsrfChecked
from tocsin.web.session import COOKIE, SIGN_IN_PATH, MaybePerson, safe_next
from tocsin.web.templating import render_page

router = APIRouter(include_in_schema=False)

FIELDS = ("email", "password", "org", "next")


def cookie_secure(settings: Settings) -> bool:
    """``Secure`` when people reach the server over https (its base URL says so); on plain http
    (``make run`` on 127.0.0.1) a Secure cookie would never come back."""
    return settings.base_url.lower().startswith("https://")


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """The session cookie: HttpOnly (scripts never see it), SameSite=Lax (not sent on another
    site's POST), kept as long as the session can live at most (its absolute lifetime; the
    server ends it sooner when idle)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(sessions.DEFAULT_POLICY.absolute.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(settings))


def login_throttle(request: Request) -> LoginThrottle:
    """One per app, on the API limiter's store (memory, or Redis shared by every replica)."""
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle.from_settings(request.app.state.limiter.storage, request.app.state.settings)
        request.app.state.login_throttle = throttle
    return throttle


def sso_enabled(settings: Settings) -> bool:
    """Single sign-on is offered when the provider's discovery URL and the client are set."""
    return bool(settings.oidc_discovery_url and settings.oidc_client_id)


def form_page(
    request: Request,
    *,
    email: str = "",
    next_path: str | None = None,
    error: str | None = None,
    orgs: list[dict[str, str]] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    settings: Settings = request.app.state.settings
    context: dict[str, Any] = {
        "title": "Sign in",
        "email": email,
        "next_path": safe_next(next_path) or "",
        "error": error,
        "orgs": orgs or [],
        "sso": settings.oidc_provider_name if sso_enabled(settings) else None,
    }
    return render_page(request, "sign_in/login.html", context, status=status, headers=headers)


@router.get("/login")
async def login_form(request: Request, person: MaybePerson, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    if person is not None:
        return RedirectResponse(safe_next(next) or "/", status_code=303)
    return form_page(request, next_path=next)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    email, password, org, next_path = (_text(form, name) for name in FIELDS)
    app, settings = request.app, request.app.state.settings
    db, clock = app.state.db, app.state.clock
    passwords: Passwords = getattr(app.state, "passwords", DEFAULT_PASSWORDS)
    previous = request.cookies.get(COOKIE)
    ip = request.client.host if request.client else None

    def start() -> SignInResult:
        with db.write() as session:
            return sessions.sign_in(
                session=session,
                email=email,
                password=password,
                now=clock.now(),
                org_slug=org or None,
                replacing=previous,
                user_agent=request.headers.get("user-agent"),
                ip=ip,
                passwords=passwords,
            )

    async def attempt() -> SignInResult:
        return await run_in_threadpool(start)

    def again(error: str, status: int, **more: Any) -> Response:
        """The form again, with what was typed (never the password) and what to do."""
        typed = email.strip()
        return form_page(request, email=typed, next_path=next_path, error=error, status=status, **more)

    try:
        if not email.strip() or not password:
            await attempt()  # Invalid, with the service's message for the missing field
        result = await login_throttle(request).attempt(email=email, ip=ip, sign_in=attempt)
    except Invalid as error:
        return again(error.message, 400)
    except SignInFailed as error:
        return again(error.message, 401)
    except ChooseOrg as error:
        return again(error.message, 409, orgs=error.details["orgs"])
    except TooManyAttempts as error:
        return again(error.message, 429, headers={"Retry-After": str(error.retry_after)})
    except SignInUnavailable as error:
        return again(error.message, 503, headers={"Retry-After": str(error.retry_after)})
    response = RedirectResponse(safe_next(next_path) or "/", status_code=303)
    set_session_cookie(response, result.token, settings)
    return response


@router.post("/logout")
async def logout(request: Request, person: CsrfChecked) -> Response:
    """Sign out: this session ends at once (the row is revoked, not only the cookie dropped)."""
    db, clock = request.app.state.db, request.app.state.clock
    token = request.cookies.get(COOKIE)

    def end() -> None:
        with db.write() as session:
            sessions.sign_out(session=session, token=token, now=clock.now())

    await run_in_threadpool(end)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    clear_session_cookie(response, request.app.state.settings)
    return response


@router.post("/profile/sign-out-everywhere")
async def sign_out_everywhere(request: Request, person: CsrfChecked) -> Response:
    """Every session of this person ends, this browser's too (a lost phone, a shared computer)."""
    db, clock = request.app.state.db, request.app.state.clock

    def end() -> None:
        with db.write() as session:
            sessions.sign_out_everywhere(session=session, signed_in=person, now=clock.now())

    await run_in_threadpool(end)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    clear_session_cookie(response, request.app.state.settings)
    return response
