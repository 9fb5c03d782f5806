"""Splunk On-Call escalation policies: each with its team. A policy's slug is its id (our policies
have no slug column; clients treat slugs as opaque) and its name is the policy's name. Taking
on-call for a policy lives with the rest of on-call, in ``oncall``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC
from tocsin.api.deps import Db, ServicesRead
from tocsin.services.people import directory

router = APIRouter(prefix=PUBLIC + "/v1/policies")


@router.get("", summary="Escalation policies (Splunk On-Call)")
def list_policies(key: ServicesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        entries = directory.policies(session=session, tenant=key.tenant)
        return {
            "policies": [
                {"policy": render.policy_ref(entry.policy), "team": render.team_ref(entry.team)}
                for entry in entries
            ]
        }
