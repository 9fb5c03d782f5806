"""Grafana OnCall ``/api/v1/alert_groups``: our incidents, listed, read, acted on and deleted.

Mapping (the facts are gathered by ``services.incidents.alert_groups``, whose docstring says how each Grafana
concept is derived): ``id`` is the incident id; ``state`` firing/acknowledged/resolved/silenced
(SUPPRESSED shows as silenced), and the ``state`` filter takes each of those and upstream's
documented ``new`` (the same as ``firing``); ``route_id`` the integration's derived default route
(``route_ids``); ``labels`` the incident's string ``custom_details``; ``permalinks.web`` the
incident's native API URL under ``TOCSIN_BASE_URL``; ``acknowledged_by``/``resolved_by`` the user
who did it per the timeline, ``null`` when a service key, an integration or the system did.

Actions answer 200 with an empty body, as upstream. Unlike upstream, a service key (one not bound
to a user) may act too: our service keys are the admin keys, and the timeline records the key's
name. ``DELETE`` takes ``{"mode": "delete"}`` (the incident and all that hangs off it go) or
``"wipe"`` (the default, as upstream: the incident stays, its alerts' payloads are erased).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from tocsin.api.compat.grafana_oncall.public.alerts import render_alert
from tocsin.api.compat.grafana_oncall.public.common import Body, SlashRouter, bad_request, timestamp
from tocsin.api.compat.grafana_oncall.public.pagination import page_of
from tocsin.api.compat.grafana_oncall.public.route_ids import integration_of_route, route_id
from tocsin.api.deps import Db, IncidentsRead, IncidentsWrite, Now, Paging
from tocsin.services.incidents import alert_groups
from tocsin.services.incidents import removal as incident_removal
from tocsin.services.incidents.alert_groups import STATE_STATUSES, AlertGroup, AlertGroupFilters
from tocsin.services.pagination import Page

router = SlashRouter()

RANGE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _render(request: Request, group: AlertGroup) -> dict[str, Any]:
    incident = group.incident
    base = str(request.app.state.settings.base_url).rstrip("/")
    return {
        "id": incident.id,
        "integration_id": group.integration_id,
        "team_id": incident.team_id,
        "route_id": route_id(group.integration_id),
        "alerts_count": incident.alert_count,
        "state": group.state,
        "created_at": timestamp(incident.created_at),
        "resolved_at": timestamp(incident.resolved_at),
        "resolved_by": group.resolved_by,
        "acknowledged_at": timestamp(incident.acknowledged_at),
        "acknowledged_by": group.acknowledged_by,
        "labels": [
            {"key": {"id": key, "name": key}, "value": {"id": value, "name": value}}
            for key, value in group.labels
        ],
        "title": incident.title,
        "permalinks": {
            "slack": None,
            "slack_app": None,
            "telegram": None,
            "web": f"{base}/api/incidents/{incident.id}",
        },
        "silenced_at": timestamp(group.silenced_at),
        "last_alert": render_alert(group.last_alert) if group.last_alert is not None else None,
    }


def _started_range(raw: str | None) -> tuple[datetime | None, datetime | None]:
    """``<start>_<end>``, both ``%Y-%m-%dT%H:%M:%S`` in UTC, start not after end."""
    if not raw:
        return None, None
    parts = raw.split("_")
    if len(parts) != 2:
        raise bad_request("Invalid range value")
    try:
        start, end = (datetime.strptime(part, RANGE_FORMAT).replace(tzinfo=UTC) for part in parts)
    except ValueError:
        raise bad_request("Invalid range value") from None
    if start > end:
        raise bad_request("Invalid range value")
    return start, end


def _labels(raw: list[str]) -> tuple[tuple[str, str], ...]:
    """``key:value`` pairs; anything else is skipped, as upstream does."""
    pairs = [tuple(label.split(":")) for label in raw]
    return tuple((pair[0], pair[1]) for pair in pairs if len(pair) == 2)


def _filters(request: Request) -> AlertGroupFilters:
    params = request.query_params
    state = params.get("state")
    if state and state.lower() not in STATE_STATUSES:
        raise bad_request(f"Must be one of the following: {', '.join(STATE_STATUSES)}", field="state")
    integrations = [value for value in (params.get("integration_id"), params.get("route_id")) if value]
    wanted = {integration_of_route(value) for value in integrations}
    if len(wanted) > 1:  # two different integrations asked for at once: nothing matches both
        wanted = {""}
    started_after, started_before = _started_range(params.get("started_at"))
    return AlertGroupFilters(
        ids=(params["id"],) if params.get("id") else (),
        integration_ids=tuple(wanted),
        team_ids=(params["team_id"],) if params.get("team_id") else (),
        states=(state.lower(),) if state else (),
        started_after=started_after,
        started_before=started_before,
        labels=_labels(params.getlist("label")),
    )


@router.get("/alert_groups", summary="List alert groups (Grafana OnCall)")
def list_alert_groups(request: Request, key: IncidentsRead, db: Db) -> dict[str, Any]:
    filters = _filters(request)
    with db.read() as session:

        def fetch(limit: int, offset: int) -> Page[AlertGroup]:
            return alert_groups.list_alert_groups(
                session=session, tenant=key.tenant, filters=filters, limit=limit, offset=offset
            )

        return page_of(request, fetch, lambda group: _render(request, group))


@router.get("/alert_groups/{alert_group_id}", summary="Get an alert group (Grafana OnCall)")
def get_alert_group(alert_group_id: str, request: Request, key: IncidentsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        group = alert_groups.get_alert_group(session=session, tenant=key.tenant, incident_id=alert_group_id)
        return _render(request, group)


@router.delete("/alert_groups/{alert_group_id}", status_code=204, summary="Delete or wipe an alert group")
def delete_alert_group(alert_group_id: str, body: Body, key: IncidentsWrite, db: Db, now: Now) -> Response:
    mode = body.get("mode", "wipe")
    if mode not in ("wipe", "delete"):
        # Upstream answers this one with a bare JSON string, not a {"detail": ...} object.
        return Response(orjson.dumps("Invalid mode"), status_code=400, media_type="application/json")
    with db.write() as session:
        if mode == "delete":
            incident_removal.delete_incident(session=session, tenant=key.tenant, incident_id=alert_group_id)
        else:
            incident_removal.wipe_incident(
                session=session, tenant=key.tenant, incident_id=alert_group_id, actor=key.actor, now=now
            )
    return Response(status_code=204)


def _done() -> Response:
    """Upstream's actions answer ``200`` with no body."""
    return Response(status_code=200)


