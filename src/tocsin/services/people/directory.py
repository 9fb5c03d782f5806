"""Who and what an org has, found by the handles foreign APIs name them by: teams by slug with
their members and policies, the teams of a user, escalation policies by "slug", routing keys with
where they lead.

Our escalation policies have no slug column: a policy's id is its slug. Clients treat slugs as
opaque strings they got from a listing, so an id serves, and it never changes on a rename."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, Integration, Service, Team, TeamMember, User
from tocsin.domain.actor import Tenant
from tocsin.services.errors import NotFound
from tocsin.services.sql import tenant_filter

MANAGER = "manager"


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """A policy with the team it belongs to (``None`` for a policy of no team)."""

    policy: EscalationPolicy
    team: Team | None


@dataclass(frozen=True, slots=True)
class RoutingKeyEntry:
    """A routing key and the policies its service pages through (none, or one)."""

    routing_key: str
    targets: tuple[PolicyEntry, ...]


def policy_by_slug(*, session: Session, tenant: Tenant, slug: str) -> EscalationPolicy:
    """The policy whose id is ``slug``; 404 naming it otherwise (also for another org's)."""
    policy = session.scalar(
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id == slug.strip())
        .options(selectinload(EscalationPolicy.rules))
    )
    if policy is None:
        raise NotFound("policy", slug)
    return policy


def teams(*, session: Session, tenant: Tenant) -> list[Team]:
    """Every team, by name, members loaded."""
    return list(
        session.scalars(
            select(Team)
            .where(*tenant_filter(Team, tenant))
            .options(selectinload(Team.members))
            .order_by(Team.name, Team.id)
        )
    )


def _with_teams(session: Session, tenant: Tenant, policies: Sequence[EscalationPolicy]) -> list[PolicyEntry]:
    team_ids = {p.team_id for p in policies if p.team_id}
    found = {
        team.id: team
        for team in session.scalars(select(Team).where(*tenant_filter(Team, tenant), Team.id.in_(team_ids)))
    }
    return [PolicyEntry(p, found.get(p.team_id) if p.team_id else None) for p in policies]


def policies(*, session: Session, tenant: Tenant, team_id: str | None = None) -> list[PolicyEntry]:
    """Every policy (or one team's), by name, with its team and rules."""
    stmt = (
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant))
        .options(selectinload(EscalationPolicy.rules))
        .order_by(EscalationPolicy.name, EscalationPolicy.id)
    )
    if team_id is not None:
        stmt = stmt.where(EscalationPolicy.team_id == team_id)
    return _with_teams(session, tenant, session.scalars(stmt).all())


def teams_of_user(*, session: Session, tenant: Tenant, user_id: str) -> list[Team]:
    """The teams ``user_id`` is a member of, by name."""
    return list(
        session.scalars(
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(*tenant_filter(Team, tenant), TeamMember.user_id == user_id)
            .options(selectinload(Team.members))
            .order_by(Team.name, Team.id)
        )
    )


def members(team: Team, *, managers_only: bool = False) -> list[User]:
    """The team's members (or only its managers, Splunk's team admins), oldest membership first."""
    return [m.user for m in team.members if not managers_only or m.role == MANAGER]


def users(*, session: Session, tenant: Tenant, email: str | None = None) -> list[User]:
    """Every user by username, or those with ``email`` (any case)."""
    stmt = select(User).where(*tenant_filter(User, tenant)).order_by(User.username, User.id)
    if email is not None:
        stmt = stmt.where(User.email == email.strip().lower())
    return list(session.scalars(stmt))


def routing_keys(*, session: Session, tenant: Tenant) -> list[RoutingKeyEntry]:
    """Every integration's routing key, by key, with the policy its service pages through."""
    rows = session.execute(
        select(Integration.routing_key, Service.escalation_policy_id)
        .join(Service, Service.id == Integration.service_id)
        .where(*tenant_filter(Integration, tenant))
        .order_by(Integration.routing_key)
    ).all()
    wanted = {row.escalation_policy_id for row in rows if row.escalation_policy_id}
    found = session.scalars(
        select(EscalationPolicy).where(
            *tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id.in_(wanted)
        )
    ).all()
    by_id = {entry.policy.id: entry for entry in _with_teams(session, tenant, found)}
    return [
        RoutingKeyEntry(
            row.routing_key,
            (by_id[row.escalation_policy_id],) if row.escalation_policy_id in by_id else (),
        )
        for row in rows
    ]
