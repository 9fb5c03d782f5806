"""What a signed-in person may do on a screen, by their role (``domain.roles``, the table the
API's gate reads too): an action route takes ``allowed(Action.RESPOND)`` (or another action)
instead of ``CsrfChecked``, and an observer's POST gets a 403 page that changes nothing, even if
they built the form by hand. Screens hide the buttons with ``person.can(...)``; this is the check
that holds when a button is not there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.responses import Response

from tocsin.domain.roles import Action
from tocsin.services.accounts.sessions import SignedIn
from tocsin.web.csrf import CsrfChecked
from tocsin.web.templating import render_page


class NotAllowed(Exception):  # noqa: N818 - an answer, like the HTTP errors
    def __init__(self, action: Action) -> None:
        super().__init__(action.value)
        self.action = action


def require(person: SignedIn, action: Action) -> None:
    """403 page unless the role allows ``action``, for a route that checks inside (a read it
    shows anyway, or a form whose action depends on its fields)."""
    if not person.can(action):
        raise NotAllowed(action)


def allowed(action: Action) -> Callable[[SignedIn], Awaitable[SignedIn]]:
    """A dependency: the signed-in person, their CSRF token checked, allowed to do ``action``."""

    async def check(person: CsrfChecked) -> SignedIn:
        require(person, action)
        return person

    return check


def _refused(request: Request, exc: Exception) -> Response:
    return render_page(
        request,
        "errors/refused.html",
        {
            "title": "Not allowed",
            "message": "Your role in this organization cannot do this, so nothing was changed. "
            "An admin can change your role.",
            "nav": True,
        },
        status=403,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotAllowed, _refused)
