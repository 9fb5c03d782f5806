"""Who an incident on each service would page first, right now: the first level of its escalation
policy resolved through the same ``escalation.targets`` the engine uses, so the home screen's
answer and the page that follows can never disagree.

"First" is the first rule that notifies anyone (a leading ``wait`` rule delays the page, it does
not change who gets it). A service without a policy, or whose policy pages nobody at that level
now, says so: an empty answer at 3 am is the one worth seeing before an incident arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, Service
from tocsin.domain.actor import Tenant
from tocsin.services.escalation.targets import Person, resolve_targets
from tocsin.services.sql import tenant_filter

NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class FirstResponders:
    service_id: str
    service_name: str
    policy_id: str | None
    policy_name: str | None
    people: tuple[Person, ...]
    # Why nobody is listed ("no escalation policy", "nobody is on call in schedule …"), or empty.
    notes: tuple[str, ...]


def first_responders(*, session: Session, tenant: Tenant, at: datetime) -> list[FirstResponders]:
    """Every service of the tenant, by name, with the people its policy's first level pages at
    ``at``."""
    services = session.scalars(
        select(Service).where(*tenant_filter(Service, tenant)).order_by(Service.name, Service.id)
    ).all()
    policy_ids = {service.escalation_policy_id for service in services if service.escalation_policy_id}
    policies = {
        policy.id: policy
        for policy in session.scalars(
            select(EscalationPolicy)
            .where(*tenant_filter(EscalationPolicy, tenant), EscalationPolicy.id.in_(policy_ids))
            .options(selectinload(EscalationPolicy.rules))
        )
    }
    answers = []
    for service in services:
        policy = policies.get(service.escalation_policy_id or "")
        if policy is None:
            missing = ("no escalation policy",)
            answers.append(FirstResponders(service.id, service.name, None, None, (), missing))
            continue
        rule = next((rule for rule in policy.rules if rule.kind == NOTIFY), None)
        people: list[Person] = []
        notes = ["the policy has no level that pages anyone"]
        if rule is not None:
            people, notes = resolve_targets(session=session, tenant=tenant, targets=rule.targets, at=at)
        answers.append(
            FirstResponders(service.id, service.name, policy.id, policy.name, tuple(people), tuple(notes))
        )
    return answers
