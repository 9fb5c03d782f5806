"""Who an escalation rule reaches: its targets (users, schedules, teams) resolved to people at an
instant, with notes on targets that reach nobody, for the incident's timeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import TeamMember, User
from tocsin.domain.actor import Tenant
from tocsin.services.schedules import oncall
from tocsin.services.sql import tenant_filter


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str


def people_of(*, session: Session, tenant: Tenant, ids: Iterable[str]) -> dict[str, Person]:
    """The tenant's users among ``ids`` by id; deleted ones are absent."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.name).where(*tenant_filter(User, tenant), User.id.in_(wanted))
    ).all()
    return {row.id: Person(row.id, row.name) for row in rows}


def _on_call(session: Session, tenant: Tenant, schedule_id: str, at: datetime) -> list[str]:
    return [
        user.id
        for user in oncall.on_call_users(session=session, tenant=tenant, schedule_id=schedule_id, at=at)
    ]


def resolve_targets(
    *, session: Session, tenant: Tenant, targets: Sequence[Mapping[str, Any]], at: datetime
) -> tuple[list[Person], list[str]]:
    """The people a rule pages at ``at``, in target order without repeats, and notes on targets
    that page nobody (an empty schedule, a deleted user), for the timeline."""
    ordered: list[str] = []
    notes: list[str] = []
    for target in targets:
        kind, ident = target.get("type"), str(target.get("id"))
        found: list[str]
        if kind == "user":
            found = [ident]
        elif kind == "schedule":
            found = _on_call(session, tenant, ident, at)
            if not found:
                notes.append(f"nobody is on call in schedule {ident}")
        elif kind == "team" and target.get("schedule_id"):
            found = _on_call(session, tenant, str(target["schedule_id"]), at)
            if not found:
                notes.append(f"nobody is on call in team {ident}'s schedule {target['schedule_id']}")
        elif kind == "team":
            found = list(
                session.scalars(
                    select(TeamMember.user_id)
                    .where(TeamMember.team_id == ident, TeamMember.org_id == tenant.org_id)
                    .order_by(TeamMember.created_at, TeamMember.user_id)
                )
            )
            if not found:
                notes.append(f"team {ident} has no members")
        else:
            notes.append(f"unknown target {kind!r}")
            found = []
        ordered += [user_id for user_id in found if user_id not in ordered]
    people = people_of(session=session, tenant=tenant, ids=ordered)
    missing = [user_id for user_id in ordered if user_id not in people]
    if missing:
        notes.append(f"user(s) {', '.join(missing)} no longer exist")
    return [people[user_id] for user_id in ordered if user_id in people], notes
