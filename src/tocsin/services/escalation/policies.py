"""Escalation policies: ordered rules of targets (users, schedules, teams), checked specs in, rows out.

Every check names the field the client sent (``rules.1.targets.0.id``), as pydantic does for the
types, so a bad policy is a 400 the caller can fix. A target of another org or mode is "not found"
on its field: it never tells whether the id exists elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.db.models import EscalationPolicy, EscalationRule, Schedule, Service, Team, User
from tocsin.domain.actor import Tenant
from tocsin.domain.escalation import RULE_KINDS
from tocsin.ids import new_id
from tocsin.services.checks import check_bool, check_int, check_name, check_optional_text, check_team
from tocsin.services.errors import Conflict, Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_filter

TARGET_TYPES = ("user", "schedule", "team")
MAX_RULES = 20
MAX_TARGETS = 20
MAX_REPEAT = 9
MAX_DELAY_MINUTES = 24 * 60
MAX_DESCRIPTION = 2000


@dataclass(frozen=True, slots=True)
class TargetRef:
    """A target as it exists in the tenant: its name and, for a schedule, its team."""

    name: str
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """A service that pages through a policy."""

    id: str
    name: str


def lookup_targets(
    *, session: Session, tenant: Tenant, targets: Iterable[Mapping[str, Any]]
) -> dict[tuple[str, str], TargetRef]:
    """The tenant's users, schedules and teams among ``targets``, keyed by ``(type, id)``: one query
    per type named. A target of another tenant (or since deleted) is simply absent."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        if target.get("type") in TARGET_TYPES and isinstance(target.get("id"), str):
            wanted[target["type"]].add(target["id"])
        if target.get("type") == "team" and isinstance(target.get("schedule_id"), str):
            wanted["schedule"].add(target["schedule_id"])
    found: dict[tuple[str, str], TargetRef] = {}
    if wanted["user"]:
        rows = session.execute(
            select(User.id, User.name).where(*tenant_filter(User, tenant), User.id.in_(wanted["user"]))
        )
        found.update({("user", row.id): TargetRef(row.name) for row in rows})
    if wanted["schedule"]:
        rows = session.execute(
            select(Schedule.id, Schedule.name, Schedule.team_id).where(
                *tenant_filter(Schedule, tenant), Schedule.id.in_(wanted["schedule"])
            )
        )
        found.update({("schedule", row.id): TargetRef(row.name, row.team_id) for row in rows})
    if wanted["team"]:
        rows = session.execute(
            select(Team.id, Team.name).where(*tenant_filter(Team, tenant), Team.id.in_(wanted["team"]))
        )
        found.update({("team", row.id): TargetRef(row.name) for row in rows})
    return found


def _check_target(spec: Any, field: str, known: Mapping[tuple[str, str], TargetRef]) -> dict[str, Any]:
    """The stored form: ``{type, id}``, plus ``schedule_id`` for a team paged through its schedule."""
    if not isinstance(spec, Mapping):
        raise Invalid(field, "invalid", f"{field} must be an object")
    kind = spec.get("type")
    if kind not in TARGET_TYPES:
        raise Invalid(f"{field}.type", "invalid", f"{field}.type must be one of {', '.join(TARGET_TYPES)}")
    ident = spec.get("id")
    if not isinstance(ident, str) or not ident:
        raise Invalid(f"{field}.id", "required", f"{field}.id is required, the {kind}'s id")
    if (kind, ident) not in known:
        raise Invalid(f"{field}.id", "not_found", f"{field}.id: unknown {kind} id {ident!r}")
    stored: dict[str, Any] = {"type": kind, "id": ident}
    schedule_id = spec.get("schedule_id")
    if schedule_id is not None:
        if kind != "team":
            raise Invalid(
                f"{field}.schedule_id", "not_allowed", "schedule_id is only for a team target (type 'team')"
            )
        schedule = known.get(("schedule", schedule_id)) if isinstance(schedule_id, str) else None
        if schedule is None:
            raise Invalid(
                f"{field}.schedule_id", "not_found", f"{field}.schedule_id: unknown schedule {schedule_id!r}"
            )
        if schedule.team_id != ident:
            raise Invalid(
                f"{field}.schedule_id",
                "not_in_team",
                f"{field}.schedule_id: schedule {schedule_id!r} does not belong to team {ident!r}",
            )
        stored["schedule_id"] = schedule_id
    return stored


