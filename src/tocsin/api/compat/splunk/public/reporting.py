"""Splunk On-Call's reporting API, ``GET /api-reporting/v2/incidents``: the incident history,
newest first, filtered and paged by ``offset``/``limit`` (20, at most 100). Each incident has the
public API's shape.

The filters, as Splunk's spec has them: ``currentPhase`` takes ``resolved``, ``triggered`` or
``acknowledged``, comma-separated, and without it only resolved incidents are listed ("Unless
specified otherwise with the parameter currentPhase, the response will only contain resolved
incidents"). Case is not significant, and the phase names the responses carry (``UNACKED``,
``ACKED``, ``RESOLVED``) are taken too. ``incidentNumber`` takes numbers and inclusive ranges,
comma-separated (``4,5,20:50``); ``host`` and ``service`` take comma-separated names.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import REPORTING, invalid
from tocsin.api.compat.splunk.public.fields import utc_instant
from tocsin.api.deps import Db, IncidentsRead
from tocsin.services.incidents import reports as incident_reports
from tocsin.services.incidents.reports import ACKED, RESOLVED, UNACKED, ReportFilters
from tocsin.services.query import csv_values

router = APIRouter(prefix=REPORTING + "/v2/incidents")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_FILTER = 255
MAX_NUMBER_DIGITS = 12
# Splunk's currentPhase values (its spec's words first), each to the phase it means.
PHASE_OF_VALUE: Final = {
    "resolved": RESOLVED,
    "triggered": UNACKED,
    "acknowledged": ACKED,
    "unacked": UNACKED,
    "acked": ACKED,
}
SPEC_PHASES: Final = ("resolved", "triggered", "acknowledged")
DEFAULT_PHASES: Final = (RESOLVED,)


def _parts(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",")]


def _phases(raw: str | None) -> tuple[str, ...]:
    """The phases asked for; resolved alone when the parameter is absent, as Splunk does."""
    if raw is None:
        return DEFAULT_PHASES
    values = csv_values(raw)
    unknown = [value for value in values if value.lower() not in PHASE_OF_VALUE]
    if unknown or not values:
        got = f"; got {unknown[0]!r}" if unknown else ""
        raise invalid(
            "currentPhase",
            f"currentPhase must be one or more of {', '.join(SPEC_PHASES)}, comma-separated{got}",
        )
    return tuple(dict.fromkeys(PHASE_OF_VALUE[value.lower()] for value in values))


def _number(text: str) -> int | None:
    if text.isascii() and text.isdigit() and len(text) <= MAX_NUMBER_DIGITS:
        return int(text)
    return None


def _numbers(raw: str | None) -> tuple[tuple[int, int], ...]:
    """``4,5,20:50`` as inclusive ranges ``((4, 4), (5, 5), (20, 50))``."""
    if raw is None:
        return ()
    ranges: list[tuple[int, int]] = []
    for part in _parts(raw):
        low_text, colon, high_text = part.partition(":")
        low = _number(low_text.strip())
        high = _number(high_text.strip()) if colon else low
        if low is None or high is None:
            raise invalid(
                "incidentNumber",
                "incidentNumber must be incident numbers or ranges, comma-separated (4,5,20:50); "
                f"{part!r} is neither",
            )
        if high < low:
            raise invalid("incidentNumber", f"incidentNumber range {part!r} ends before it starts")
        ranges.append((low, high))
    if len(ranges) > MAX_LIMIT:
        raise invalid("incidentNumber", f"incidentNumber takes at most {MAX_LIMIT} numbers or ranges")
    return tuple(ranges)


def _text(raw: str | None, field: str) -> str | None:
    if raw is not None and len(raw) > MAX_FILTER:
        raise invalid(field, f"{field} is at most {MAX_FILTER} characters")
    if raw is not None and "\x00" in raw:
        raise invalid(field, f"{field} may not contain NUL characters")
    return raw


def _names(raw: str | None, field: str) -> tuple[str, ...]:
    """Comma-separated names; one that is only commas and spaces names nothing, a 400."""
    text = _text(raw, field)
    if text is None:
        return ()
    names = csv_values(text)
    if not names:
        raise invalid(field, f"{field} must name at least one {field}, comma-separated")
    return names


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
        numbers=_numbers(incident_number),
        started_after=utc_instant(started_after, "startedAfter"),
        started_before=utc_instant(started_before, "startedBefore"),
        hosts=_names(host, "host"),
        services=_names(service, "service"),
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
