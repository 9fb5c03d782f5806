"""Splunk On-Call teams, found by slug: the list (a bare array, as upstream), one team, its
members, its admins (members with the manager role) and its escalation policies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC
from tocsin.api.deps import Db, TeamsRead
from tocsin.services.people import directory, handles

router = APIRouter(prefix=PUBLIC + "/v1/team")


@router.get("", summary="Teams (Splunk On-Call)")
def list_teams(key: TeamsRead, db: Db) -> list[dict[str, Any]]:
    with db.read() as session:
        return [render.team_detail(team) for team in directory.teams(session=session, tenant=key.tenant)]


@router.get("/{team}", summary="One team (Splunk On-Call)")
def get_team(team: str, key: TeamsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return render.team_detail(handles.team_by_slug(session=session, tenant=key.tenant, slug=team))


@router.get("/{team}/members", summary="A team's members (Splunk On-Call)")
def members(team: str, key: TeamsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        found = handles.team_by_slug(session=session, tenant=key.tenant, slug=team)
        url = render.team_url(found.slug)
        return {
            "_selfUrl": url + "/members",
            "_teamUrl": url,
            "members": [render.member(user) for user in directory.members(found)],
        }


@router.get("/{team}/admins", summary="A team's admins (Splunk On-Call)")
def admins(team: str, key: TeamsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        found = handles.team_by_slug(session=session, tenant=key.tenant, slug=team)
        return {"teamAdmins": [render.admin(user) for user in directory.members(found, managers_only=True)]}


@router.get("/{team}/policies", summary="A team's escalation policies (Splunk On-Call)")
def policies(team: str, key: TeamsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        found = handles.team_by_slug(session=session, tenant=key.tenant, slug=team)
        entries = directory.policies(session=session, tenant=key.tenant, team_id=found.id)
        return {"policies": [render.policy_ref(entry.policy) for entry in entries]}
