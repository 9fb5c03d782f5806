"""Splunk On-Call routing keys: every integration's routing key, with the escalation policy its
service pages through as the key's target. No key is the default one: an event whose key is
unknown is refused, never routed to a catch-all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC
from tocsin.api.deps import Db, ServicesRead
from tocsin.services.people import directory

router = APIRouter(prefix=PUBLIC + "/v1/org/routing-keys")


@router.get("", summary="Routing keys (Splunk On-Call)")
def list_routing_keys(key: ServicesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        entries = directory.routing_keys(session=session, tenant=key.tenant)
        return {
            "_selfUrl": render.V1 + "/org/routing-keys",
            "routingKeys": [
                {
                    "routingKey": entry.routing_key,
                    "isDefault": False,
                    "targets": [
                        {
                            "policyName": target.policy.name,
                            "policySlug": target.policy.id,
                            "_teamUrl": render.team_url(target.team.slug) if target.team else None,
                        }
                        for target in entry.targets
                    ],
                }
                for entry in entries
            ],
        }
