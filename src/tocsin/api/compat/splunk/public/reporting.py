"""Splunk On-Call's reporting API, ``GET /api-reporting/v2/incidents``: the incident history,
newest first, filtered and paged by ``offset``/``limit`` (20, at most 100). Each incident has the
public API's shape. ``currentPhase`` takes UNACKED, ACKED or RESOLVED, comma-separated."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import REPORTING, invalid
from tocsin.api.compat.splunk.public.fields import utc_instant
from tocsin.api.deps import Db, IncidentsRead
from tocsin.services.incidents import reports as incident_reports
from tocsin.services.incidents.reports import PHASES, ReportFilters

router = APIRouter(prefix=REPORTING + "/v2/incidents")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_FILTER = 255


def _phases(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    wanted = tuple(dict.fromkeys(part.strip().upper() for part in raw.split(",") if part.strip()))
    unknown = [phase for phase in wanted if phase not in PHASES]
    if unknown or not wanted:
        raise invalid("currentPhase", f"currentPhase must be one or more of {', '.join(PHASES)}")
    return wanted


def _number(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.strip().isascii() and raw.strip().isdigit()) or len(raw.strip()) > 12:
        raise invalid("incidentNumber", "incidentNumber must be an incident number (digits)")
    return int(raw.strip())


def _text(raw: str | None, field: str) -> str | None:
    if raw is not None and len(raw) > MAX_FILTER:
        raise invalid(field, f"{field} is at most {MAX_FILTER} characters")
    if raw is not None and "\x00" in raw:
        raise invalid(field, f"{field} may not contain NUL characters")
    return raw


@router.get("", summary="Incident history (Splunk On-Call reporting)")
def incident_history(
    key: IncidentsRead,
    db: Db,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    entity_id: Annotated[str | None, Query(alias="entityId")] = None,
    incident_number: Annotated[str | None, Query(alias="incidentNumber")] = None,
    started_after: Annotated[str | None, Query(alias="startedAfter")] = None,
    started_before: Annotated[str | None, Query(alias="startedBefore")] = None,
    host: str | None = None,
    service: str | None = None,
    current_phase: Annotated[str | None, Query(alias="currentPhase")] = None,
    routing_key: Annotated[str | None, Query(alias="routingKey")] = None,
) -> dict[str, Any]:
    filters = ReportFilters(
        entity_id=_text(entity_id, "entityId"),
        number=_number(incident_number),
        started_after=utc_instant(started_after, "startedAfter"),
        started_before=utc_instant(started_before, "startedBefore"),
        host=_text(host, "host"),
        service=_text(service, "service"),
        phases=_phases(current_phase),
        routing_key=_text(routing_key, "routingKey"),
    )
    with db.read() as session:
        reports, total = incident_reports.search(
            session=session, tenant=key.tenant, filters=filters, limit=limit, offset=offset
        )
        return {
            "incidents": [render.incident(report) for report in reports],
            "offset": offset,
            "limit": limit,
            "total": total,
        }
