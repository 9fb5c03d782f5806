"""Grafana OnCall ``/api/v1/users``: our users, oldest first, 100 a page.

- ``role``: admin → ``admin``, user → ``editor``, observer → ``viewer``. The ``roles`` filter takes
  Grafana's numbers (0 admin, 1 editor, 2 viewer, 3 none) as upstream, and the names too.
- ``email`` and ``username`` filters match exactly, ignoring case; ``short=true`` gives the short
  form (no ``slack``, ``timezone``, ``teams``).
- ``grafana_id`` and ``slack`` are ``null`` (we have neither); ``is_phone_number_verified`` is
  whether the user has a phone number, since we page it without a verification step.
- ``current`` is the key's user; a service key has none, so it is 404.
- ``{id}/schedule_export`` is the user's iCal feed of final shifts across the org's schedules
  (7 days back, 60 ahead), as our ``/api/users/{id}/ical``.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request
from starlette.responses import Response

from tocsin.api.compat.grafana_oncall.public.common import SlashRouter, invalid
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.deps import Db, Now, SchedulesRead, UsersRead
from tocsin.db.models import User
from tocsin.services.access.keys import KeyRecord
from tocsin.services.errors import NotFound
from tocsin.services.pagination import Page
from tocsin.services.people import lookup as people
from tocsin.services.people import users
from tocsin.services.schedules import ical_feeds

router = SlashRouter()

DEFAULT_SIZE = 100
GRAFANA_ROLE: Final = {"admin": "admin", "user": "editor", "observer": "viewer"}
# Grafana's legacy role filter values (numbers, as upstream) and names → our roles; "none" is nobody.
_ROLE_FILTER: Final[dict[str, str | None]] = {
    "0": "admin",
    "1": "user",
    "2": "observer",
    "3": None,
    "admin": "admin",
    "editor": "user",
    "viewer": "observer",
    "none": None,
}
_NOBODY = "__none__"


def _render(user: User, team_ids: list[str], *, short: bool) -> dict[str, Any]:
    common = {"id": user.id, "grafana_id": None, "email": user.email}
    tail = {
        "username": user.username,
        "role": GRAFANA_ROLE.get(user.role, "none"),
        "is_phone_number_verified": user.phone is not None,
    }
    if short:
        return {**common, **tail}
    return {**common, "slack": None, **tail, "timezone": user.time_zone, "teams": team_ids}


def _roles(raw: list[str]) -> tuple[str, ...]:
    roles: list[str] = []
    for value in raw:
        if value.strip().lower() not in _ROLE_FILTER:
            raise invalid("roles", f"Select a valid choice. {value} is not one of the available choices.")
        roles.append(_ROLE_FILTER[value.strip().lower()] or _NOBODY)
    return tuple(roles)


def _user_id(user_id: str, key: KeyRecord) -> str:
    if user_id != "current":
        return user_id
    if key.user_id is None:
        raise NotFound("user", user_id)
    return key.user_id


@router.get("/users", summary="List users (Grafana OnCall)")
def list_users(
    request: Request,
    key: UsersRead,
    db: Db,
    email: str | None = None,
    username: str | None = None,
    short: str | None = None,
) -> dict[str, Any]:
    roles = _roles(request.query_params.getlist("roles"))
    is_short = short == "true"
    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[User]:
            return people.list_users(
                session=session,
                tenant=key.tenant,
                email=email,
                username=username,
                roles=roles,
                limit=limit,
                offset=offset,
            )

        def render_page(page: Page[User]) -> Page[dict[str, Any]]:
            teams = (
                {}
                if is_short
                else people.team_ids_of(
                    session=session, tenant=key.tenant, user_ids=[user.id for user in page.items]
                )
            )
            items = [_render(user, teams.get(user.id, []), short=is_short) for user in page.items]
            return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)

        return page_of(
            request, lambda limit, offset: render_page(fetch(limit, offset)), lambda row: row, DEFAULT_SIZE
        )


@router.get("/users/{user_id}", summary="Get a user, or `current` (Grafana OnCall)")
def get_user(user_id: str, key: UsersRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        user = users.get_user(session=session, tenant=key.tenant, user_id=_user_id(user_id, key))
        teams = people.team_ids_of(session=session, tenant=key.tenant, user_ids=[user.id])
        return _render(user, teams.get(user.id, []), short=False)


@router.get("/users/{user_id}/schedule_export", summary="A user's on-call shifts as iCal (Grafana OnCall)")
def schedule_export(user_id: str, key: SchedulesRead, db: Db, now: Now) -> Response:
    since, until = ical_feeds.feed_window(None, None, now)
    with db.read() as session:
        feed = ical_feeds.user_feed(
            session=session,
            tenant=key.tenant,
            user_id=_user_id(user_id, key),
            since=since,
            until=until,
            now=now,
        )
    return Response(feed.body, media_type="text/calendar; charset=utf-8")
