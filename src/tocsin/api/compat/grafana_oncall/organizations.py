"""Grafana OnCall `/api/v1/organizations`."""

from __future__ import annotations

from tocsin.api.compat.grafana_oncall.common import SlashRouter

router = SlashRouter()
