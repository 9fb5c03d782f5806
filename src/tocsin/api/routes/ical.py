"""Calendar feeds: keyed under ``/api`` (the feed, its secret URL, rotating that URL), and the secret
URLs themselves under ``/ical``, outside the API gate, for Google Calendar, Outlook and Apple
Calendar, which subscribe by URL and cannot send a key.

The secret routes answer 404 with the error envelope for any token that names nothing, are
throttled per client address with the read limit (503 when the limiter's store is down, as the gate
does) and let clients cache a feed for five minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from tocsin.api.deps import CurrentKey, Db, Now, SchedulesRead, SchedulesWrite
from tocsin.api.errors import ApiError
from tocsin.api.middleware import limiter_unavailable, too_many
from tocsin.api.ratelimit import Decision, LimiterUnavailable
from tocsin.api.routes.schedules import instant
from tocsin.api.schemas.common import Envelope, envelope
from tocsin.api.schemas.schedules import IcalUrlRead
from tocsin.domain.scopes import grants
from tocsin.services.access.keys import KeyRecord
from tocsin.services.schedules import ical_feeds
from tocsin.services.schedules.ical_feeds import Feed

log = logging.getLogger("tocsin.api")

router = APIRouter(tags=["calendar feeds"])

MEDIA_TYPE = "text/calendar; charset=utf-8"
CACHE_CONTROL = "private, max-age=300"
_CALENDAR = {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "An .ics feed"}


def _url(request: Request, kind: str, token: str) -> dict[str, Any]:
    base = str(request.app.state.settings.base_url).rstrip("/")
    return envelope(IcalUrlRead(url=f"{base}/ical/{kind}/{token}.ics"))


def _calendar(feed: Feed, headers: dict[str, str] | None = None) -> Response:
    return Response(
        feed.body,
        media_type=MEDIA_TYPE,
        headers={
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": f'inline; filename="{feed.filename}"',
            **(headers or {}),
        },
    )


def _window(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    return ical_feeds.feed_window(instant(since, "since"), instant(until, "until"), now)


def _may_manage_user_feed(key: KeyRecord, user_id: str) -> None:
    """A user's feed URL is a secret: ``users:write``, or that user's own key (reading schedules)."""
    if grants(key.scopes, "users:write"):
        return
    if key.user_id == user_id and grants(key.scopes, "schedules:read"):
        return
    raise ApiError(
        "FORBIDDEN",
        "A user's calendar URL needs the 'users:write' scope, or that user's own key",
        {"required_scope": "users:write"},
    )


# --- keyed, under /api -----------------------------------------------------------------------------


@router.get(
    "/api/schedules/{schedule_id}/ical",
    response_class=Response,
    responses={200: _CALENDAR},
    summary="Get a schedule's iCal feed",
)
def get_schedule_feed(
    schedule_id: str, key: SchedulesRead, db: Db, now: Now, since: str | None = None, until: str | None = None
) -> Response:
    """The schedule's final shifts as ``text/calendar``: from 7 days ago to 60 days ahead, or
    ``since``/``until`` (RFC 3339 with offset, at most 180 days)."""
    window = _window(since, until, now)
    with db.read() as session:
        feed = ical_feeds.schedule_feed(
            session=session,
            tenant=key.tenant,
            schedule_id=schedule_id,
            since=window[0],
            until=window[1],
            now=now,
        )
    return _calendar(feed)


@router.get(
    "/api/schedules/{schedule_id}/ical-url",
    response_model=Envelope[IcalUrlRead],
    summary="Get a schedule's secret feed URL",
)
def get_schedule_feed_url(schedule_id: str, request: Request, key: SchedulesRead, db: Db) -> dict[str, Any]:
    """The URL calendar clients subscribe to without a key. Anyone holding it can read the feed."""
    with db.read() as session:
        token = ical_feeds.schedule_token(session=session, tenant=key.tenant, schedule_id=schedule_id)
    return _url(request, "schedules", token)


@router.post(
    "/api/schedules/{schedule_id}/ical-url/rotate",
    response_model=Envelope[IcalUrlRead],
    summary="Rotate a schedule's secret feed URL",
)
def rotate_schedule_feed_url(
    schedule_id: str, request: Request, key: SchedulesWrite, db: Db
) -> dict[str, Any]:
    """A new URL; the old one answers 404 from now on."""
    with db.write() as session:
        token = ical_feeds.rotate_schedule_token(session=session, tenant=key.tenant, schedule_id=schedule_id)
    return _url(request, "schedules", token)


@router.get(
    "/api/users/{user_id}/ical",
    response_class=Response,
    responses={200: _CALENDAR},
    summary="Get a user's iCal feed",
)
def get_user_feed(
    user_id: str, key: SchedulesRead, db: Db, now: Now, since: str | None = None, until: str | None = None
) -> Response:
    """The user's final shifts across the org's schedules, each event naming its schedule; the window
    is as for a schedule's feed."""
    window = _window(since, until, now)
    with db.read() as session:
        feed = ical_feeds.user_feed(
            session=session, tenant=key.tenant, user_id=user_id, since=window[0], until=window[1], now=now
        )
    return _calendar(feed)


