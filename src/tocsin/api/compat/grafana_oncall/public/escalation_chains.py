"""Grafana OnCall `/api/v1/escalation_chains`: Tocsin escalation policies as ``{id, name, team_id}``.
A chain starts with no steps (they are added through ``escalation_policies``); the policy's
``repeat_count`` stays whatever the native API set."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, invalid, optional_string
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.deps import Db, Now, ServicesRead, ServicesWrite
from tocsin.services.escalation import policies as escalation_policies

router = SlashRouter()

PATH = "/escalation_chains"


def render(policy: Any) -> dict[str, Any]:
    return {"id": policy.id, "name": policy.name, "team_id": policy.team_id}


def _name(body: dict[str, Any], required: bool) -> dict[str, Any]:
    """The fields of the body the chain has, with DRF's messages for a bad name."""
    changes: dict[str, Any] = {}
    if "name" in body or required:
        name = body.get("name")
        if name is None:
            raise invalid(
                "name", "This field is required." if "name" not in body else "This field may not be null."
            )
        if not isinstance(name, str) or not name.strip():
            raise invalid("name", "This field may not be blank.")
        changes["name"] = name
    if "team_id" in body:
        changes["team_id"] = optional_string(body, "team_id") or None
    return changes


@router.get(PATH, summary="List escalation chains (Grafana OnCall)")
def list_chains(
    request: Request, key: ServicesRead, db: Db, name: str | None = None, team_id: str | None = None
) -> dict[str, Any]:
    """Oldest first; ``name`` matches the whole name."""
    with db.read() as session:
        return page_of(
            request,
            lambda limit, offset: escalation_policies.list_policies(
                session=session,
                tenant=key.tenant,
                team_ids=(team_id,) if team_id else (),
                name=name,
                oldest_first=True,
                limit=limit,
                offset=offset,
            ),
            render,
        )


@router.get(PATH + "/{chain_id}", summary="Get an escalation chain (Grafana OnCall)")
def get_chain(chain_id: str, key: ServicesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return render(escalation_policies.get_policy(session=session, tenant=key.tenant, policy_id=chain_id))


@router.post(PATH, status_code=201, summary="Create an escalation chain (Grafana OnCall)")
def create_chain(body: Body, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    fields = _name(body, required=True)
    with db.write() as session:
        policy = escalation_policies.create_policy(
            session=session,
            tenant=key.tenant,
            now=now,
            name=fields["name"],
            team_id=fields.get("team_id"),
            rules=[],
            rules_required=False,
        )
        return render(policy)


@router.put(PATH + "/{chain_id}", summary="Update an escalation chain (Grafana OnCall)")
@router.patch(PATH + "/{chain_id}", include_in_schema=False)
def update_chain(chain_id: str, body: Body, key: ServicesWrite, db: Db, now: Now) -> dict[str, Any]:
    changes = _name(body, required=False)
    with db.write() as session:
        policy = escalation_policies.update_policy(
            session=session, tenant=key.tenant, policy_id=chain_id, changes=changes, now=now
        )
        return render(policy)


@router.delete(PATH + "/{chain_id}", status_code=204, response_class=Response)
def delete_chain(chain_id: str, key: ServicesWrite, db: Db) -> Response:
    """Refused (400) while a service pages through it, as the native API refuses (409)."""
    with db.write() as session:
        escalation_policies.delete_policy(session=session, tenant=key.tenant, policy_id=chain_id)
    return Response(status_code=204)
