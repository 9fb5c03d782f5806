"""The API reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with no network.

FastAPI's own pages load their JavaScript and CSS from a CDN, so on a server without internet
access (or a laptop on a train) they are blank. The ``fastapi-offline`` package ships the
swagger-ui and ReDoc bundles; we serve its static folder under ``ASSETS_PATH`` and point FastAPI's
page builders at it. Its ``FastAPIOffline`` factory does the same for a plain ``FastAPI``, but our
app is the ingest lane's subclass (``fastlane.App``), so the few routes are written here."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs-assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def assets_directory() -> Path:
    """The swagger-ui and ReDoc files inside the installed ``fastapi_offline`` package."""
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """Add the two pages and their assets to ``app``, whose ``docs_url`` and ``redoc_url`` are None."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def asset(request: Request, name: str) -> str:
        # root_path: the app may be served under a prefix by a reverse proxy.
        return f"{request.scope.get('root_path', '')}{ASSETS_PATH}/{name}"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{request.scope.get('root_path', '')}{openapi_url}",
            title=f"{app.title} - API reference",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"),
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=f"{request.scope.get('root_path', '')}{openapi_url}",
            title=f"{app.title} - API reference (ReDoc)",
            redoc_js_url=asset(request, "redoc.standalone.js"),
            redoc_favicon_url=asset(request, "favicon.png"),
            with_google_fonts=False,
        )
