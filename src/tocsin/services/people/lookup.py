"""People and teams as directory readers (Grafana OnCall's ``users`` and ``teams``) look them up:
oldest first, exact case-insensitive matches, and each user's team ids in one query per page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.db.models import Team, TeamMember, User
from tocsin.domain.actor import Tenant
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import tenant_filter


def list_users(
    *,
    session: Session,
    tenant: Tenant,
    email: str | None = None,
    username: str | None = None,
    roles: Sequence[str] = (),
    limit: int,
    offset: int,
) -> Page[User]:
    """Oldest first; ``email`` and ``username`` match exactly, ignoring case; ``roles`` are ours."""
    stmt = select(User).where(*tenant_filter(User, tenant)).order_by(User.created_at, User.id)
    if email is not None:
        stmt = stmt.where(func.lower(User.email) == email.strip().lower())
    if username is not None:
        stmt = stmt.where(func.lower(User.username) == username.strip().lower())
    if roles:
        stmt = stmt.where(User.role.in_(list(roles)))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def team_ids_of(*, session: Session, tenant: Tenant, user_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each user's team ids, teams oldest first."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(TeamMember.user_id, Team.id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(*tenant_filter(Team, tenant), TeamMember.user_id.in_(list(user_ids)))
        .order_by(Team.created_at, Team.id)
    )
    teams: dict[str, list[str]] = defaultdict(list)
    for user_id, team_id in rows:
        teams[user_id].append(team_id)
    return dict(teams)


def list_teams(
    *, session: Session, tenant: Tenant, name: str | None = None, limit: int, offset: int
) -> Page[Team]:
    """Oldest first; ``name`` matches exactly."""
    stmt = select(Team).where(*tenant_filter(Team, tenant)).order_by(Team.created_at, Team.id)
    if name:
        stmt = stmt.where(Team.name == name)
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who a layer or shift names: as the native API shows them, and the handle Grafana OnCall and
    Splunk On-Call name them by."""

    id: str
    name: str
    email: str
    username: str | None


def user_refs(*, session: Session, tenant: Tenant, ids: Iterable[str]) -> dict[str, UserRef]:
    """Name, email and username of the tenant's users among ``ids``; a deleted user is absent."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.name, User.email, User.username).where(
            *tenant_filter(User, tenant), User.id.in_(wanted)
        )
    )
    return {row.id: UserRef(row.id, row.name, row.email, row.username) for row in rows}
