"""Grafana OnCall's page-number pagination: ``page`` and ``perpage`` in, and out, in this order,
``count, next, previous, results, page_size, current_page_number, total_pages``.

As upstream: a bad or < 1 ``page``/``perpage`` falls back to the default, a page past the end gives
the last page, ``total_pages`` is 1 when there is nothing. Unlike upstream the page size is capped
at 100. ``next``/``previous`` are absolute URLs (``TOCSIN_BASE_URL`` + the same path and query with
``page`` replaced; ``previous`` of page 2 drops ``page``), ``null`` at the ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request

from tocsin.services.pagination import Page

T = TypeVar("T")

DEFAULT_SIZE = 50
MAX_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


MAX_PAGE = 2**31 // MAX_SIZE  # any page beyond is past the end; keeps OFFSET within a 32-bit bind


def _positive(raw: str | None, default: int, most: int) -> int:
    """A positive ASCII integer (``"²".isdigit()`` is true but not a number), at most ``most``;
    anything else falls back to ``default``, as upstream."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return default
    value = int(text) if len(text) <= 12 else most
    return min(value, most) if value >= 1 else default


def page_request(request: Request, default_size: int = DEFAULT_SIZE) -> PageRequest:
    """The page asked for, with Grafana's fallbacks and our cap."""
    size = _positive(request.query_params.get("perpage"), default_size, MAX_SIZE)
    return PageRequest(number=_positive(request.query_params.get("page"), 1, MAX_PAGE), size=size)


def fetch_page(
    request: Request, fetch: Callable[[int, int], Page[T]], default_size: int = DEFAULT_SIZE
) -> tuple[PageRequest, Page[T]]:
    """Run ``fetch(limit, offset)`` for the requested page; past the end, for the last page."""
    wanted = page_request(request, default_size)
    page = fetch(wanted.size, wanted.offset)
    if not page.items and wanted.number > 1:
        last = PageRequest(number=max(1, math.ceil(page.total / wanted.size)), size=wanted.size)
        return last, fetch(last.size, last.offset)
    return wanted, page


def slice_page(
    request: Request, items: Sequence[T], default_size: int = DEFAULT_SIZE
) -> tuple[PageRequest, Page[T]]:
    """``fetch_page`` over a list already in memory (computed resources such as final shifts)."""

    def fetch(limit: int, offset: int) -> Page[T]:
        return Page(items=items[offset : offset + limit], total=len(items), limit=limit, offset=offset)

    return fetch_page(request, fetch, default_size)


def _link(request: Request, number: int | None) -> str:
    base = str(request.app.state.settings.base_url).rstrip("/")
    params = [(name, value) for name, value in request.query_params.multi_items() if name != "page"]
    if number is not None:
        params.append(("page", str(number)))
    query = urlencode(params)
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


def paginated(request: Request, wanted: PageRequest, total: int, results: list[Any]) -> dict[str, Any]:
    """The page envelope, keys in Grafana's order."""
    total_pages = max(1, math.ceil(total / wanted.size))
    has_next = wanted.number < total_pages
    has_previous = wanted.number > 1
    return {
        "count": total,
        "next": _link(request, wanted.number + 1) if has_next else None,
        "previous": (
            _link(request, wanted.number - 1 if wanted.number > 2 else None) if has_previous else None
        ),
        "results": results,
        "page_size": wanted.size,
        "current_page_number": wanted.number,
        "total_pages": total_pages,
    }


def page_of(
    request: Request,
    fetch: Callable[[int, int], Page[T]],
    render: Callable[[T], dict[str, Any]],
    default_size: int = DEFAULT_SIZE,
) -> dict[str, Any]:
    """Fetch the requested page and render it: the whole of a typical list route."""
    wanted, page = fetch_page(request, fetch, default_size)
    return paginated(request, wanted, page.total, [render(item) for item in page.items])
