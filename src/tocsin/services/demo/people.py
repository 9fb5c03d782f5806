"""The demo org's people, apart from its services and schedule so ``demo.py`` stays one job: three
users in three time zones, the Payments team they belong to, and an email contact method each, so
a demo page has somebody to reach. Safe to run again: only what is missing is created."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from tocsin.db.models import Team
from tocsin.domain.actor import Tenant
from tocsin.services.people import contacts, teams, users


@dataclass(frozen=True, slots=True)
class DemoUser:
    name: str
    email: str
    role: str
    time_zone: str
    team_role: str


DEMO_USERS: Final = (
    DemoUser("Alice Smith", "alice@demo.tocsin.dev", "admin", "America/New_York", "manager"),
    DemoUser("Bob Jones", "bob@demo.tocsin.dev", "user", "Europe/Berlin", "responder"),
    DemoUser("Carol White", "carol@demo.tocsin.dev", "user", "Asia/Kolkata", "responder"),
)
DEMO_TEAM: Final = "Payments"


def _team(session: Session, tenant: Tenant, now: datetime, created: list[str]) -> Team:
    page = teams.list_teams(session=session, tenant=tenant, query=DEMO_TEAM, limit=100, offset=0)
    for team in page.items:
        if team.name.lower() == DEMO_TEAM.lower():
            return team
    created.append(f"team {DEMO_TEAM}")
    return teams.create_team(
        session=session, tenant=tenant, now=now, name=DEMO_TEAM, description="Owns payments and checkout."
    )


def seed_people(
    *, session: Session, tenant: Tenant, now: datetime, created: list[str]
) -> tuple[dict[str, str], str]:
    """The demo users and their team, found by email and name so a second run adds nobody twice.
    Returns ``(user ids by email, team id)``."""
    user_ids: dict[str, str] = {}
    for spec in DEMO_USERS:
        found = users.list_users(session=session, tenant=tenant, email=spec.email, limit=1, offset=0).items
        if found:
            user_ids[spec.email] = found[0].id
            continue
        user = users.create_user(
            session=session,
            tenant=tenant,
            now=now,
            name=spec.name,
            email=spec.email,
            role=spec.role,
            time_zone=spec.time_zone,
        )
        user_ids[spec.email] = user.id
        created.append(f"user {spec.email}")
    team = _team(session, tenant, now, created)
    members = {member.user_id for member in team.members}
    for spec in DEMO_USERS:
        if user_ids[spec.email] not in members:
            teams.add_member(
                session=session,
                tenant=tenant,
                team_id=team.id,
                user_id=user_ids[spec.email],
                role=spec.team_role,
                now=now,
            )
            created.append(f"member {spec.email}")
    return user_ids, team.id


def seed_contacts(
    *, session: Session, tenant: Tenant, user_ids: dict[str, str], now: datetime, created: list[str]
) -> None:
    """Each demo user: an email contact method at their account address (so verified from the
    start, and the demo pages it), used at once for high and low urgency (the same as the
    built-in default, but visible and editable)."""
    for email, user_id in user_ids.items():
        if contacts.list_contact_methods(
            session=session, tenant=tenant, user_id=user_id, limit=1, offset=0
        ).total:
            continue
        method = contacts.create_contact_method(
            session=session,
            tenant=tenant,
            user_id=user_id,
            type="email",
            address=email,
            now=now,
            label="Work email",
        )
        for urgency in ("high", "low"):
            contacts.create_notification_rule(
                session=session,
                tenant=tenant,
                user_id=user_id,
                contact_method_id=method.id,
                urgency=urgency,
                delay_minutes=0,
                now=now,
            )
        created.append(f"contact method {email}")
