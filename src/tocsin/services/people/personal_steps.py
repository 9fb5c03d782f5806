"""A user's notification rules read as an ordered list of steps, Grafana OnCall's "personal
notification rules": notify through a channel, wait, notify again.

We keep one row per notify step with an absolute delay (``delay_minutes`` after the page); Grafana
keeps the waits between them as steps of their own. So the list is derived: per user and urgency
(``important`` is our high urgency), rules by delay, and a ``wait`` step wherever the delay grows,
its duration the difference. A wait has no row; its id is derived from the rule after it
(``nrw_…`` for ``nr_…``), so it is stable while that rule exists.

A new notify step is appended at the end: it takes the last rule's delay (no wait after it). Waits
cannot be created, edited or deleted on their own; the caller says so with a 400 naming them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.db.models import ContactMethod, NotificationRule, User
from tocsin.domain.actor import Tenant
from tocsin.services.errors import Invalid, NotFound
from tocsin.services.people import contacts
from tocsin.services.sql import load, tenant_filter

RULE_PREFIX: Final = "nr_"
WAIT_PREFIX: Final = "nrw_"
WAIT: Final = "wait"


@dataclass(frozen=True, slots=True)
class PersonalStep:
    """One step: ``kind`` is ``wait`` or the contact method type a notify step pages through."""

    id: str
    user_id: str
    position: int
    kind: str
    important: bool
    duration_seconds: int | None = None

    @property
    def is_wait(self) -> bool:
        return self.kind == WAIT


def wait_id(rule_id: str) -> str:
    return WAIT_PREFIX + rule_id.removeprefix(RULE_PREFIX)


def rule_id_of(step_id: str) -> str:
    """The rule a step id names (a wait names the rule after it)."""
    if step_id.startswith(WAIT_PREFIX):
        return RULE_PREFIX + step_id.removeprefix(WAIT_PREFIX)
    return step_id


def _important(urgency: str) -> bool:
    return urgency == "high"


def _steps(rows: Iterable[tuple[NotificationRule, str]]) -> list[PersonalStep]:
    """Rows already ordered by user, urgency (low first, as Grafana lists ``important`` last) and
    delay, made into steps with positions counted per user and urgency."""
    steps: list[PersonalStep] = []
    current: tuple[str, str] | None = None
    position = previous_delay = 0
    for rule, kind in rows:
        if (rule.user_id, rule.urgency) != current:
            current = (rule.user_id, rule.urgency)
            position = previous_delay = 0
        important = _important(rule.urgency)
        if rule.delay_minutes > previous_delay:
            duration = (rule.delay_minutes - previous_delay) * 60
            steps.append(PersonalStep(wait_id(rule.id), rule.user_id, position, WAIT, important, duration))
            position += 1
        steps.append(PersonalStep(rule.id, rule.user_id, position, kind, important))
        position += 1
        previous_delay = rule.delay_minutes
    return steps


def list_steps(
    *,
    session: Session,
    tenant: Tenant,
    user_id: str | None = None,
    important: bool | None = None,
) -> list[PersonalStep]:
    """The tenant's steps (or one user's), users oldest first, then not important before
    important, then by position."""
    stmt = (
        select(NotificationRule, ContactMethod.type)
        .join(ContactMethod, ContactMethod.id == NotificationRule.contact_method_id)
        .join(User, User.id == NotificationRule.user_id)
        .where(*tenant_filter(NotificationRule, tenant))
        .order_by(
            User.created_at,
            User.id,
            NotificationRule.urgency.desc(),  # "low" before "high"
            NotificationRule.delay_minutes,
            NotificationRule.created_at,
            NotificationRule.id,
        )
    )
    if user_id is not None:
        stmt = stmt.where(NotificationRule.user_id == user_id)
    if important is not None:
        stmt = stmt.where(NotificationRule.urgency == ("high" if important else "low"))
    return _steps((rule, kind) for rule, kind in session.execute(stmt))


def get_step(*, session: Session, tenant: Tenant, step_id: str) -> PersonalStep:
    """A step by id (a wait's derived id too); 404 for anything else."""
    rule = session.scalar(
        select(NotificationRule).where(
            *tenant_filter(NotificationRule, tenant), NotificationRule.id == rule_id_of(step_id)
        )
    )
    if rule is not None:
        for step in list_steps(
            session=session, tenant=tenant, user_id=rule.user_id, important=_important(rule.urgency)
        ):
            if step.id == step_id:
                return step
    raise NotFound("personal_notification_rule", step_id)


def _method_for(session: Session, tenant: Tenant, user: User, kind: str, now: datetime) -> str:
    """The user's oldest contact method of ``kind``; for email (their own address) and SMS or voice
    (their profile phone) one is added when missing, since we know where to reach them."""
    found = session.scalar(
        select(ContactMethod.id)
        .where(
            *tenant_filter(ContactMethod, tenant),
            ContactMethod.user_id == user.id,
            ContactMethod.type == kind,
        )
        .order_by(ContactMethod.created_at, ContactMethod.id)
        .limit(1)
    )
    if found is not None:
        return str(found)
    address = user.email if kind == "email" else user.phone if kind in ("sms", "voice") else None
    if address is None:
        raise Invalid(
            "type",
            "no_contact_method",
            f"user {user.id} has no {kind} contact method; add one with "
            f"POST /api/users/{user.id}/contact-methods first",
        )
    method = contacts.create_contact_method(
        session=session, tenant=tenant, user_id=user.id, type=kind, address=address, now=now
    )
    return method.id


def add_notify_step(
    *, session: Session, tenant: Tenant, user_id: str, kind: str, important: bool, now: datetime
) -> PersonalStep:
    """A notify step at the end of the user's list for that urgency (same delay as the last one)."""
    user = load(session=session, model=User, tenant=tenant, ident=user_id, resource="user")
    urgency = "high" if important else "low"
    last_delay = session.scalar(
        select(func.max(NotificationRule.delay_minutes)).where(
            *tenant_filter(NotificationRule, tenant),
            NotificationRule.user_id == user.id,
            NotificationRule.urgency == urgency,
        )
    )
    rule = contacts.create_notification_rule(
        session=session,
        tenant=tenant,
        user_id=user.id,
        contact_method_id=_method_for(session, tenant, user, kind, now),
        urgency=urgency,
        delay_minutes=last_delay or 0,
        now=now,
    )
    return get_step(session=session, tenant=tenant, step_id=rule.id)


def change_notify_step(
    *, session: Session, tenant: Tenant, step_id: str, kind: str, now: datetime
) -> PersonalStep:
    """Page through another channel at the same point of the list."""
    step = get_step(session=session, tenant=tenant, step_id=step_id)
    if step.is_wait:
        raise Invalid("type", "wait_step", "a wait step is derived from the delays of the rules around it")
    user = load(session=session, model=User, tenant=tenant, ident=step.user_id, resource="user")
    contacts.update_notification_rule(
        session=session,
        tenant=tenant,
        user_id=user.id,
        rule_id=step.id,
        changes={"contact_method_id": _method_for(session, tenant, user, kind, now)},
    )
    return get_step(session=session, tenant=tenant, step_id=step.id)


def delete_notify_step(*, session: Session, tenant: Tenant, step_id: str) -> None:
    step = get_step(session=session, tenant=tenant, step_id=step_id)
    if step.is_wait:
        raise Invalid("type", "wait_step", "a wait step is derived from the delays of the rules around it")
    contacts.delete_notification_rule(session=session, tenant=tenant, user_id=step.user_id, rule_id=step.id)
