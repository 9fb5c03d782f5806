"""Who an incident on each service would page first, right now: the first level of its escalation
policy resolved through the same ``escalation.targets`` the engine uses, so the home screen's
answer and the page that follows can never disagree.

"First" is the first rule that notifies anyone (a leading ``wait`` rule delays the page, it does
not change who gets it). A service without a policy, or whose policy pages nobody at that level
now, says so: an empty answer at 3 am is the one worth seeing before an incident arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.domain.actor import Tenant
from tocsin.services.catalog.on_call import services_on_call
from tocsin.services.escalation.targets import Person


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
    ``at`` (``on_call.services_on_call``, one level deep)."""
    answers = []
    for service in services_on_call(session=session, tenant=tenant, at=at, levels=1):
        people: tuple[Person, ...] = ()
        if service.policy_id is None:
            notes: tuple[str, ...] = ("no escalation policy",)
        elif not service.levels:
            notes = ("the policy has no level that pages anyone",)
        else:
            people, notes = service.levels[0].people, service.levels[0].notes
        answers.append(
            FirstResponders(
                service_id=service.service_id,
                service_name=service.service_name,
                policy_id=service.policy_id,
                policy_name=service.policy_name,
                people=people,
                notes=notes,
            )
        )
    return answers
