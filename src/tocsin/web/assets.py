"""``/static/``: the web layer's own files and the vendored JavaScript, with cache headers that
follow the version in the URL (``templating.static_url``)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tocsin.web.templating import STATIC, asset_version

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # an unversioned URL: the browser asks again (ETag) each time


class Assets(StaticFiles):
    """Starlette's static files; a year of caching when the URL's ``v`` is the file's current
    hash, revalidation otherwise (an old or missing version must not stick in a cache)."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC, follow_symlink=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = scope.get("query_string", b"").decode("latin-1")
            versioned = _current(path, query)
            response.headers["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _current(path: str, query: str) -> bool:
    wanted = dict(part.partition("=")[::2] for part in query.split("&") if part).get("v")
    try:
        return wanted is not None and wanted == asset_version(path)
    except OSError:
        return False
