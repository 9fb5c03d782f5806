"""Grafana OnCall ``/api/v1/alerts``: every event that fed an incident, its raw payload verbatim.

Filters ``id``, ``alert_group_id`` (an incident id) and ``search`` (case-insensitive, anywhere in
the raw payload or the summary); newest first, 50 a page."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from tocsin.api.compat.grafana_oncall.public.common import SlashRouter, timestamp
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.deps import Db, IncidentsRead
from tocsin.db.models import Alert
from tocsin.services.incidents import alerts
from tocsin.services.pagination import Page

router = SlashRouter()


def render_alert(alert: Alert) -> dict[str, Any]:
    """Keys in Grafana's order: ``id, alert_group_id, created_at, payload``."""
    return {
        "id": alert.id,
        "alert_group_id": alert.incident_id,
        "created_at": timestamp(alert.created_at),
        "payload": alert.payload,
    }


@router.get("/alerts", summary="List alerts (Grafana OnCall)")
def list_alerts(
    request: Request,
    key: IncidentsRead,
    db: Db,
    id: str | None = None,
    alert_group_id: str | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[Alert]:
            return alerts.list_alerts(
                session=session,
                tenant=key.tenant,
                alert_id=id or None,
                incident_id=alert_group_id or None,
                search=search or None,
                limit=limit,
                offset=offset,
            )

        return page_of(request, fetch, render_alert)
