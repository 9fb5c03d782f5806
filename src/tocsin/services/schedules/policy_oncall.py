"""On call through an escalation policy: who a policy's schedules have on call now, taking on-call
for a policy (spec 002's "take on-call now", one ``take_shift`` per schedule the person is on call
in, the same service the native take-shift uses), and a policy's rota over a window.

A policy's schedules are the schedules its rules target, directly or as a team's named schedule.
Users targeted directly are paged but are not "on call": they have no shift to hand over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import EscalationPolicy, Schedule, Team, User
from tocsin.domain import schedule as rota
from tocsin.domain.actor import Actor, Tenant
from tocsin.services.errors import Invalid
from tocsin.services.people import directory
from tocsin.services.people.lookup import UserRef
from tocsin.services.schedules import oncall
from tocsin.services.schedules.overrides import TakenShift, take_shift
from tocsin.services.sql import tenant_filter


def schedule_ids(policy: EscalationPolicy) -> list[str]:
    """The schedules ``policy``'s rules target, in rule order, each once."""
    found: list[str] = []
    for rule in policy.rules:
        for target in rule.targets:
            ident = target.get("id") if target.get("type") == "schedule" else target.get("schedule_id")
            if isinstance(ident, str) and ident not in found:
                found.append(ident)
    return found


def _handle(user: UserRef) -> str:
    """How Splunk names a person: the username (every user gets one; the id if not)."""
    return user.username or user.id


@dataclass(frozen=True, slots=True)
class PolicyOnCall:
    policy: EscalationPolicy
    usernames: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TeamOnCall:
    team: Team
    policies: tuple[PolicyOnCall, ...]


def on_call_now(*, session: Session, tenant: Tenant, now: datetime) -> list[TeamOnCall]:
    """Every team (by name) with its policies and who their schedules have on call at ``now``.
    A policy of no team is left out: Splunk On-Call has no such policy to show it under."""
    entries = directory.policies(session=session, tenant=tenant)
    by_schedule = {
        schedule_id: oncall.on_call_users(session=session, tenant=tenant, schedule_id=schedule_id, at=now)
        for entry in entries
        for schedule_id in schedule_ids(entry.policy)
    }
    result = []
    for team in directory.teams(session=session, tenant=tenant):
        policies = []
        for entry in entries:
            if entry.team is None or entry.team.id != team.id:
                continue
            people = dict.fromkeys(_handle(u) for s in schedule_ids(entry.policy) for u in by_schedule[s])
            policies.append(PolicyOnCall(entry.policy, tuple(people)))
        result.append(TeamOnCall(team, tuple(policies)))
    return result


def _take(
    session: Session,
    tenant: Tenant,
    schedules: Sequence[str],
    from_user: User,
    to_user: User,
    actor: Actor,
    now: datetime,
    where: str,
) -> list[TakenShift]:
    if from_user.id == to_user.id:
        raise Invalid("toUser", "same_user", "toUser must be someone other than fromUser")
    taken = [
        take_shift(
            session=session,
            tenant=tenant,
            schedule_id=schedule_id,
            user_id=to_user.id,
            from_user_id=from_user.id,
            actor=actor,
            now=now,
        )
        for schedule_id in schedules
        if from_user.id
        in {
            u.id
            for u in oncall.on_call_users(session=session, tenant=tenant, schedule_id=schedule_id, at=now)
        }
    ]
    if not taken:
        raise Invalid("fromUser", "not_on_call", f"{from_user.username} is not on call now for {where}")
    return taken


def take_for_policy(
    *,
    session: Session,
    tenant: Tenant,
    policy: EscalationPolicy,
    from_user: User,
    to_user: User,
    actor: Actor,
    now: datetime,
) -> list[TakenShift]:
    """``to_user`` takes over now, until the end of each shift ``from_user`` is in on the policy's
    schedules; 400 when ``from_user`` is on call in none of them."""
    return _take(
        session, tenant, schedule_ids(policy), from_user, to_user, actor, now, f"policy {policy.name!r}"
    )


