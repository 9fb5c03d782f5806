"""Grafana OnCall `/api/v1/escalation_policies`: the steps of a chain, one Tocsin escalation rule
each (the mapping is ``step_mapping``'s). ``position`` inserts and moves, renumbering the others."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, invalid
from tocsin.api.compat.grafana_oncall.public.pagination import paginated, slice_page
from tocsin.api.compat.grafana_oncall.public.step_mapping import (
    REPEAT_SUFFIX,
    REPEAT_WAIT_SUFFIX,
    WAIT_SUFFIX,
    chain_steps,
    current_step,
    position,
    render,
    rule_spec,
    step_type,
    target_field,
)
from tocsin.api.deps import Db, Now, ServicesRead, ServicesWrite
from tocsin.api.errors import ApiError
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.escalation import rules as escalation_rules

router = SlashRouter()

PATH = "/escalation_policies"
STEP_FIELDS = (
    "type",
    "duration",
    "important",
    "persons_to_notify",
    "notify_on_call_from_schedule",
    "team_to_notify",
)


def _named(step: str | None, error: Invalid) -> ApiError | Invalid:
    """A service error about the rule's targets or kind, named by the Grafana field sent."""
    field = str(error.details.get("field", ""))
    if not field.startswith("rule"):
        return error
    message = error.message.split(": ", 1)[1] if ": " in error.message else error.message
    return invalid(target_field(step or ""), message)


@router.get(PATH, summary="List escalation policies (Grafana OnCall)")
def list_steps(
    request: Request, key: ServicesRead, db: Db, escalation_chain_id: str | None = None
) -> dict[str, Any]:
    """Chain by chain, each in position order, with delays and repeats as steps (``chain_steps``)."""
    with db.read() as session:
        chains = escalation_rules.list_chains(
            session=session, tenant=key.tenant, policy_id=escalation_chain_id or None
        )
        steps = [step for chain in chains for step in chain_steps(chain)]
    wanted, page = slice_page(request, steps)
    return paginated(request, wanted, page.total, list(page.items))


@router.get(PATH + "/{step_id}", summary="Get an escalation policy (Grafana OnCall)")
def get_step(step_id: str, key: ServicesRead, db: Db) -> dict[str, Any]:
    """As the chain's listing shows it, the steps made of delays and repeats included."""
    with db.read() as session:
        if step_id.endswith((REPEAT_WAIT_SUFFIX, REPEAT_SUFFIX)):
            policy_id: str | None = step_id.removesuffix(REPEAT_WAIT_SUFFIX).removesuffix(REPEAT_SUFFIX)
        else:
            rule_id = step_id.removesuffix(WAIT_SUFFIX)
            policy_id = escalation_rules.get_rule(
                session=session, tenant=key.tenant, rule_id=rule_id
            ).policy_id
        for chain in escalation_rules.list_chains(session=session, tenant=key.tenant, policy_id=policy_id):
            for step in chain_steps(chain):
                if step["id"] == step_id:
                    return step
    raise NotFound("escalation_rule", step_id)


@router.post(PATH, status_code=201, summary="Create an escalation policy (Grafana OnCall)")
def create_step(body: Body, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    """Added at ``position`` (the end by default or with -1); the steps from there move down."""
    if body.get("escalation_chain_id") in (None, ""):
        raise invalid("escalation_chain_id", "This field is required.")
    step = step_type(body.get("type"))
    spec = rule_spec(step, body)
    where = position(body.get("position"))
    with db.write() as session:
        try:
            rule = escalation_rules.add_rule(
                session=session,
                tenant=key.tenant,
                policy_id=body["escalation_chain_id"],
                spec=spec,
                position=where,
                now=now,
                policy_field="escalation_chain_id",
            )
        except Invalid as error:
            raise _named(step, error) from None
        return render(rule)


@router.put(PATH + "/{step_id}", summary="Update an escalation policy (Grafana OnCall)")
@router.patch(PATH + "/{step_id}", include_in_schema=False)
def update_step(step_id: str, body: Body, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    """Fields not sent keep their values; a new ``type`` takes the fields of that type;
    ``escalation_chain_id`` cannot change."""
    where = position(body.get("position"))
    with db.write() as session:
        rule = escalation_rules.get_rule(session=session, tenant=key.tenant, rule_id=step_id)
        current, fields = current_step(rule)
        step = step_type(body["type"]) if "type" in body else current
        spec = None
        if step is not None and any(name in body for name in STEP_FIELDS):
            spec = rule_spec(step, {**fields, **body} if step == current else body)
        try:
            rule = escalation_rules.update_rule(
                session=session, tenant=key.tenant, rule_id=step_id, spec=spec, position=where, now=now
            )
        except Invalid as error:
            raise _named(step, error) from None
        return render(rule)


@router.delete(PATH + "/{step_id}", status_code=204, response_class=Response)
def delete_step(step_id: str, key: ServicesWrite, db: Db, now: Now) -> Response:
    """The steps after it move up one."""
    with db.write() as session:
        escalation_rules.delete_rule(session=session, tenant=key.tenant, rule_id=step_id, now=now)
    return Response(status_code=204)
