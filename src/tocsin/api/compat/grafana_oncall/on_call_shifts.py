"""Grafana OnCall `/api/v1/on_call_shifts`."""

from __future__ import annotations

from tocsin.api.compat.grafana_oncall.common import SlashRouter

router = SlashRouter()
