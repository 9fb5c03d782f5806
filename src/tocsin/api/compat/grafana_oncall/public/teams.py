"""Grafana OnCall ``/api/v1/teams``: our teams, oldest first, 50 a page; ``name`` matches exactly.

We have no Grafana team id, team email or avatar: ``grafana_id`` and ``email`` are ``null`` and
``avatar_url`` is ``""``."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from tocsin.api.compat.grafana_oncall.public.common import SlashRouter
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.deps import Db, TeamsRead
from tocsin.db.models import Team
from tocsin.services.pagination import Page
from tocsin.services.people import lookup as people
from tocsin.services.people import teams

router = SlashRouter()


def _render(team: Team) -> dict[str, Any]:
    return {"id": team.id, "grafana_id": None, "name": team.name, "email": None, "avatar_url": ""}


@router.get("/teams", summary="List teams (Grafana OnCall)")
def list_teams(request: Request, key: TeamsRead, db: Db, name: str | None = None) -> dict[str, Any]:
    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[Team]:
            return people.list_teams(
                session=session, tenant=key.tenant, name=name, limit=limit, offset=offset
            )

        return page_of(request, fetch, _render)


@router.get("/teams/{team_id}", summary="Get a team (Grafana OnCall)")
def get_team(team_id: str, key: TeamsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return _render(teams.get_team(session=session, tenant=key.tenant, team_id=team_id))
