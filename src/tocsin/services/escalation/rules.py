"""One escalation rule at a time: list, add at a position, change, move and delete the rules of a
policy, renumbering the others so positions stay ``0..n-1``. Grafana OnCall's API edits a chain
step by step this way; the native API replaces the whole list (``escalation_policies``).

Rule specs are checked by ``escalation_policies.check_rule``, so both ways of editing accept and
refuse exactly the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, EscalationRule
from tocsin.domain.actor import Tenant
from tocsin.ids import new_id
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.escalation.policies import MAX_RULES, check_rule, lookup_targets, rule_targets
from tocsin.services.sql import load, tenant_filter


def list_chains(*, session: Session, tenant: Tenant, policy_id: str | None = None) -> list[EscalationPolicy]:
    """Policies (oldest first) with their rules in position order, for a view of whole chains
    (Grafana OnCall's steps show a policy's delays and repeats as steps of their own, so a page
    of steps cannot be a page of rules); ``policy_id`` keeps one."""
    stmt = (
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant))
        .options(selectinload(EscalationPolicy.rules))
        .order_by(EscalationPolicy.created_at, EscalationPolicy.id)
    )
    if policy_id is not None:
        stmt = stmt.where(EscalationPolicy.id == policy_id)
    return list(session.scalars(stmt))


def get_rule(*, session: Session, tenant: Tenant, rule_id: str) -> EscalationRule:
    return load(
        session=session, model=EscalationRule, tenant=tenant, ident=rule_id, resource="escalation_rule"
    )


def _policy_for(session: Session, tenant: Tenant, policy_id: Any, field: str) -> EscalationPolicy:
    if not isinstance(policy_id, str) or not policy_id:
        raise Invalid(field, "required", "This field is required.")
    try:
        return load(
            session=session,
            model=EscalationPolicy,
            tenant=tenant,
            ident=policy_id,
            resource="escalation_policy",
        )
    except NotFound:
        raise Invalid(field, "not_found", f'Invalid pk "{policy_id}" - object does not exist.') from None


def _placed(rules: list[EscalationRule], rule: EscalationRule, position: int | None) -> list[EscalationRule]:
    """``rules`` with ``rule`` at ``position`` (the end when ``None`` or past it), renumbered."""
    others = [r for r in rules if r.id != rule.id]
    index = len(others) if position is None else max(0, min(position, len(others)))
    others.insert(index, rule)
    for number, each in enumerate(others):
        each.position = number
    return others


def add_rule(
    *,
    session: Session,
    tenant: Tenant,
    policy_id: Any,
    spec: Mapping[str, Any],
    position: int | None,
    now: datetime,
    policy_field: str = "policy_id",
) -> EscalationRule:
    """A new rule in the policy at ``position`` (0 first; ``None`` or past the end: last); the
    rules from there on move down one."""
    policy = _policy_for(session, tenant, policy_id, policy_field)
    if len(policy.rules) >= MAX_RULES:
        raise Invalid(policy_field, "too_long", f"a policy has at most {MAX_RULES} rules")
    values = check_rule(
        spec, "rule", lookup_targets(session=session, tenant=tenant, targets=rule_targets([spec]))
    )
    rule = EscalationRule(
        id=new_id("escalation_rule"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        policy_id=policy.id,
        position=len(policy.rules),
        created_at=now,
        **values,
    )
    policy.rules = _placed(list(policy.rules), rule, position)
    policy.updated_at = now
    session.flush()
    return rule


def update_rule(
    *,
    session: Session,
    tenant: Tenant,
    rule_id: str,
    spec: Mapping[str, Any] | None,
    position: int | None,
    now: datetime,
) -> EscalationRule:
    """Replace the rule's kind, delay, targets and importance with ``spec`` (when given) and move
    it to ``position`` (when given), renumbering the others."""
    rule = get_rule(session=session, tenant=tenant, rule_id=rule_id)
    policy = rule.policy
    if spec is not None:
        values = check_rule(
            spec, "rule", lookup_targets(session=session, tenant=tenant, targets=rule_targets([spec]))
        )
        for column, value in values.items():
            setattr(rule, column, value)
    if position is not None:
        policy.rules = _placed(list(policy.rules), rule, position)
    policy.updated_at = now
    session.flush()
    return rule


def delete_rule(*, session: Session, tenant: Tenant, rule_id: str, now: datetime) -> None:
    """The rules after it move up one."""
    rule = get_rule(session=session, tenant=tenant, rule_id=rule_id)
    policy = rule.policy
    remaining = [r for r in policy.rules if r.id != rule.id]
    policy.rules = remaining
    for number, each in enumerate(remaining):
        each.position = number
    policy.updated_at = now
    session.flush()