def take_for_team(
    *,
    session: Session,
    tenant: Tenant,
    team: Team,
    from_user: User,
    to_user: User,
    actor: Actor,
    now: datetime,
) -> list[TakenShift]:
    """``take_for_policy`` across all the team's policies, each schedule once."""
    schedules = list(
        dict.fromkeys(
            s
            for entry in directory.policies(session=session, tenant=tenant, team_id=team.id)
            for s in schedule_ids(entry.policy)
        )
    )
    return _take(session, tenant, schedules, from_user, to_user, actor, now, f"team {team.name!r}")


@dataclass(frozen=True, slots=True)
class Roll:
    """One stretch of the final rota; ``is_roll`` is false where an override covers it."""

    start: datetime
    end: datetime
    username: str
    is_roll: bool


@dataclass(frozen=True, slots=True)
class Rotation:
    """One schedule of a policy over the window, as seen from its start."""

    schedule_name: str
    shift_name: str | None
    on_call: str | None
    override: str | None
    shift_roll: datetime | None
    rolls: tuple[Roll, ...]


@dataclass(frozen=True, slots=True)
class OverrideSpan:
    original: str | None
    override: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class PolicyRota:
    entry: directory.PolicyEntry
    rotations: tuple[Rotation, ...]
    overrides: tuple[OverrideSpan, ...]


def _covering(shifts: Sequence[rota.Shift], at: datetime) -> rota.Shift | None:
    return next((s for s in shifts if s.start <= at < s.end), None)


def _rotation(
    snapshot: oncall.Snapshot, since: datetime, until: datetime, step: int, names: dict[str, str]
) -> tuple[Rotation, list[OverrideSpan]]:
    final = snapshot.final(since, until)
    base = replace(snapshot, model=replace(snapshot.model, overrides=()))
    scheduled = base.final(since, until)
    now_final, now_base = _covering(final, since), _covering(scheduled, since)
    layer_id = now_base.layer_id if now_base else None
    rolls = tuple(Roll(s.start, s.end, names.get(s.user_id, s.user_id), s.override_id is None) for s in final)
    spans = []
    for override in snapshot.model.overrides:
        original = _covering(scheduled, max(override.start, since))
        spans.append(
            OverrideSpan(
                names.get(original.user_id, original.user_id) if original else None,
                names.get(override.user_id, override.user_id),
                override.start,
                override.end,
            )
        )
    rotation = Rotation(
        schedule_name=snapshot.schedule.name,
        shift_name=snapshot.layer_names.get(layer_id) if layer_id else None,
        on_call=names.get(now_base.user_id) if now_base else None,
        override=names.get(now_final.user_id) if now_final and now_final.override_id else None,
        shift_roll=now_final.end if now_final else (final[0].start if final else None),
        rolls=rolls[step:],
    )
    return rotation, spans


def policy_rotas(
    *,
    session: Session,
    tenant: Tenant,
    entries: Sequence[directory.PolicyEntry],
    since: datetime,
    until: datetime,
    step: int = 0,
    username: str | None = None,
) -> list[PolicyRota]:
    """Each policy's schedules over ``[since, until)``; ``step`` skips that many rolls. With
    ``username`` only that person's rolls and overrides are kept, and policies without any dropped."""
    since, until = oncall.check_window(since, until)
    wanted = {s for entry in entries for s in schedule_ids(entry.policy)}
    schedules = session.scalars(
        select(Schedule).where(*tenant_filter(Schedule, tenant), Schedule.id.in_(wanted))
    ).all()
    snapshots = {
        s.schedule.id: s
        for s in oncall.load_snapshots(
            session=session, tenant=tenant, schedules=schedules, since=since, until=until
        )
    }
    names = {u.id: _handle(u) for s in snapshots.values() for u in s.users.values()}
    result = []
    for entry in entries:
        rotations: list[Rotation] = []
        overrides: list[OverrideSpan] = []
        for schedule_id in schedule_ids(entry.policy):
            if schedule_id not in snapshots:
                continue
            rotation, spans = _rotation(snapshots[schedule_id], since, until, step, names)
            if username is not None:
                rotation = replace(rotation, rolls=tuple(r for r in rotation.rolls if r.username == username))
                spans = [s for s in spans if username in (s.original, s.override)]
                if not rotation.rolls:
                    overrides += spans
                    continue
            rotations.append(rotation)
            overrides += spans
        if username is None or rotations or overrides:
            result.append(PolicyRota(entry, tuple(rotations), tuple(overrides)))
    return result