def check_rule(spec: Any, field: str, known: Mapping[tuple[str, str], TargetRef]) -> dict[str, Any]:
    """Column values of one rule spec. A ``notify`` rule (the default) needs targets; ``wait``,
    ``repeat`` and ``resolve`` page nobody, so they take none; ``important`` is for notify rules."""
    if not isinstance(spec, Mapping):
        raise Invalid(field, "invalid", f"{field} must be an object")
    delay = check_int(spec.get("delay_minutes", 0), f"{field}.delay_minutes", 0, MAX_DELAY_MINUTES)
    kind = spec.get("kind")
    kind = "notify" if kind is None else kind
    if kind not in RULE_KINDS:
        raise Invalid(f"{field}.kind", "invalid", f"{field}.kind must be one of {', '.join(RULE_KINDS)}")
    important = spec.get("important")
    important = False if important is None else check_bool(important, f"{field}.important")
    targets = spec.get("targets")
    if kind != "notify":
        if targets:
            raise Invalid(f"{field}.targets", "not_allowed", f"a {kind} rule pages nobody: send no targets")
        if important:
            raise Invalid(f"{field}.important", "not_allowed", "important is only for a notify rule")
        return {"delay_minutes": delay, "targets": [], "kind": kind, "important": False}
    if not isinstance(targets, list | tuple) or not targets:
        raise Invalid(f"{field}.targets", "required", f"{field}.targets needs at least one target")
    if len(targets) > MAX_TARGETS:
        raise Invalid(f"{field}.targets", "too_long", f"a rule has at most {MAX_TARGETS} targets")
    stored: list[dict[str, Any]] = []
    for index, target in enumerate(targets):
        checked = _check_target(target, f"{field}.targets.{index}", known)
        if checked in stored:
            raise Invalid(
                f"{field}.targets.{index}",
                "duplicate",
                f"{field}.targets.{index}: {checked['type']} {checked['id']!r} is already in this rule",
            )
        stored.append(checked)
    return {"delay_minutes": delay, "targets": stored, "kind": kind, "important": important}


