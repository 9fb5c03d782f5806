"""``/api/escalation-policies``: policies with their ordered rules of targets, and the services that
page through each (spec 003 lists the resource; the shape follows schedules)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tocsin.api.deps import DEFAULT_PAGE, Db, Limit, Now, Offset, ServicesRead, ServicesWrite
from tocsin.api.schemas.common import Envelope, ListEnvelope, envelope, page_envelope
from tocsin.api.schemas.escalation_policies import (
    EscalationPolicyCreate,
    EscalationPolicyRead,
    EscalationPolicyUpdate,
)
from tocsin.domain.actor import Tenant
from tocsin.services.escalation import policies as escalation_policies
from tocsin.services.query import csv_values

router = APIRouter(prefix="/api/escalation-policies", tags=["escalation-policies"])


def _read(session: Any, tenant: Tenant, items: list[Any]) -> list[EscalationPolicyRead]:
    """Policies with their targets named and their services listed: one query per target type and
    one for the services, for the whole page."""
    targets = escalation_policies.lookup_targets(
        session=session, tenant=tenant, targets=escalation_policies.policy_targets(items)
    )
    services = escalation_policies.services_using(
        session=session, tenant=tenant, policy_ids=[policy.id for policy in items]
    )
    return [EscalationPolicyRead.of(policy, targets, services) for policy in items]


@router.get("", response_model=ListEnvelope[EscalationPolicyRead], summary="List escalation policies")
def list_policies(
    key: ServicesRead,
    db: Db,
    team_id: str | None = None,
    query: str | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Sorted by name. ``team_id`` takes comma-separated values; ``query`` matches part of the name."""
    with db.read() as session:
        page = escalation_policies.list_policies(
            session=session,
            tenant=key.tenant,
            team_ids=csv_values(team_id),
            query=query.strip() if query and query.strip() else None,
            limit=limit,
            offset=offset,
        )
        result = page_envelope(page)
        result["data"] = _read(session, key.tenant, list(page.items))
        return result


@router.post(
    "",
    status_code=201,
    response_model=Envelope[EscalationPolicyRead],
    summary="Create an escalation policy",
)
def create_policy(body: EscalationPolicyCreate, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    """1-20 rules of 1-20 targets each; every target must be a user, schedule or team of the org."""
    with db.write() as session:
        policy = escalation_policies.create_policy(
            session=session,
            tenant=key.tenant,
            now=now,
            name=body.name,
            description=body.description,
            team_id=body.team_id,
            repeat_count=body.repeat_count,
            repeat_delay_minutes=body.repeat_delay_minutes,
            rules=[rule.model_dump() for rule in body.rules],
        )
        return envelope(_read(session, key.tenant, [policy])[0])


@router.get("/{policy_id}", response_model=Envelope[EscalationPolicyRead], summary="Get an escalation policy")
def get_policy(policy_id: str, key: ServicesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        policy = escalation_policies.get_policy(session=session, tenant=key.tenant, policy_id=policy_id)
        return envelope(_read(session, key.tenant, [policy])[0])


@router.patch(
    "/{policy_id}", response_model=Envelope[EscalationPolicyRead], summary="Update an escalation policy"
)
def update_policy(
    policy_id: str, body: EscalationPolicyUpdate, key: ServicesWrite, db: Db, now: Now
) -> dict[str, Any]:
    """Only the fields sent change. ``rules`` replaces the list: a rule sent with its ``id`` keeps
    that id, one sent without gets a new one, rules left out are deleted."""
    changes = body.model_dump(include=body.model_fields_set)
    with db.write() as session:
        policy = escalation_policies.update_policy(
            session=session, tenant=key.tenant, policy_id=policy_id, changes=changes, now=now
        )
        return envelope(_read(session, key.tenant, [policy])[0])


@router.delete(
    "/{policy_id}", status_code=204, response_class=Response, summary="Delete an escalation policy"
)
def delete_policy(policy_id: str, key: ServicesWrite, db: Db) -> Response:
    """Refused with 409 CONFLICT, naming them in ``details.services``, while services use it."""
    with db.write() as session:
        escalation_policies.delete_policy(session=session, tenant=key.tenant, policy_id=policy_id)
    return Response(status_code=204)
