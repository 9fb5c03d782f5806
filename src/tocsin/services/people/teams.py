"""Teams and their members (with a role), which own services and, later, schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import Team, TeamMember, User
from tocsin.domain.actor import Tenant
from tocsin.ids import new_id
from tocsin.services.checks import check_name
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.people.handles import assign_slug
from tocsin.services.sql import load, tenant_filter

MEMBER_ROLES = ("manager", "responder", "observer")


def _check_name(session: Session, tenant: Tenant, name: str | None, exclude_id: str | None = None) -> str:
    value = check_name(name)
    stmt = select(Team.id).where(*tenant_filter(Team, tenant), func.lower(Team.name) == value.lower())
    if exclude_id:
        stmt = stmt.where(Team.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a team named {value!r} already exists", {"field": "name"})
    return value


def _check_role(role: str) -> str:
    if role not in MEMBER_ROLES:
        raise Invalid("role", "invalid", f"role must be one of {', '.join(MEMBER_ROLES)}")
    return role


def create_team(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    name: str,
    description: str | None = None,
    members: list[dict[str, Any]] | None = None,
    slug: str | None = None,
) -> Team:
    """A new team; ``slug`` (Splunk On-Call's handle) is derived from the name when not given."""
    checked_name = _check_name(session, tenant, name)
    team = Team(
        id=new_id("team"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        name=checked_name,
        slug=assign_slug(session=session, tenant=tenant, wanted=slug, name=checked_name),
        description=description,
        created_at=now,
        updated_at=now,
    )
    session.add(team)
    session.flush()
    for member in members or []:
        add_member(session=session, tenant=tenant, team_id=team.id, now=now, **member)
    return team


def get_team(*, session: Session, tenant: Tenant, team_id: str) -> Team:
    return load(session=session, model=Team, tenant=tenant, ident=team_id, resource="team")


def list_teams(
    *, session: Session, tenant: Tenant, query: str | None = None, limit: int, offset: int
) -> Page[Team]:
    stmt = (
        select(Team)
        .where(*tenant_filter(Team, tenant))
        .options(selectinload(Team.members))
        .order_by(Team.name, Team.id)
    )
    if query:
        stmt = stmt.where(func.lower(Team.name).contains(query.strip().lower(), autoescape=True))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_team(
    *, session: Session, tenant: Tenant, team_id: str, changes: dict[str, Any], now: datetime
) -> Team:
    team = get_team(session=session, tenant=tenant, team_id=team_id)
    if "name" in changes:
        team.name = _check_name(session, tenant, changes["name"], exclude_id=team.id)
    if changes.get("slug") is not None:
        team.slug = assign_slug(
            session=session, tenant=tenant, wanted=changes["slug"], name=team.name, exclude_id=team.id
        )
    if "description" in changes:
        team.description = changes["description"]
    team.updated_at = now
    session.flush()
    return team


def delete_team(*, session: Session, tenant: Tenant, team_id: str) -> None:
    session.delete(get_team(session=session, tenant=tenant, team_id=team_id))
    session.flush()


def add_member(
    *, session: Session, tenant: Tenant, team_id: str, user_id: str, now: datetime, role: str = "responder"
) -> TeamMember:
    team = get_team(session=session, tenant=tenant, team_id=team_id)
    user = session.scalar(select(User).where(*tenant_filter(User, tenant), User.id == user_id))
    if user is None:
        raise Invalid("user_id", "not_found", f"unknown user id {user_id!r}")
    if any(member.user_id == user_id for member in team.members):
        raise Conflict("that user is already a member of the team", {"field": "user_id"})
    member = TeamMember(
        team_id=team.id, user_id=user.id, org_id=tenant.org_id, role=_check_role(role), created_at=now
    )
    team.members.append(member)
    team.updated_at = now
    session.flush()
    return member


def _member(team: Team, user_id: str) -> TeamMember:
    for member in team.members:
        if member.user_id == user_id:
            return member
    raise NotFound("team member", user_id)


def update_member(
    *, session: Session, tenant: Tenant, team_id: str, user_id: str, role: str, now: datetime
) -> TeamMember:
    team = get_team(session=session, tenant=tenant, team_id=team_id)
    member = _member(team, user_id)
    member.role = _check_role(role)
    team.updated_at = now
    session.flush()
    return member


def remove_member(*, session: Session, tenant: Tenant, team_id: str, user_id: str, now: datetime) -> None:
    team = get_team(session=session, tenant=tenant, team_id=team_id)
    team.members.remove(_member(team, user_id))
    team.updated_at = now
    session.flush()
