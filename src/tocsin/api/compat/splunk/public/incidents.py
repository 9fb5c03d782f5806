"""Splunk On-Call incidents: the current list, one by number, opening one for people or a policy,
acknowledging and resolving by number or for everything paged to a user, and rerouting.

Every command names the person it acts as (``userName``); an unknown one is a 404, as upstream's
"User not found". A new incident opens on the first service paging through the target policy (one
named "Splunk API: <policy>" is made on first use when none does); with only User targets it opens
on the org's "Splunk API" service and pages those people at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC, Body, invalid
from tocsin.api.compat.splunk.public.fields import numbers, objects, required_text, text
from tocsin.api.deps import Db, IncidentsRead, IncidentsWrite, Now, Paging
from tocsin.api.errors import ApiError
from tocsin.db.models import EscalationPolicy, User
from tocsin.domain.actor import Tenant
from tocsin.domain.incident import Status
from tocsin.services.errors import NotFound
from tocsin.services.incidents import reports as incident_reports
from tocsin.services.paging import PagingSettings
from tocsin.services.people import directory, handles
from tocsin.services.responders import commands as responder_commands
from tocsin.services.responders.commands import CommandResult

router = APIRouter(prefix=PUBLIC + "/v1/incidents")

USER = "User"
POLICY = "EscalationPolicy"
MAX_DETAILS = 10_000


@router.get("", summary="Current incidents (Splunk On-Call)")
def list_incidents(key: IncidentsRead, db: Db, now: Now) -> dict[str, Any]:
    """Every incident not resolved, and those resolved in the last 24 hours."""
    with db.read() as session:
        reports = incident_reports.current(session=session, tenant=key.tenant, now=now)
        return {"incidents": [render.incident(report) for report in reports]}


@router.get("/{number}", summary="One incident by number (Splunk On-Call)")
def get_incident(number: str, key: IncidentsRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        return render.incident(incident_reports.by_number(session=session, tenant=key.tenant, number=number))


def _target(session: Any, tenant: Tenant, target: Mapping[str, Any], field: str) -> User | EscalationPolicy:
    """A ``{type, slug}`` target as our user or policy; a bad or unknown one is a 400 on its field."""
    kind, slug = target.get("type"), target.get("slug")
    if kind not in (USER, POLICY):
        raise invalid(f"{field}.type", f"{field}.type must be {USER!r} or {POLICY!r}")
    if not isinstance(slug, str) or not slug.strip():
        raise invalid(f"{field}.slug", f"{field}.slug is required: a username or an escalation policy slug")
    try:
        if kind == USER:
            return handles.user_by_username(session=session, tenant=tenant, username=slug)
        return directory.policy_by_slug(session=session, tenant=tenant, slug=slug)
    except NotFound:
        raise invalid(f"{field}.slug", f"{field}.slug: no {kind} {slug!r} in this organization") from None


@router.post("", summary="Open an incident (Splunk On-Call)")
def create_incident(body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    summary = required_text(body, "summary")
    details = text(body, "details", required=False, limit=MAX_DETAILS)
    username = required_text(body, "userName", limit=100)
    specs = objects(body, "targets")
    with db.write() as session:
        _, actor = responder_commands.acting_user(session=session, tenant=key.tenant, username=username)
        found = [_target(session, key.tenant, spec, f"targets.{i}") for i, spec in enumerate(specs)]
        policies = [t for t in found if isinstance(t, EscalationPolicy)]
        if len({p.id for p in policies}) > 1:
            raise invalid("targets", "targets may name at most one EscalationPolicy")
        if policies and len(policies) < len(found):
            # Tocsin pages either people now or one policy; the policy's first step would take
            # the incident over from the people, so they would silently never be paged.
            raise invalid(
                "targets", "targets may name users or one EscalationPolicy, not both: send two incidents"
            )
        incident = responder_commands.open_incident(
            session=session,
            tenant=key.tenant,
            summary=summary,
            details=details,
            users=list({u.id: u for u in found if isinstance(u, User)}.values()),
            policy=policies[0] if policies else None,
            actor=actor,
            now=now,
            paging=paging,
        )
        return {"incidentNumber": str(incident.number)}


def _results(results: list[CommandResult]) -> dict[str, Any]:
    return {
        "results": [
            {
                "incidentNumber": result.number,
                "entityId": result.entity_id,
                "cmdAccepted": result.accepted,
                "message": result.message,
            }
            for result in results
        ]
    }


def _by_numbers(
    body: Mapping[str, Any], target: Status, key: Any, db: Db, now: Any, paging: PagingSettings
) -> dict[str, Any]:
    username = required_text(body, "userName", limit=100)
    wanted = numbers(body, "incidentNames")
    message = text(body, "message", required=False, limit=responder_commands.MAX_MESSAGE)
    with db.write() as session:
        _, actor = responder_commands.acting_user(session=session, tenant=key.tenant, username=username)
        return _results(
            responder_commands.act_on_numbers(
                session=session,
                tenant=key.tenant,
                numbers=wanted,
                target=target,
                actor=actor,
                message=message,
                now=now,
                paging=paging,
            )
        )


def _by_user(
    body: Mapping[str, Any], target: Status, key: Any, db: Db, now: Any, paging: PagingSettings
) -> dict[str, Any]:
    username = required_text(body, "userName", limit=100)
    message = text(body, "message", required=False, limit=responder_commands.MAX_MESSAGE)
    with db.write() as session:
        user, actor = responder_commands.acting_user(session=session, tenant=key.tenant, username=username)
        return _results(
            responder_commands.act_on_paged(
                session=session,
                tenant=key.tenant,
                user=user,
                target=target,
                actor=actor,
                message=message,
                now=now,
                paging=paging,
            )
        )


@router.patch("/ack", summary="Acknowledge incidents by number (Splunk On-Call)")
def ack(body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _by_numbers(body, Status.ACKNOWLEDGED, key, db, now, paging)


@router.patch("/resolve", summary="Resolve incidents by number (Splunk On-Call)")
def resolve(body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _by_numbers(body, Status.RESOLVED, key, db, now, paging)


@router.patch("/byUser/ack", summary="Acknowledge everything paged to a user (Splunk On-Call)")
def ack_by_user(body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _by_user(body, Status.ACKNOWLEDGED, key, db, now, paging)


@router.patch("/byUser/resolve", summary="Resolve everything paged to a user (Splunk On-Call)")
def resolve_by_user(body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    return _by_user(body, Status.RESOLVED, key, db, now, paging)


def _reroute_targets(
    session: Any, tenant: Tenant, specs: list[Any], field: str
) -> tuple[list[User], EscalationPolicy | None, list[dict[str, Any]]]:
    """The users or the one policy a reroute goes to, and a status per target. A reroute goes to
    one policy (the first valid one) or, without one, to the users named; the rest are not applied."""
    found: list[User | EscalationPolicy | None] = []
    statuses: list[dict[str, Any]] = []
    for spec in specs:
        slug = spec.get("slug") if isinstance(spec, Mapping) else None
        try:
            if not isinstance(spec, Mapping):
                raise invalid(field, "each target must be an object")
            found.append(_target(session, tenant, spec, field))
            statuses.append({"slug": slug, "success": True, "message": "ok"})
        except ApiError as error:  # reported per target, as upstream does
            found.append(None)
            statuses.append({"slug": slug, "success": False, "message": error.message})
    policy = next((t for t in found if isinstance(t, EscalationPolicy)), None)
    users = [t for t in found if isinstance(t, User)] if policy is None else []
    for index, target in enumerate(found):
        if policy is not None and target is not None and target is not policy:
            statuses[index] = {
                "slug": statuses[index]["slug"],
                "success": False,
                "message": "not applied: a reroute goes to one escalation policy, or to users",
            }
    return users, policy, statuses


@router.post("/reroute", summary="Reroute incidents (Splunk On-Call)")
def reroute(body: Body, key: IncidentsWrite, db: Db, now: Now, paging: Paging) -> dict[str, Any]:
    username = required_text(body, "userName", limit=100)
    reroutes = objects(body, "reroutes")
    for index, spec in enumerate(reroutes):
        number = spec.get("incidentNumber")
        if isinstance(number, bool) or not isinstance(number, str | int):
            raise invalid(
                f"reroutes.{index}.incidentNumber", "incidentNumber is required, a string of digits"
            )
        if not isinstance(spec.get("targets"), list) or not spec["targets"]:
            raise invalid(f"reroutes.{index}.targets", "targets must be a non-empty list")
    statuses = []
    with db.write() as session:
        _, actor = responder_commands.acting_user(session=session, tenant=key.tenant, username=username)
        for index, spec in enumerate(reroutes):
            number = str(spec["incidentNumber"]).strip()
            users, policy, targets = _reroute_targets(
                session, key.tenant, spec["targets"], f"reroutes.{index}.targets"
            )
            if users or policy is not None:
                success, message = responder_commands.reroute(
                    session=session,
                    tenant=key.tenant,
                    number=number,
                    users=users,
                    policy=policy,
                    actor=actor,
                    now=now,
                    paging=paging,
                )
            else:
                success, message = False, "no valid target to reroute to"
            statuses.append(
                {"incidentNumber": number, "success": success, "message": message, "targetStatus": targets}
            )
    return {"statuses": statuses}
