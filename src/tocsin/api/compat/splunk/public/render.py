"""Our records in Splunk On-Call's shapes: key names and key order as the wire facts give them
(``/work/shared/compat/splunk-oncall-api.md``); ``_selfUrl`` and friends are paths relative to the
host, as Splunk answers them. People are named by username, teams by slug, policies by id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tocsin.api.compat.splunk.public.common import PUBLIC
from tocsin.db.models import EscalationPolicy, Team, User
from tocsin.services.incidents.reports import Handle, IncidentReport
from tocsin.services.schedules.policy_oncall import PolicyRota

V1 = PUBLIC + "/v1"


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def user_url(username: str | None) -> str:
    return f"{V1}/user/{username}"


def team_url(slug: str | None) -> str:
    return f"{V1}/team/{slug}"


def names(user: User) -> tuple[str, str]:
    """First and last name from our single name field: the last word is the last name."""
    first, _, last = user.name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def handle(value: Handle | None) -> dict[str, str] | None:
    return None if value is None else {"name": value.name, "slug": value.slug}


def team_ref(team: Team | None) -> dict[str, str] | None:
    return None if team is None else {"name": team.name, "slug": team.slug or team.id}


def policy_ref(policy: EscalationPolicy) -> dict[str, str]:
    return {"name": policy.name, "slug": policy.id}


def username_ref(username: str | None) -> dict[str, str] | None:
    return None if username is None else {"username": username}


def version(stamp: datetime) -> int:
    """A number that grows whenever the record changes (its last update, in seconds)."""
    return int(stamp.timestamp())


def incident(report: IncidentReport) -> dict[str, Any]:
    row = report.incident
    return {
        "alertCount": row.alert_count,
        "currentPhase": report.phase,
        "entityId": row.dedup_key,
        "entityDisplayName": row.title,
        "entityState": report.entity_state,
        "entityType": "SERVICE",
        "host": row.source,
        "incidentNumber": str(row.number),
        "lastAlertId": report.last_alert_id,
        "lastAlertTime": iso(report.last_alert_time),
        "pagedPolicies": [
            {"policy": handle(paged.policy), "team": handle(paged.team)} for paged in report.paged_policies
        ],
        "pagedTeams": list(report.paged_teams),
        "pagedUsers": list(report.paged_users),
        "routingKey": report.routing_key,
        "service": report.service_name,
        "startTime": iso(row.created_at),
        "transitions": [
            {
                "name": step.name,
                "at": iso(step.at),
                "by": step.by,
                "message": step.message,
                "manually": step.manually,
                "alertId": step.alert_id,
                "alertUrl": None,
            }
            for step in report.transitions
        ],
    }


def team_detail(team: Team) -> dict[str, Any]:
    url = team_url(team.slug)
    return {
        "_selfUrl": url,
        "_membersUrl": url + "/members",
        "_policiesUrl": url + "/policies",
        "_adminsUrl": url + "/admins",
        "name": team.name,
        "slug": team.slug,
        "memberCount": len(team.members),
        "version": version(team.updated_at),
        "isDefaultTeam": False,
        "description": team.description,
    }


def member(user: User) -> dict[str, Any]:
    first, last = names(user)
    return {
        "username": user.username,
        "firstName": first,
        "lastName": last,
        "verified": True,
        "version": version(user.updated_at),
    }


def admin(user: User) -> dict[str, Any]:
    first, last = names(user)
    return {
        "_selfUrl": user_url(user.username),
        "firstName": first,
        "lastName": last,
        "username": user.username,
    }


def v1_user(user: User) -> dict[str, Any]:
    first, last = names(user)
    return {
        "_selfUrl": user_url(user.username),
        "firstName": first,
        "lastName": last,
        "username": user.username,
        "email": user.email,
        "createdAt": iso(user.created_at),
        "passwordLastUpdated": iso(user.created_at),
        "verified": True,
    }


def v2_user(user: User) -> dict[str, Any]:
    first, last = names(user)
    return {
        "firstName": first,
        "lastName": last,
        "displayName": user.name,
        "username": user.username,
        "email": user.email,
        "createdAt": iso(user.created_at),
        "passwordLastUpdated": iso(user.created_at),
        "verified": True,
        "_selfUrl": user_url(user.username),
    }


def policy_schedule(rota: PolicyRota) -> dict[str, Any]:
    """One policy's rota: a ``rotation_group`` entry per schedule, then the overrides in the window."""
    return {
        "policy": policy_ref(rota.entry.policy),
        "schedule": [
            {
                "onCallType": "rotation_group",
                "onCallUser": username_ref(rotation.on_call),
                "overrideOnCallUser": username_ref(rotation.override),
                "rotationName": rotation.schedule_name,
                "shiftName": rotation.shift_name,
                "shiftRoll": iso(rotation.shift_roll),
                "rolls": [
                    {
                        "start": iso(roll.start),
                        "end": iso(roll.end),
                        "onCallUser": username_ref(roll.username),
                        "isRoll": roll.is_roll,
                    }
                    for roll in rotation.rolls
                ],
            }
            for rotation in rota.rotations
        ],
        "overrides": [
            {
                "origOnCallUser": username_ref(span.original),
                "overrideOnCallUser": username_ref(span.override),
                "start": iso(span.start),
                "end": iso(span.end),
            }
            for span in rota.overrides
        ],
    }
