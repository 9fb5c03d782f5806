"""Who each service would page now, level by level: the escalation policy's notify levels
resolved to people at an instant (``escalation.targets``, the same resolution the engine pages
through), so "who is on call for checkout" has the answer a page would have."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, Service
from tocsin.domain.actor import Tenant
from tocsin.services.escalation.targets import Person, resolve_targets
from tocsin.services.sql import tenant_filter


@dataclass(frozen=True, slots=True)
class Level:
    number: int  # 1 is the first level paged
    delay_minutes: int
    people: tuple[Person, ...]
    # Why someone is missing ("nobody is on call in schedule …"), from ``resolve_targets``.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceOnCall:
    service_id: str
    service_name: str
    policy_id: str | None
    policy_name: str | None
    levels: tuple[Level, ...]


def services_on_call(
    *, session: Session, tenant: Tenant, at: datetime, levels: int | None = None
) -> list[ServiceOnCall]:
    """Every service by name with its policy's notify levels at ``at`` (the first ``levels`` of
    them when given: Home needs only the first); a service without a policy has no levels
    (nobody is paged for it, which the screens say)."""
    services = session.scalars(
        select(Service).where(*tenant_filter(Service, tenant)).order_by(Service.name, Service.id)
    ).all()
    wanted = {s.escalation_policy_id for s in services if s.escalation_policy_id}
    policies = {
        p.id: p
        for p in session.scalars(
            select(EscalationPolicy)
            .where(*tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id.in_(wanted))
            .options(selectinload(EscalationPolicy.rules))
        )
    }
    found = []
    for service in services:
        policy = policies.get(service.escalation_policy_id or "")
        resolved: list[Level] = []
        if policy is not None:
            for rule in sorted(policy.rules, key=lambda r: r.position):
                if rule.kind != "notify" or (levels is not None and len(resolved) >= levels):
                    continue
                people, notes = resolve_targets(session=session, tenant=tenant, targets=rule.targets, at=at)
                resolved.append(Level(len(resolved) + 1, rule.delay_minutes, tuple(people), tuple(notes)))
        found.append(
            ServiceOnCall(
                service.id,
                service.name,
                policy.id if policy else None,
                policy.name if policy else None,
                tuple(resolved),
            )
        )
    return found
