"""The answer to a body over ``TOCSIN_MAX_BODY_BYTES``, in the shape its sender reads.

Why: ``middleware.BodySizeLimit`` refuses such a body before any route sees it, so no route can
say it in its own words. A team that moved its PagerDuty, Opsgenie, Splunk On-Call or Grafana
OnCall senders here by changing one URL must still get that product's error body, and its client
a 413 it understands, not our native envelope. Each foreign URL space registers its shape; the
API dialects (``api.dialects``) render their own, and everything else gets the native one."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.responses import Response
from starlette.types import Scope

from tocsin.api.dialects import Dialects, claims
from tocsin.api.envelope import error_response

# The response for a refused body: the request's scope (its path, its request id) and the limit.
TooLarge = Callable[[Scope, int], Response]


def too_large_message(max_bytes: int) -> str:
    """The words every shape uses, so the limit reads the same whoever says it."""
    return f"Request body is larger than {max_bytes} bytes"


def native_too_large(max_bytes: int) -> Response:
    """The native envelope's 413: ``PAYLOAD_TOO_LARGE`` with ``details.max_bytes``."""
    return error_response("PAYLOAD_TOO_LARGE", too_large_message(max_bytes), {"max_bytes": max_bytes})


class OversizeAnswers:
    """``BodySizeLimit``'s answer: the shape of the longest registered prefix holding the path,
    else the API dialect's (native outside the foreign APIs)."""

    def __init__(self, shapes: Iterable[tuple[str, TooLarge]], dialects: Dialects) -> None:
        self._shapes = sorted(shapes, key=lambda pair: len(pair[0]), reverse=True)
        self._dialects = dialects

    def __call__(self, scope: Scope, max_bytes: int) -> Response:
        path: str = scope["path"]
        for prefix, shape in self._shapes:
            if claims(prefix, path):
                return shape(scope, max_bytes)
        return self._dialects.render_for(path).render(
            "PAYLOAD_TOO_LARGE", too_large_message(max_bytes), {"max_bytes": max_bytes}
        )