def rule_targets(specs: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Every target object among rule specs, to look them up with one ``lookup_targets``."""
    return [
        target
        for spec in specs
        if isinstance(spec, Mapping) and isinstance(spec.get("targets"), list | tuple)
        for target in spec["targets"]
        if isinstance(target, Mapping)
    ]


def _set_rules(
    session: Session,
    tenant: Tenant,
    policy: EscalationPolicy,
    specs: Any,
    now: datetime,
    *,
    rules_required: bool = True,
) -> None:
    """Replace the rule list; ``position`` is the index. A spec with the ``id`` of one of this
    policy's rules updates that rule in place (its id stays); rules left out are deleted, and a
    spec without ``id`` becomes a new rule with a new id."""
    if not isinstance(specs, list | tuple) or (rules_required and not specs):
        raise Invalid("rules", "required", "rules needs at least one rule: who is paged first")
    if len(specs) > MAX_RULES:
        raise Invalid("rules", "too_long", f"a policy has at most {MAX_RULES} rules")
    known = lookup_targets(session=session, tenant=tenant, targets=rule_targets(specs))
    current = {rule.id: rule for rule in policy.rules}
    kept: list[EscalationRule] = []
    seen: set[str] = set()
    for position, spec in enumerate(specs):
        field = f"rules.{position}"
        values = check_rule(spec, field, known)
        rule_id = spec.get("id")
        if rule_id is not None:
            if not isinstance(rule_id, str) or rule_id not in current:
                raise Invalid(f"{field}.id", "not_found", f"{field}.id: this policy has no rule {rule_id!r}")
            if rule_id in seen:
                raise Invalid(f"{field}.id", "duplicate", f"{field}.id: rule {rule_id!r} is listed twice")
            seen.add(rule_id)
            rule = current[rule_id]
            rule.position = position
            for column, value in values.items():
                setattr(rule, column, value)
        else:
            rule = EscalationRule(
                id=new_id("escalation_rule"),
                org_id=tenant.org_id,
                livemode=tenant.livemode,
                position=position,
                created_at=now,
                **values,
            )
        kept.append(rule)
    policy.rules = kept


def _repeat_delay(value: Any) -> int | None:
    """Null keeps the default (the last rule's delay, ``domain.escalation.repeat_delay``); else
    minutes, 0 (repeat at once) included."""
    if value is None:
        return None
    return check_int(value, "repeat_delay_minutes", 0, MAX_DELAY_MINUTES)


def create_policy(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    name: str,
    rules: Sequence[Mapping[str, Any]],
    description: str | None = None,
    team_id: str | None = None,
    repeat_count: int = 0,
    repeat_delay_minutes: int | None = None,
    rules_required: bool = True,
) -> EscalationPolicy:
    """A policy with its rules (first paged first), all checked before anything is written.
    ``rules_required=False`` allows an empty policy, which Grafana OnCall's chains start as."""
    policy = EscalationPolicy(
        id=new_id("escalation_policy"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        name=check_name(name),
        description=check_optional_text(description, "description", MAX_DESCRIPTION),
        team_id=check_team(session=session, tenant=tenant, team_id=team_id),
        repeat_count=check_int(repeat_count, "repeat_count", 0, MAX_REPEAT),
        repeat_delay_minutes=_repeat_delay(repeat_delay_minutes),
        created_at=now,
        updated_at=now,
    )
    policy.rules = []
    _set_rules(session, tenant, policy, list(rules), now, rules_required=rules_required)
    session.add(policy)
    session.flush()
    return policy


def get_policy(*, session: Session, tenant: Tenant, policy_id: str) -> EscalationPolicy:
    return load(
        session=session, model=EscalationPolicy, tenant=tenant, ident=policy_id, resource="escalation_policy"
    )


def list_policies(
    *,
    session: Session,
    tenant: Tenant,
    team_ids: tuple[str, ...] = (),
    query: str | None = None,
    name: str | None = None,
    oldest_first: bool = False,
    limit: int,
    offset: int,
) -> Page[EscalationPolicy]:
    """Sorted by name (or oldest first, as Grafana OnCall lists chains); ``query`` matches part of
    the name, any case; ``name`` matches the whole name exactly."""
    order = (
        (EscalationPolicy.created_at, EscalationPolicy.id)
        if oldest_first
        else (EscalationPolicy.name, EscalationPolicy.id)
    )
    stmt = (
        select(EscalationPolicy)
        .where(*tenant_filter(EscalationPolicy, tenant))
        .options(selectinload(EscalationPolicy.rules))
        .order_by(*order)
    )
    if name is not None:
        stmt = stmt.where(EscalationPolicy.name == name)
    if team_ids:
        stmt = stmt.where(EscalationPolicy.team_id.in_(team_ids))
    if query:
        stmt = stmt.where(func.lower(EscalationPolicy.name).contains(query.strip().lower(), autoescape=True))
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_policy(
    *, session: Session, tenant: Tenant, policy_id: str, changes: Mapping[str, Any], now: datetime
) -> EscalationPolicy:
    """Fields present in ``changes`` are set; ``rules`` replaces the whole rule list (a rule sent
    with its ``id`` keeps it, one sent without gets a new id)."""
    policy = get_policy(session=session, tenant=tenant, policy_id=policy_id)
    if "name" in changes:
        policy.name = check_name(changes["name"])
    if "description" in changes:
        policy.description = check_optional_text(changes["description"], "description", MAX_DESCRIPTION)
    if "team_id" in changes:
        policy.team_id = check_team(session=session, tenant=tenant, team_id=changes["team_id"])
    if "repeat_count" in changes:
        policy.repeat_count = check_int(changes["repeat_count"], "repeat_count", 0, MAX_REPEAT)
    if "repeat_delay_minutes" in changes:
        policy.repeat_delay_minutes = _repeat_delay(changes["repeat_delay_minutes"])
    if "rules" in changes:
        _set_rules(session, tenant, policy, changes["rules"], now)
    policy.updated_at = now
    session.flush()
    return policy


def delete_policy(*, session: Session, tenant: Tenant, policy_id: str) -> None:
    """Refused while a service pages through it: the services must be given another policy (or
    none) first, so no service silently stops paging."""
    policy = get_policy(session=session, tenant=tenant, policy_id=policy_id)
    users = services_using(session=session, tenant=tenant, policy_ids=[policy.id]).get(policy.id, [])
    if users:
        names = ", ".join(repr(service.name) for service in users)
        raise Conflict(
            f"escalation policy {policy.id!r} is used by {len(users)} service(s) ({names}); "
            "give them another escalation_policy_id (or null) first",
            {"services": [{"id": service.id, "name": service.name} for service in users]},
        )
    session.delete(policy)
    session.flush()


def services_using(
    *, session: Session, tenant: Tenant, policy_ids: Iterable[str]
) -> dict[str, list[ServiceRef]]:
    """The tenant's services of each policy in ``policy_ids``, by name, in one query."""
    wanted = set(policy_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Service.id, Service.name, Service.escalation_policy_id)
        .where(*tenant_filter(Service, tenant), Service.escalation_policy_id.in_(wanted))
        .order_by(Service.name, Service.id)
    )
    found: dict[str, list[ServiceRef]] = defaultdict(list)
    for row in rows:
        found[row.escalation_policy_id].append(ServiceRef(row.id, row.name))
    return dict(found)


def policy_targets(policies: Iterable[EscalationPolicy]) -> list[dict[str, Any]]:
    """Every target of the rules of ``policies``, to name them with one ``lookup_targets``."""
    return [target for policy in policies for rule in policy.rules for target in rule.targets]
