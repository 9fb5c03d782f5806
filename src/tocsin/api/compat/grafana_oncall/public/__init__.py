"""Grafana OnCall's public API (``/api/v1/…``), mounted at the root so a tool written against
Grafana OnCall only changes its host. One module per resource; each translates the foreign request
into service calls and the result back, with no SQL and no business logic of its own."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.api.compat.grafana_oncall.public import (
    alert_groups,
    alerts,
    escalation_chains,
    escalation_policies,
    integrations,
    on_call_shifts,
    organizations,
    personal_notification_rules,
    resolution_notes,
    schedules,
    shift_swaps,
    teams,
    users,
)
from tocsin.api.compat.grafana_oncall.public.common import DIALECT, PREFIX

router = APIRouter(prefix=PREFIX, tags=["grafana-oncall"])
for _module in (
    alert_groups,
    alerts,
    integrations,
    escalation_chains,
    escalation_policies,
    schedules,
    on_call_shifts,
    users,
    teams,
    personal_notification_rules,
    resolution_notes,
    organizations,
    shift_swaps,
):
    router.include_router(_module.router)

__all__ = ["DIALECT", "router"]
