"""The access log: one line per answered request, written by ``middleware.Observability`` for
every route and by the events lane (``ingest.fastlane``), which runs ahead of that middleware.

A line names the route by its template (``/api/incidents/{incident_id}``, ``/heartbeats/{token}``),
never the raw path or the query: integration and beat URLs carry their secret in the path. The
caller is the API key's id, never the key. On the hot path the line costs one ``isEnabledFor``
check when the level is above INFO or the log is off (``TOCSIN_ACCESS_LOG=false``); when written,
it takes the logs' lane for hot lines (``logs.write_fields``)."""

from __future__ import annotations

import logging
from typing import Any

from tocsin.logs import write_fields

log = logging.getLogger("tocsin.access")

UNMATCHED = "unmatched"  # the route of a request no route matched (a 404), as the metrics label it


class AccessLog:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def request(
        self,
        *,
        method: str,
        route: str,
        status: int,
        seconds: float,
        request_id: str,
        key_id: str | None,
    ) -> None:
        if not self.enabled or not log.isEnabledFor(logging.INFO):
            return
        ms = round(seconds * 1000, 2)
        write_fields(
            log,
            logging.INFO,
            "%s %s %d %.2f ms",
            method,
            route,
            status,
            ms,
            method=method,
            route=route,
            status=status,
            duration_ms=ms,
            request_id=request_id,
            key_id=key_id,
        )


def key_id_of(scope: Any) -> str | None:
    """The id of the key the gate (or the lane) admitted for this request, if any."""
    state = scope.get("state")
    key = state.get("key") if state else None
    return getattr(key, "id", None)
