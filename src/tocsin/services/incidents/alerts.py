"""The alerts behind incidents, read across the tenant: each inbound event kept verbatim."""

from __future__ import annotations

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from tocsin.db.models import Alert
from tocsin.domain.actor import Tenant
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import tenant_filter


def list_alerts(
    *,
    session: Session,
    tenant: Tenant,
    alert_id: str | None = None,
    incident_id: str | None = None,
    search: str | None = None,
    limit: int,
    offset: int,
) -> Page[Alert]:
    """Newest first. ``search`` matches, case-insensitively, anywhere in the raw payload's JSON text
    (as Grafana OnCall's alert search does) or in the summary."""
    stmt = select(Alert).where(*tenant_filter(Alert, tenant))
    if alert_id:
        stmt = stmt.where(Alert.id == alert_id)
    if incident_id:
        stmt = stmt.where(Alert.incident_id == incident_id)
    if search:
        needle = search.strip().lower()
        stmt = stmt.where(
            func.lower(cast(Alert.payload, Text)).contains(needle, autoescape=True)
            | func.lower(Alert.summary).contains(needle, autoescape=True)
        )
    stmt = stmt.order_by(Alert.created_at.desc(), Alert.id.desc())
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)
