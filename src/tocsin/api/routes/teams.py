"""``/api/teams``: teams and their members (with a role) (spec 003)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, TeamsRead, TeamsWrite
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.teams import (
    TeamCreate,
    TeamMemberCreate,
    TeamMemberRead,
    TeamMemberUpdate,
    TeamRead,
    TeamUpdate,
)
from tocsin.services.pagination import Page
from tocsin.services.people import teams

router = APIRouter(prefix="/api/teams", tags=["teams"])


@router.get("", response_model=ListEnvelope[TeamRead], summary="List teams")
def list_teams(
    key: TeamsRead, db: Db, query: str | None = None, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """Ordered by name; ``query`` is a substring of the name."""
    with db.read() as session:
        page = teams.list_teams(session=session, tenant=key.tenant, query=query, limit=limit, offset=offset)
        return page_envelope(page, TeamRead.of)


@router.post("", status_code=201, response_model=Envelope[TeamRead], summary="Create a team")
def create_team(body: TeamCreate, key: TeamsWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        team = teams.create_team(
            session=session,
            tenant=key.tenant,
            now=now,
            name=body.name,
            description=body.description,
            members=[member.model_dump() for member in body.members],
            slug=body.slug,
        )
        return envelope(TeamRead.of(team))


@router.get("/{team_id}", response_model=Envelope[TeamRead], summary="Get a team")
def get_team(team_id: str, key: TeamsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return envelope(TeamRead.of(teams.get_team(session=session, tenant=key.tenant, team_id=team_id)))


@router.patch("/{team_id}", response_model=Envelope[TeamRead], summary="Update a team")
def update_team(team_id: str, body: TeamUpdate, key: TeamsWrite, db: Db, now: Now) -> dict[str, Any]:
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        team = teams.update_team(
            session=session, tenant=key.tenant, team_id=team_id, changes=changes, now=now
        )
        return envelope(TeamRead.of(team))


@router.delete("/{team_id}", status_code=204, response_class=Response, summary="Delete a team")
def delete_team(team_id: str, key: TeamsWrite, db: Db) -> Response:
    """Services and incidents of the team keep existing, with no team."""
    with db.write() as session:
        teams.delete_team(session=session, tenant=key.tenant, team_id=team_id)
    return Response(status_code=204)


@router.get("/{team_id}/members", response_model=ListEnvelope[TeamMemberRead], summary="List members")
def list_members(
    team_id: str, key: TeamsRead, db: Db, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> dict[str, Any]:
    """In the order they joined."""
    with db.read() as session:
        members = teams.get_team(session=session, tenant=key.tenant, team_id=team_id).members
        page = Page(items=members[offset : offset + limit], total=len(members), limit=limit, offset=offset)
        return page_envelope(page, TeamMemberRead.of)


@router.post(
    "/{team_id}/members", status_code=201, response_model=Envelope[TeamMemberRead], summary="Add a member"
)
def add_member(team_id: str, body: TeamMemberCreate, key: TeamsWrite, db: Db, now: Now) -> dict[str, Any]:
    with db.write() as session:
        member = teams.add_member(
            session=session, tenant=key.tenant, team_id=team_id, user_id=body.user_id, role=body.role, now=now
        )
        return envelope(TeamMemberRead.of(member))


@router.patch(
    "/{team_id}/members/{user_id}", response_model=Envelope[TeamMemberRead], summary="Change a member's role"
)
def update_member(
    team_id: str, user_id: str, body: TeamMemberUpdate, key: TeamsWrite, db: Db, now: Now
) -> dict[str, Any]:
    with db.write() as session:
        member = teams.update_member(
            session=session, tenant=key.tenant, team_id=team_id, user_id=user_id, role=body.role, now=now
        )
        return envelope(TeamMemberRead.of(member))


@router.delete(
    "/{team_id}/members/{user_id}", status_code=204, response_class=Response, summary="Remove a member"
)
def remove_member(team_id: str, user_id: str, key: TeamsWrite, db: Db, now: Now) -> Response:
    with db.write() as session:
        teams.remove_member(session=session, tenant=key.tenant, team_id=team_id, user_id=user_id, now=now)
    return Response(status_code=204)
