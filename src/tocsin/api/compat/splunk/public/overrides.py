"""Splunk On-Call scheduled overrides: our absences (``services.schedules.absences``). An override says who
is away and when; its assignments say, per escalation policy the person is on a schedule of, who
covers them there (a schedule override for the window, made through the native override service).

``publicId`` is the absence's id. Times are answered in UTC; a time sent without an offset is read
in the override's ``timezone``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC, Body
from tocsin.api.compat.splunk.public.fields import instant, required_text, text
from tocsin.api.deps import Db, Now, SchedulesRead, SchedulesWrite
from tocsin.db.models import Absence
from tocsin.domain.actor import Tenant
from tocsin.services.errors import NotFound
from tocsin.services.people import directory, handles, users
from tocsin.services.schedules import absences
from tocsin.services.schedules.absences import Assignment

router = APIRouter(prefix=PUBLIC + "/v1/overrides")

BASE = render.V1 + "/overrides"


def _assignment(absence: Absence, assignment: Assignment) -> dict[str, Any]:
    entry = assignment.entry
    return {
        "_selfUrl": f"{BASE}/{absence.id}/assignments/{entry.policy.id}",
        "assigned": assignment.replacement is not None,
        "team": entry.team.slug if entry.team else None,
        "user": assignment.replacement.username if assignment.replacement else None,
        "policy": entry.policy.id,
    }


def _override(session: Session, tenant: Tenant, absence: Absence) -> dict[str, Any]:
    user = users.get_user(session=session, tenant=tenant, user_id=absence.user_id)
    first, last = render.names(user)
    found = absences.assignments(session=session, tenant=tenant, absence=absence)
    return {
        "publicId": absence.id,
        "user": {"username": user.username, "firstName": first, "lastName": last},
        "start": render.iso(absence.start),
        "end": render.iso(absence.end),
        "timezone": absence.time_zone,
        "assignments": [_assignment(absence, a) for a in found],
    }


@router.get("", summary="Scheduled overrides (Splunk On-Call)")
def list_overrides(key: SchedulesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        found = absences.list_absences(session=session, tenant=key.tenant)
        return {"_selfUrl": BASE, "overrides": [_override(session, key.tenant, a) for a in found]}


@router.post("", summary="Schedule an override (Splunk On-Call)")
def create_override(body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    username = required_text(body, "username", limit=100)
    start, end = instant(body.get("start"), "start"), instant(body.get("end"), "end")
    assert start is not None and end is not None  # required
    zone = text(body, "timezone", required=False, limit=64) or "UTC"
    with db.write() as session:
        user = handles.user_by_username(session=session, tenant=key.tenant, username=username)
        absence = absences.create_absence(
            session=session,
            tenant=key.tenant,
            user=user,
            start=start,
            end=end,
            time_zone=zone,
            actor=key.actor,
            now=now,
        )
        return _override(session, key.tenant, absence)


@router.get("/{public_id}", summary="One scheduled override (Splunk On-Call)")
def get_override(public_id: str, key: SchedulesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        absence = absences.get_absence(session=session, tenant=key.tenant, absence_id=public_id)
        return _override(session, key.tenant, absence)


@router.delete("/{public_id}", summary="Delete a scheduled override (Splunk On-Call)")
def delete_override(public_id: str, key: SchedulesWrite, db: Db) -> dict[str, Any]:
    with db.write() as session:
        absences.delete_absence(session=session, tenant=key.tenant, absence_id=public_id)
        return {}


@router.get("/{public_id}/assignments", summary="An override's assignments (Splunk On-Call)")
def list_assignments(public_id: str, key: SchedulesRead, db: Db) -> list[dict[str, Any]]:
    with db.read() as session:
        absence = absences.get_absence(session=session, tenant=key.tenant, absence_id=public_id)
        found = absences.assignments(session=session, tenant=key.tenant, absence=absence)
        return [_assignment(absence, a) for a in found]


def _one(session: Session, tenant: Tenant, absence: Absence, policy_slug: str) -> dict[str, Any]:
    policy = directory.policy_by_slug(session=session, tenant=tenant, slug=policy_slug)
    for assignment in absences.assignments(session=session, tenant=tenant, absence=absence):
        if assignment.entry.policy.id == policy.id:
            return _assignment(absence, assignment)
    raise NotFound("assignment", policy_slug)


@router.get("/{public_id}/assignments/{policy_slug}", summary="One assignment (Splunk On-Call)")
def get_assignment(public_id: str, policy_slug: str, key: SchedulesRead, db: Db) -> dict[str, Any]:
    with db.read() as session:
        absence = absences.get_absence(session=session, tenant=key.tenant, absence_id=public_id)
        return _one(session, key.tenant, absence, policy_slug)


@router.put("/{public_id}/assignments/{policy_slug}", summary="Assign cover (Splunk On-Call)")
def put_assignment(
    public_id: str, policy_slug: str, body: Body, key: SchedulesWrite, db: Db, now: Now
) -> dict[str, Any]:
    username = required_text(body, "username", limit=100)
    with db.write() as session:
        absence = absences.get_absence(session=session, tenant=key.tenant, absence_id=public_id)
        policy = directory.policy_by_slug(session=session, tenant=key.tenant, slug=policy_slug)
        replacement = handles.user_by_username(session=session, tenant=key.tenant, username=username)
        absences.assign(
            session=session,
            tenant=key.tenant,
            absence=absence,
            policy=policy,
            replacement=replacement,
            actor=key.actor,
            now=now,
        )
        return _one(session, key.tenant, absence, policy_slug)
