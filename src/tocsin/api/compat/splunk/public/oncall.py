"""Splunk On-Call on-call: who is on call now per team and policy, a user's or a team's rota ahead,
and taking on-call now for a policy (spec 002), or for a team in the deprecated form.

Taking on-call is the native take-shift: ``toUser`` covers each schedule of the policy that has
``fromUser`` on call now, until that shift ends, so ``/v1/oncall/current`` and the native
``/api/schedules/{id}/on-call`` show the change at once. 404 for an unknown policy, team or user;
400 when ``fromUser`` is not on call there now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from tocsin.api.compat.splunk.public import render
from tocsin.api.compat.splunk.public.common import PUBLIC, Body
from tocsin.api.compat.splunk.public.fields import required_text
from tocsin.api.deps import Db, Now, SchedulesRead, SchedulesWrite
from tocsin.services.people import directory, handles
from tocsin.services.schedules import policy_oncall
from tocsin.services.schedules.overrides import TakenShift

router = APIRouter(prefix=PUBLIC)

DaysForward = Annotated[int, Query(alias="daysForward", ge=1, le=30, description="Days ahead (max 30)")]
DaysSkip = Annotated[int, Query(alias="daysSkip", ge=0, le=90, description="Days to skip first (max 90)")]
Step = Annotated[int, Query(alias="step", ge=0, le=3, description="Rolls to skip (max 3)")]


@router.get("/v1/oncall/current", summary="Who is on call now (Splunk On-Call)")
def current(key: SchedulesRead, db: Db, now: Now) -> dict[str, Any]:
    with db.read() as session:
        teams = policy_oncall.on_call_now(session=session, tenant=key.tenant, now=now)
        return {
            "teamsOnCall": [
                {
                    "team": render.team_ref(entry.team),
                    "onCallNow": [
                        {
                            "escalationPolicy": render.policy_ref(policy.policy),
                            "users": [{"onCallUser": {"username": name}} for name in policy.usernames],
                        }
                        for policy in entry.policies
                    ],
                }
                for entry in teams
            ]
        }


def _window(now: datetime, days_forward: int, days_skip: int) -> tuple[datetime, datetime]:
    since = now + timedelta(days=days_skip)
    return since, since + timedelta(days=days_forward)


@router.get("/v2/user/{user}/oncall/schedule", summary="A user's on-call schedule (Splunk On-Call)")
def user_schedule(
    user: str,
    key: SchedulesRead,
    db: Db,
    now: Now,
    days_forward: DaysForward = 14,
    days_skip: DaysSkip = 0,
    step: Step = 0,
) -> dict[str, Any]:
    """The policies (under their teams) whose schedules have the user on call in the window, with
    only the user's own rolls and the overrides involving them."""
    since, until = _window(now, days_forward, days_skip)
    with db.read() as session:
        person = handles.user_by_username(session=session, tenant=key.tenant, username=user)
        entries = directory.policies(session=session, tenant=key.tenant)
        rotas = policy_oncall.policy_rotas(
            session=session,
            tenant=key.tenant,
            entries=entries,
            since=since,
            until=until,
            step=step,
            username=person.username,
        )
        team_schedules = []
        for team in directory.teams(session=session, tenant=key.tenant):
            mine = [rota for rota in rotas if rota.entry.team is not None and rota.entry.team.id == team.id]
            if mine:
                team_schedules.append(
                    {"team": render.team_ref(team), "schedules": [render.policy_schedule(r) for r in mine]}
                )
        return {"teamSchedules": team_schedules}


@router.get("/v2/team/{team}/oncall/schedule", summary="A team's on-call schedule (Splunk On-Call)")
def team_schedule(
    team: str,
    key: SchedulesRead,
    db: Db,
    now: Now,
    days_forward: DaysForward = 14,
    days_skip: DaysSkip = 0,
    step: Step = 0,
) -> dict[str, Any]:
    since, until = _window(now, days_forward, days_skip)
    with db.read() as session:
        found = handles.team_by_slug(session=session, tenant=key.tenant, slug=team)
        rotas = policy_oncall.policy_rotas(
            session=session,
            tenant=key.tenant,
            entries=directory.policies(session=session, tenant=key.tenant, team_id=found.id),
            since=since,
            until=until,
            step=step,
        )
        return {"team": render.team_ref(found), "schedules": [render.policy_schedule(r) for r in rotas]}


def _handover_names(body: dict[str, Any]) -> tuple[str, str]:
    """``fromUser`` and ``toUser`` of a take-on-call body, both required."""
    return required_text(body, "fromUser", limit=100), required_text(body, "toUser", limit=100)


def _result(to_user: str, taken: list[TakenShift]) -> dict[str, Any]:
    until = max(shift.override.end for shift in taken)
    count = len(taken)
    where = "1 schedule" if count == 1 else f"{count} schedules"
    return {"result": f"{to_user} is now on call on {where} until {render.iso(until)}"}


@router.patch("/v1/policies/{policy}/oncall/user", summary="Take on-call now for a policy (Splunk On-Call)")
def take_for_policy(policy: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    from_name, to_name = _handover_names(body)
    with db.write() as session:
        found = directory.policy_by_slug(session=session, tenant=key.tenant, slug=policy)
        from_user, to_user = (
            handles.user_by_username(session=session, tenant=key.tenant, username=n)
            for n in (from_name, to_name)
        )
        taken = policy_oncall.take_for_policy(
            session=session,
            tenant=key.tenant,
            policy=found,
            from_user=from_user,
            to_user=to_user,
            actor=key.actor,
            now=now,
        )
        return _result(to_user.username or to_name, taken)


@router.patch(
    "/v1/team/{team}/oncall/user",
    summary="Take on-call now for a team (Splunk On-Call, deprecated)",
    deprecated=True,
)
def take_for_team(team: str, body: Body, key: SchedulesWrite, db: Db, now: Now) -> dict[str, Any]:
    from_name, to_name = _handover_names(body)
    with db.write() as session:
        found = handles.team_by_slug(session=session, tenant=key.tenant, slug=team)
        from_user, to_user = (
            handles.user_by_username(session=session, tenant=key.tenant, username=n)
            for n in (from_name, to_name)
        )
        taken = policy_oncall.take_for_team(
            session=session,
            tenant=key.tenant,
            team=found,
            from_user=from_user,
            to_user=to_user,
            actor=key.actor,
            now=now,
        )
        return _result(to_user.username or to_name, taken)
