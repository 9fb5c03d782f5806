"""The web layer as the server mounts it: its routes, ``/static/``, the HTML 404 page, and the
live broadcaster that runs for the app's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Mount

from tocsin.services.accounts.hashing import DEFAULT_PASSWORDS
from tocsin.services.incidents.changes import watch_for
from tocsin.web import csrf, errors, permissions, session
from tocsin.web.assets import Assets
from tocsin.web.live import Broadcaster
from tocsin.web.routes import home, incident, incidents, links, live, oncall, profile, schedules, sign_in, sso


class WebUI:
    """``install`` once the API's app exists; enter ``running`` in its lifespan (the API's
    ``background``): the broadcaster needs the app's database, which exists only then."""

    def __init__(self) -> None:
        self._app: FastAPI | None = None
        self._broadcaster: Broadcaster | None = None

    def install(self, app: FastAPI) -> None:
        self._app = app
        app.include_router(links.router)
        app.include_router(live.router)
        app.include_router(sign_in.router)
        app.include_router(sso.router)
        app.include_router(home.router)
        app.include_router(incidents.router)  # before incident: /incidents/live is not a number
        app.include_router(incident.router)
        app.include_router(oncall.router)
        app.include_router(profile.router)
        app.include_router(schedules.router)
        if not hasattr(app.state, "passwords"):
            # The argon2id hasher sign-in verifies with; tests put a cheap one here first.
            app.state.passwords = DEFAULT_PASSWORDS
        app.router.routes.append(Mount("/static", app=Assets(), name="static"))
        errors.install(app)
        session.install(app)
        csrf.install(app)
        permissions.install(app)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Broadcaster]:
        assert self._app is not None, "install the web UI before the app starts"
        broadcaster = self._broadcaster = Broadcaster(watch_for(self._app.state.db))
        self._app.state.live = broadcaster
        async with broadcaster.running_for_app():
            yield broadcaster

    def close_streams(self) -> None:
        """End the open live streams (``Broadcaster.close``): the server calls it when it starts
        shutting down, before it waits for open responses to finish."""
        if self._broadcaster is not None:
            self._broadcaster.close()
