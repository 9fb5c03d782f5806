"""Templates and the URLs of static files.

Every static URL carries the file's content hash (``/static/app.css?v=3f2a…``), computed once per
process, and those answers are cached for a year as immutable: a deploy that changes a file changes
its URL, so a browser never runs yesterday's JavaScript against today's HTML, and files keep their
names (the vendored ones stay byte-for-byte what ``VENDORED.md`` lists, no build step)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tocsin.domain.web_sessions import csrf_token
from tocsin.web import times
from tocsin.web.session import COOKIE

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


@cache
def asset_version(name: str) -> str:
    """The first 12 hex digits of the file's sha256: its version in URLs."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/static/<name>?v=<hash>``; a name outside ``static/`` is a bug, so it raises."""
    return f"/static/{name}?v={asset_version(name)}"


@pass_context
def csrf_field(context: Any) -> Markup:
    """``{{ csrf_field() }}`` in every form that changes something: the hidden ``csrf_token``."""
    token = context.get("csrf")
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "j2"), default=True),
        undefined=StrictUndefined,  # a misspelt variable fails the test, not the page silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static_url"] = static_url
    environment.globals["csrf_field"] = csrf_field
    environment.globals.update(when=times.when, local_time=times.local_time, exact=times.exact, age=times.age)
    return environment


ENVIRONMENT = _environment()

# Pages that answer a person, not a program: never cached by a proxy, never leak the URL onwards.
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def page_csrf(request: Request) -> str | None:
    """The CSRF token for the forms of this page: derived from the session cookie, and only when
    that cookie signed someone in (``web.session.current_person`` ran and found them)."""
    token = request.cookies.get(COOKIE)
    if token and getattr(request.state, "person", None) is not None:
        return csrf_token(token)
    return None


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """One full page in the base layout. ``nav`` in the context says whether to show the main
    links (only for a signed-in person; a one-click link page has no one signed in). The signed-in
    person (``person``) and their CSRF token (``csrf``: forms' hidden field, htmx's header) come
    from the request, so no route can forget them."""
    person = getattr(request.state, "person", None)
    values = {"request": request, "nav": False, "person": person, "csrf": page_csrf(request), **context}
    body = ENVIRONMENT.get_template(template).render(values)
    return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