@router.post("/alert_groups/{alert_group_id}/acknowledge", summary="Acknowledge an alert group")
def acknowledge(alert_group_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> Response:
    with db.write() as session:
        alert_groups.acknowledge(
            session=session,
            tenant=key.tenant,
            incident_id=alert_group_id,
            actor=key.actor,
            now=now,
            paging=paging,
        )
    return _done()


@router.post("/alert_groups/{alert_group_id}/unacknowledge", summary="Unacknowledge an alert group")
def unacknowledge(alert_group_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> Response:
    with db.write() as session:
        alert_groups.unacknowledge(
            session=session,
            tenant=key.tenant,
            incident_id=alert_group_id,
            actor=key.actor,
            now=now,
            paging=paging,
        )
    return _done()


@router.post("/alert_groups/{alert_group_id}/resolve", summary="Resolve an alert group")
def resolve(alert_group_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> Response:
    with db.write() as session:
        alert_groups.resolve(
            session=session,
            tenant=key.tenant,
            incident_id=alert_group_id,
            actor=key.actor,
            now=now,
            paging=paging,
        )
    return _done()


@router.post("/alert_groups/{alert_group_id}/unresolve", summary="Unresolve an alert group")
def unresolve(alert_group_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> Response:
    with db.write() as session:
        alert_groups.unresolve(
            session=session,
            tenant=key.tenant,
            incident_id=alert_group_id,
            actor=key.actor,
            now=now,
            paging=paging,
        )
    return _done()


def _delay(raw: Any) -> int:
    """Seconds as upstream reads them: required, an integer (form values are strings), >= -1."""
    if raw is None:
        raise bad_request("delay is required")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise bad_request("invalid delay value")
    try:
        delay = int(raw.strip()) if isinstance(raw, str) else int(raw)
    except (ValueError, OverflowError):
        raise bad_request("invalid delay value") from None
    if delay < -1:
        raise bad_request("invalid delay value")
    return delay


@router.post("/alert_groups/{alert_group_id}/silence", summary="Silence an alert group")
def silence(
    alert_group_id: str, body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging
) -> Response:
    """``{"delay": seconds}``; -1 (or 0) silences until unsilenced."""
    delay = _delay(body.get("delay"))
    with db.write() as session:
        alert_groups.silence(
            session=session,
            tenant=key.tenant,
            incident_id=alert_group_id,
            delay_seconds=delay,
            actor=key.actor,
            now=now,
            paging=paging,
        )
    return _done()


@router.post("/alert_groups/{alert_group_id}/unsilence", summary="Unsilence an alert group")
def unsilence(alert_group_id: str, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> Response:
    with db.write() as session:
        alert_groups.unsilence(
            session=session,
            tenant=key.tenant,
            incident_id=alert_group_id,
            actor=key.actor,
            now=now,
            paging=paging,
        )
    return _done()
