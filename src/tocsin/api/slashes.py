"""Repeated slashes in a request path merged into one before anything routes it.

Why: nginx does this by default (``merge_slashes on``) in front of every hosted API we stand in
for, so clients built against those services get away with ``/api/v1//alert_groups/`` and never
notice. Without it such a request would be a 404 here. Only the path (``path`` and ``raw_path``)
changes; the query string is never touched (a ``//`` in a URL parameter is data).
"""

from __future__ import annotations

import re

from starlette.types import Scope

_RUN = re.compile(r"//+")
_RAW_RUN = re.compile(rb"//+")


def merge_slashes(scope: Scope) -> Scope:
    """``scope`` itself when its path has no ``//`` (the usual case, one substring test), else a
    copy whose ``path`` and ``raw_path`` have each run of slashes as one."""
    path: str = scope["path"]
    if "//" not in path:
        return scope
    merged = {**scope, "path": _RUN.sub("/", path)}
    raw_path = scope.get("raw_path")
    if raw_path is not None:
        merged["raw_path"] = _RAW_RUN.sub(b"/", raw_path)
    return merged
