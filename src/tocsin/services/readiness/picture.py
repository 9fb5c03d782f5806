"""One tenant as readiness sees it, loaded in a fixed number of queries whatever its size: services,
policies with their levels, every schedule's final shifts over the window (the same snapshots and
rotation math that page people, ``schedules.oncall``), teams, and the people who may be paged with
their contact methods and notification rules.

Loading is the only I/O; ``levels`` and ``reach`` compute from this snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import (
    ContactMethod,
    EscalationPolicy,
    MaintenanceWindow,
    NotificationRule,
    Org,
    Schedule,
    Service,
    ServiceChannel,
    Team,
    TeamMember,
    User,
)
from tocsin.domain import schedule as rota
from tocsin.domain.actor import Tenant
from tocsin.domain.coverage import Span, merge
from tocsin.services.schedules import oncall
from tocsin.services.sql import tenant_filter

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Picture:
    """The tenant at ``window.start`` and its shifts until ``window.end``."""

    tenant: Tenant
    window: Span
    services: Sequence[Service]
    by_policy: Mapping[str, Sequence[Service]]  # the services paging through each policy
    maintenance: Mapping[str, Sequence[MaintenanceWindow]]  # by service id, meeting the window
    rooms: Mapping[str, Sequence[ServiceChannel]]  # by service id
    policies: Mapping[str, EscalationPolicy]  # with their rules
    schedule_names: Mapping[str, str]
    shifts: Mapping[str, Sequence[rota.Shift]]  # final shifts in the window, by schedule id
    covered: Mapping[str, Sequence[Span]]  # when each schedule has someone on call (merged spans)
    teams: Mapping[str, str]  # name by id
    members: Mapping[str, Sequence[str]]  # user ids by team id, in paging order
    people: Mapping[str, Person]  # everyone who may be paged in the window
    methods: Mapping[str, Sequence[ContactMethod]]  # by user id
    rules: Mapping[str, Sequence[NotificationRule]]  # by user id
    # The org pages unverified contact methods too (``orgs.page_unverified_contacts``).
    page_unverified: bool = False

    def services_using(self, policy_id: str) -> Sequence[Service]:
        return self.by_policy.get(policy_id, ())


def _grouped(rows: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return dict(grouped)


def _targets_people(policies: Iterable[EscalationPolicy], members: Mapping[str, Sequence[str]]) -> set[str]:
    """Users a policy's rules name directly or through a team's members."""
    found: set[str] = set()
    for policy in policies:
        for rule in policy.rules:
            for target in rule.targets:
                if target.get("type") == "user":
                    found.add(str(target.get("id")))
                elif target.get("type") == "team" and not target.get("schedule_id"):
                    found.update(members.get(str(target.get("id")), ()))
    return found


def load(*, session: Session, tenant: Tenant, window: Span) -> Picture:
    """The tenant's snapshot for ``window``; about a dozen queries for any number of objects."""
    since, until = window.start, window.end
    services = session.scalars(
        select(Service).where(*tenant_filter(Service, tenant)).order_by(Service.name, Service.id)
    ).all()
    maintenance = session.scalars(
        select(MaintenanceWindow)
        .where(
            *tenant_filter(MaintenanceWindow, tenant),
            MaintenanceWindow.end > since,
            MaintenanceWindow.start < until,
        )
        .order_by(MaintenanceWindow.start)
    ).all()
    rooms = session.scalars(
        select(ServiceChannel)
        .where(*tenant_filter(ServiceChannel, tenant))
        .order_by(ServiceChannel.created_at, ServiceChannel.id)
    ).all()
    policies = session.scalars(
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant))
        .options(selectinload(EscalationPolicy.rules))
        .order_by(EscalationPolicy.name, EscalationPolicy.id)
    ).all()
    schedules = session.scalars(
        select(Schedule).where(*tenant_filter(Schedule, tenant)).order_by(Schedule.name, Schedule.id)
    ).all()
    snapshots = oncall.load_snapshots(
        session=session, tenant=tenant, schedules=schedules, since=since, until=until
    )
    shifts = {snapshot.schedule.id: snapshot.final(since, until) for snapshot in snapshots}
    teams = {
        row.id: row.name
        for row in session.execute(select(Team.id, Team.name).where(*tenant_filter(Team, tenant)))
    }
    members: dict[str, list[str]] = defaultdict(list)
    for row in session.execute(
        select(TeamMember.team_id, TeamMember.user_id)
        .where(TeamMember.org_id == tenant.org_id, TeamMember.team_id.in_(list(teams)))
        .order_by(TeamMember.created_at, TeamMember.user_id)
    ):
        members[row.team_id].append(row.user_id)
    wanted = _targets_people(policies, members) | {s.user_id for found in shifts.values() for s in found}
    people = {
        row.id: Person(row.id, row.name, row.email)
        for row in session.execute(
            select(User.id, User.name, User.email).where(*tenant_filter(User, tenant), User.id.in_(wanted))
        )
    }
    methods = session.scalars(
        select(ContactMethod)
        .where(*tenant_filter(ContactMethod, tenant), ContactMethod.user_id.in_(list(people)))
        .order_by(ContactMethod.created_at, ContactMethod.id)
    ).all()
    rules = session.scalars(
        select(NotificationRule)
        .where(*tenant_filter(NotificationRule, tenant), NotificationRule.user_id.in_(list(people)))
        .order_by(NotificationRule.urgency, NotificationRule.delay_minutes, NotificationRule.id)
    ).all()
    page_unverified = bool(
        session.scalar(select(Org.page_unverified_contacts).where(Org.id == tenant.org_id))
    )
    return Picture(
        tenant=tenant,
        window=window,
        services=services,
        by_policy=_grouped(
            (s for s in services if s.escalation_policy_id), lambda s: s.escalation_policy_id or ""
        ),
        maintenance=_grouped(maintenance, lambda row: row.service_id),
        rooms=_grouped(rooms, lambda row: row.service_id),
        policies={policy.id: policy for policy in policies},
        schedule_names={schedule.id: schedule.name for schedule in schedules},
        shifts=shifts,
        covered={schedule_id: merge(clipped(found, window)) for schedule_id, found in shifts.items()},
        teams=teams,
        members=dict(members),
        people=people,
        methods=_grouped(methods, lambda row: row.user_id),
        rules=_grouped(rules, lambda row: row.user_id),
        page_unverified=page_unverified,
    )


def clipped(shifts: Iterable[rota.Shift], window: Span) -> list[Span]:
    """Shifts as spans inside the window (the snapshot already cut them there; this guards it)."""
    spans = []
    for shift in shifts:
        start, end = max(shift.start, window.start), min(shift.end, window.end)
        if start < end:
            spans.append(Span(start, end))
    return spans


def on_call_in(picture: Picture) -> dict[str, list[str]]:
    """The schedules each person is on call in during the window (schedule ids, by user id)."""
    found: dict[str, list[str]] = defaultdict(list)
    for schedule_id, shifts in picture.shifts.items():
        for user_id in dict.fromkeys(shift.user_id for shift in shifts):
            found[user_id].append(schedule_id)
    return dict(found)