@router.get(
    "/api/users/{user_id}/ical-url",
    response_model=Envelope[IcalUrlRead],
    summary="Get a user's secret feed URL",
)
def get_user_feed_url(user_id: str, request: Request, key: CurrentKey, db: Db) -> dict[str, Any]:
    """Needs ``users:write``, or the user's own key."""
    _may_manage_user_feed(key, user_id)
    with db.read() as session:
        token = ical_feeds.user_token(session=session, tenant=key.tenant, user_id=user_id)
    return _url(request, "users", token)


@router.post(
    "/api/users/{user_id}/ical-url/rotate",
    response_model=Envelope[IcalUrlRead],
    summary="Rotate a user's secret feed URL",
)
def rotate_user_feed_url(user_id: str, request: Request, key: CurrentKey, db: Db) -> dict[str, Any]:
    """Needs ``users:write``, or the user's own key. The old URL answers 404 from now on."""
    _may_manage_user_feed(key, user_id)
    with db.write() as session:
        token = ical_feeds.rotate_user_token(session=session, tenant=key.tenant, user_id=user_id)
    return _url(request, "users", token)


# --- secret URLs, outside /api ---------------------------------------------------------------------


async def throttle_address(request: Request) -> Decision:
    """One read-limit hit for the caller's address; 429 or 503 as the API gate answers."""
    address = request.client.host if request.client else "unknown"
    try:
        decision: Decision = await request.app.state.limiter.hit("read", "ical:" + address)
    except LimiterUnavailable:
        log.error("rate limiter store unreachable; refusing calendar feed request")
        raise limiter_unavailable() from None
    if not decision.allowed:
        raise too_many(decision)
    return decision


async def _secret_feed(
    request: Request,
    lookup: Callable[..., Feed | None],
    token: str,
    since: str | None,
    until: str | None,
) -> Response:
    decision = await throttle_address(request)
    now: datetime = request.app.state.clock.now()
    window = _window(since, until, now)
    db = request.app.state.db

    def render() -> Feed | None:
        with db.read() as session:
            return lookup(session=session, token=token, since=window[0], until=window[1], now=now)

    feed = await run_in_threadpool(render)
    if feed is None:
        raise ApiError("NOT_FOUND", "No such calendar feed", headers=decision.headers())
    return _calendar(feed, decision.headers())


@router.get(
    "/ical/schedules/{token}.ics",
    response_class=Response,
    responses={200: _CALENDAR},
    summary="A schedule's feed by its secret URL",
)
async def schedule_feed_by_token(
    token: str, request: Request, since: str | None = None, until: str | None = None
) -> Response:
    """No key: the token in the URL is the secret. 404 once the URL has been rotated."""
    return await _secret_feed(request, ical_feeds.schedule_feed_by_token, token, since, until)


@router.get(
    "/ical/users/{token}.ics",
    response_class=Response,
    responses={200: _CALENDAR},
    summary="A user's feed by their secret URL",
)
async def user_feed_by_token(
    token: str, request: Request, since: str | None = None, until: str | None = None
) -> Response:
    """No key: the token in the URL is the secret. 404 once the URL has been rotated."""
    return await _secret_feed(request, ical_feeds.user_feed_by_token, token, since, until)
