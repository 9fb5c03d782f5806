"""Readiness of a tenant, or of one service, policy or schedule: "will this page reach someone?",
now and at every instant of the next seven days.

A scoped view is the tenant's report filtered to the findings that involve the object, so the
views always agree with the whole. The caller says which channel types the server can send on
(the API layer reads them from the settings; services never import the channels); test-mode data
pages into the sink, where every type is delivered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from tocsin.db.models import EscalationPolicy, Schedule, Service
from tocsin.domain.actor import Tenant
from tocsin.domain.coverage import Span, span_text
from tocsin.services.catalog.services import get_service
from tocsin.services.escalation.policies import get_policy
from tocsin.services.people.contact_addresses import CONTACT_TYPES
from tocsin.services.readiness import findings as f
from tocsin.services.readiness.levels import policy_findings
from tocsin.services.readiness.picture import Picture, load, on_call_in
from tocsin.services.readiness.reach import not_configured, people_findings
from tocsin.services.schedules.schedules import get_schedule

HORIZON: Final = timedelta(days=7)


def _service_findings(picture: Picture, configured: Collection[str]) -> list[f.Finding]:
    found: list[f.Finding] = []
    for service in picture.services:
        subject = f.Ref("service", service.id, service.name)
        policy = picture.policies.get(service.escalation_policy_id or "")
        if policy is None:
            why = (
                "has no escalation policy"
                if service.escalation_policy_id is None
                else f"names escalation policy {service.escalation_policy_id}, which no longer exists"
            )
            message = f"'{service.name}' {why}: its incidents page nobody"
            found.append(f.Finding(f.ERROR, f.SERVICE_WITHOUT_POLICY, subject, message))
        related = () if policy is None else (f.Ref("escalation_policy", policy.id, policy.name),)
        for window in picture.maintenance.get(service.id, ()):
            span = Span(max(window.start, picture.window.start), min(window.end, picture.window.end))
            message = (
                f"'{service.name}' is in maintenance from {span_text(span)}: its incidents then are "
                "suppressed and page nobody"
            )
            found.append(
                f.Finding(f.WARNING, f.SERVICE_IN_MAINTENANCE, subject, message, span, related=related)
            )
        for room in picture.rooms.get(service.id, ()):
            if room.type in configured:
                continue
            message = (
                f"'{service.name}' posts to a {room.type} room that cannot be sent to: "
                f"{not_configured(room.type)}"
            )
            room_ref = f.Ref("service_channel", room.id, room.label or room.type)
            found.append(
                f.Finding(f.WARNING, f.CHANNEL_NOT_CONFIGURED, subject, message, related=(*related, room_ref))
            )
    return found


def assess(picture: Picture, configured: Collection[str]) -> list[f.Finding]:
    """Every finding of the tenant, ordered; pure over the loaded picture."""
    found = _service_findings(picture, configured)
    reached_by: dict[str, list[f.Ref]] = defaultdict(list)
    for policy in picture.policies.values():
        policy_ref = f.Ref("escalation_policy", policy.id, policy.name)
        services = [f.Ref("service", s.id, s.name) for s in picture.services_using(policy.id)]
        holes, levels = policy_findings(picture, policy)
        found += holes
        for level in levels:
            for user_id in level.people:
                reached_by[user_id] += [policy_ref, *services, *level.schedules]
    for user_id, schedule_ids in on_call_in(picture).items():
        reached_by[user_id] += [f.Ref("schedule", s, picture.schedule_names[s]) for s in schedule_ids]
    found += people_findings(picture, configured, dict(reached_by))
    return f.ordered(found)


def _usable(tenant: Tenant, configured: Collection[str]) -> frozenset[str]:
    """Test-mode pages go to the sink, which takes every type."""
    return frozenset(configured) if tenant.livemode else frozenset(CONTACT_TYPES)


def check_tenant(*, session: Session, tenant: Tenant, now: datetime, configured: Collection[str]) -> f.Report:
    """The tenant's readiness from ``now`` for ``HORIZON``; ``configured``: the channel types the
    server can send live pages on."""
    window = Span(now, now + HORIZON)
    picture = load(session=session, tenant=tenant, window=window)
    return f.Report(now, window, assess(picture, _usable(tenant, configured)))


def check_service(
    *, session: Session, tenant: Tenant, service_id: str, now: datetime, configured: Collection[str]
) -> f.Report:
    """What stands between the service's incidents and a person; 404 for an unknown id."""
    service = get_service(session=session, tenant=tenant, service_id=service_id)
    report = check_tenant(session=session, tenant=tenant, now=now, configured=configured)
    return report.only(f.Ref("service", service.id, service.name))


def check_policy(
    *, session: Session, tenant: Tenant, policy_id: str, now: datetime, configured: Collection[str]
) -> f.Report:
    policy = get_policy(session=session, tenant=tenant, policy_id=policy_id)
    report = check_tenant(session=session, tenant=tenant, now=now, configured=configured)
    return report.only(f.Ref("escalation_policy", policy.id, policy.name))


def check_schedule(
    *, session: Session, tenant: Tenant, schedule_id: str, now: datetime, configured: Collection[str]
) -> f.Report:
    """The holes the schedule leaves in the levels that page through it, and its people."""
    schedule = get_schedule(session=session, tenant=tenant, schedule_id=schedule_id)
    report = check_tenant(session=session, tenant=tenant, now=now, configured=configured)
    return report.only(f.Ref("schedule", schedule.id, schedule.name))


def count_findings(
    *, session: Session, now: datetime, configured: Collection[str]
) -> Counter[tuple[str, str]]:
    """Findings by (severity, kind) across every live tenant that has something to page through,
    for the ``tocsin_readiness_findings`` gauge (test-mode data pages nobody real: left out)."""
    orgs = session.scalars(
        union(
            select(Service.org_id).where(Service.livemode.is_(True)),
            select(EscalationPolicy.org_id).where(EscalationPolicy.livemode.is_(True)),
            select(Schedule.org_id).where(Schedule.livemode.is_(True)),
        )
    ).all()
    total: Counter[tuple[str, str]] = Counter()
    for org_id in orgs:
        tenant = Tenant(org_id, True)
        total += check_tenant(session=session, tenant=tenant, now=now, configured=configured).tally()
    return total
