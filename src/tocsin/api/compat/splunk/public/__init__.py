"""Splunk On-Call's public API (``/api-public/v1|v2/…``) and its reporting API
(``/api-reporting/v2/incidents``): a tool written against Splunk On-Call only changes its host.
One module per resource; each only translates to and from service calls."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.api.compat.splunk.public import (
    incidents,
    oncall,
    overrides,
    policies,
    reporting,
    routing_keys,
    teams,
    users,
)
from tocsin.api.compat.splunk.public.common import DIALECT

router = APIRouter(tags=["splunk-oncall"])
for _module in (incidents, oncall, teams, users, policies, overrides, routing_keys, reporting):
    router.include_router(_module.router)

__all__ = ["DIALECT", "router"]
