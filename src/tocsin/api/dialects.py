"""API dialects: which URL space speaks whose wire format.

The native API (``/api/…``), Grafana OnCall's public API (``/api/v1/…``) and Splunk On-Call's
(``/api-public/…``, ``/api-reporting/…``) share one key store, one rate limiter and one set of
services; they differ in how the key is sent and how errors look. A ``Dialect`` says both, so the
gate (``middleware.ApiGate``) and the exception handlers (``errors``) stay one piece of code each
and every dialect gets the same guarantees: 401/403 before any route runs, read-only keys refused
on anything but GET, per-key limits that never fail open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.datastructures import Headers
from starlette.responses import Response

from tocsin.api.envelope import error_response
from tocsin.domain.api_keys import secret_from_headers
from tocsin.services.access.keys import KeyRecord

HINTS = frozenset({"missing", "read_only", "method"})


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented: the key's secret, and for Splunk the org's API id."""

    secret: str | None
    org_api_id: str | None = None


class Dialect(Protocol):
    """One URL space's auth and error conventions."""

    prefixes: tuple[str, ...]
    name: str

    def credentials(self, headers: Headers) -> Credentials:
        """The credentials as this dialect sends them (either part may be missing)."""
        ...

    def admits(self, record: KeyRecord, credentials: Credentials) -> bool:
        """Whether a valid key may be used with these credentials (Splunk: the API id matches)."""
        ...

    def render(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        """An error in this dialect's own shape; ``code`` is one of ``envelope.STATUS_FOR_CODE``.

        ``details`` may carry hints (``HINTS``) for dialects that word cases differently: the gate
        passes ``{"missing": True}`` with UNAUTHORIZED when no credentials were sent and
        ``{"read_only": True}`` with FORBIDDEN for a read-only key's write; a 404/405 from routing
        carries ``{"method": …}``."""
        ...


class NativeDialect:
    """Spec 003: ``Authorization: Bearer|Api-Key`` or ``X-API-Key``, the ``{"error": …}`` envelope."""

    prefixes: tuple[str, ...] = ("/api/",)
    name = "native"

    def credentials(self, headers: Headers) -> Credentials:
        return Credentials(secret_from_headers(headers))

    def admits(self, record: KeyRecord, credentials: Credentials) -> bool:
        return True

    def render(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        return error_response(code, message, without_hints(details), headers, extra)


NATIVE = NativeDialect()


def without_hints(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """``details`` as a client should see them: the gate's and router's hints dropped."""
    return {key: value for key, value in (details or {}).items() if key not in HINTS}


class Dialects:
    """The registered dialects, found by the longest matching path prefix."""

    def __init__(self, dialects: Sequence[Dialect]) -> None:
        pairs = [(prefix, dialect) for dialect in dialects for prefix in dialect.prefixes]
        self._by_prefix = sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)

    def for_path(self, path: str) -> Dialect | None:
        """The dialect serving ``path``, or ``None`` outside every API (health, ingest URLs …).

        A prefix ``/api/v1/`` also claims ``/api/v1`` itself."""
        for prefix, dialect in self._by_prefix:
            if claims(prefix, path):
                return dialect
        return None

    def render_for(self, path: str) -> Dialect:
        """The dialect whose error shape ``path`` gets: the native one outside the foreign APIs."""
        return self.for_path(path) or NATIVE


def claims(prefix: str, path: str) -> bool:
    """Whether a URL space written as ``prefix`` (ending in ``/``) holds ``path``: what starts with
    it, and the prefix without its slash (``/api/v1/`` claims ``/api/v1``)."""
    return path.startswith(prefix) or path == prefix.rstrip("/")
