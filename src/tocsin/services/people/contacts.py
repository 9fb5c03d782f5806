"""How a person is reached: their contact methods, their notification rules, and the plan the
engine follows to page them (``plan_for``).

Addresses are checked per type when written (``contact_addresses``), so the engine never finds a
phone number where it expects a URL. Everything lives under one user: another user's (or org's)
method is "not found".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import ContactMethod, NotificationRule, User
from tocsin.domain.actor import Tenant
from tocsin.domain.verification import needs_verification
from tocsin.ids import new_id
from tocsin.services.checks import MAX_LABEL, check_int, check_optional_text
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.pagination import Page, paginate
from tocsin.services.people.contact_addresses import check_address, check_contact_type
from tocsin.services.sql import load, tenant_filter

RULE_URGENCIES = ("high", "low")
MAX_DELAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """One page to send to one person: through ``contact_method_id`` (``None`` for the default email
    to the user's own address), ``delay_minutes`` after they are paged."""

    user_id: str
    user_name: str
    contact_method_id: str | None
    type: str
    address: str
    delay_minutes: int
    # False: the person never proved the method reaches them (``domain.verification``); it is
    # paged only where the org allows it (``Org.page_unverified_contacts``).
    verified: bool = True


def _user(session: Session, tenant: Tenant, user_id: str) -> User:
    return load(session=session, model=User, tenant=tenant, ident=user_id, resource="user")


# --- contact methods -----------------------------------------------------------------------------


def list_contact_methods(
    *, session: Session, tenant: Tenant, user_id: str, limit: int, offset: int
) -> Page[ContactMethod]:
    """Oldest first."""
    user = _user(session, tenant, user_id)
    stmt = (
        select(ContactMethod)
        .where(*tenant_filter(ContactMethod, tenant), ContactMethod.user_id == user.id)
        .order_by(ContactMethod.created_at, ContactMethod.id)
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def contact_types(*, session: Session, tenant: Tenant) -> frozenset[str]:
    """The contact-method types anyone in this tenant has: a person's Slack, Teams or webhook
    address makes that channel configured in the channel-health view."""
    found = session.scalars(
        select(ContactMethod.type).where(*tenant_filter(ContactMethod, tenant)).distinct()
    )
    return frozenset(found)


def get_contact_method(*, session: Session, tenant: Tenant, user_id: str, method_id: str) -> ContactMethod:
    """A method of that user; another user's method is not found under this user."""
    user = _user(session, tenant, user_id)
    method = session.scalar(
        select(ContactMethod).where(
            *tenant_filter(ContactMethod, tenant),
            ContactMethod.id == method_id,
            ContactMethod.user_id == user.id,
        )
    )
    if method is None:
        raise NotFound("contact_method", method_id)
    return method


def _refuse_duplicate_method(
    session: Session, tenant: Tenant, user_id: str, kind: str, address: str, exclude_id: str | None = None
) -> None:
    stmt = select(ContactMethod.id).where(
        *tenant_filter(ContactMethod, tenant),
        ContactMethod.user_id == user_id,
        ContactMethod.type == kind,
        ContactMethod.address == address,
    )
    if exclude_id is not None:
        stmt = stmt.where(ContactMethod.id != exclude_id)
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(
            f"this user already has a {kind} contact method for that address ({existing})",
            {"field": "address", "contact_method_id": existing},
        )


def _trusted(user: User, kind: str, address: str) -> bool:
    """Whether a method is verified as it is added: a type that needs no code, an email to the
    user's own account address (which Tocsin pages without any rule already), or any method in
    test mode, whose pages and codes only ever reach the recording sink, so no person could
    read a code back."""
    if not needs_verification(kind) or not user.livemode:
        return True
    return kind == "email" and address.lower() == user.email.strip().lower()


def create_contact_method(
    *,
    session: Session,
    tenant: Tenant,
    user_id: str,
    type: str,
    address: str,
    now: datetime,
    label: str | None = None,
) -> ContactMethod:
    """A way to reach the user; the same type and address twice is a 409. Email, SMS and voice start
    unverified (``domain.verification``): a code sent to them must come back first, unless it is
    the user's own account email."""
    user = _user(session, tenant, user_id)
    kind = check_contact_type(type)
    checked = check_address(kind, address)
    _refuse_duplicate_method(session, tenant, user.id, kind, checked)
    method = ContactMethod(
        id=new_id("contact_method"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        user_id=user.id,
        type=kind,
        address=checked,
        label=check_optional_text(label, "label", MAX_LABEL),
        created_at=now,
        updated_at=now,
        verified_at=now if _trusted(user, kind, checked) else None,
    )
    session.add(method)
    session.flush()
    return method


def update_contact_method(
    *,
    session: Session,
    tenant: Tenant,
    user_id: str,
    method_id: str,
    changes: Mapping[str, Any],
    now: datetime,
) -> ContactMethod:
    """Fields present in ``changes`` are set; the address is checked against the (new) type. A new
    address (or type) un-verifies the method."""
    method = get_contact_method(session=session, tenant=tenant, user_id=user_id, method_id=method_id)
    kind = check_contact_type(changes["type"]) if "type" in changes else method.type
    if "type" in changes or "address" in changes:
        address = check_address(kind, changes.get("address", method.address))
        _refuse_duplicate_method(session, tenant, method.user_id, kind, address, exclude_id=method.id)
        if (kind, address) != (method.type, method.address):
            # Proof that the old address reached the person says nothing about the new one.
            user = _user(session, tenant, method.user_id)
            method.verified_at = now if _trusted(user, kind, address) else None
        method.type, method.address = kind, address
    if "label" in changes:
        method.label = check_optional_text(changes["label"], "label", MAX_LABEL)
    method.updated_at = now
    session.flush()
    return method


def delete_contact_method(*, session: Session, tenant: Tenant, user_id: str, method_id: str) -> None:
    """Its notification rules go with it (foreign key cascade)."""
    method = get_contact_method(session=session, tenant=tenant, user_id=user_id, method_id=method_id)
    session.delete(method)
    session.flush()


# --- notification rules --------------------------------------------------------------------------


def list_notification_rules(
    *, session: Session, tenant: Tenant, user_id: str, limit: int, offset: int
) -> Page[NotificationRule]:
    """High urgency first, then by delay: the order the user is paged in."""
    user = _user(session, tenant, user_id)
    stmt = (
        select(NotificationRule)
        .where(*tenant_filter(NotificationRule, tenant), NotificationRule.user_id == user.id)
        .order_by(
            NotificationRule.urgency,
            NotificationRule.delay_minutes,
            NotificationRule.created_at,
            NotificationRule.id,
        )
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def get_notification_rule(
    *, session: Session, tenant: Tenant, user_id: str, rule_id: str
) -> NotificationRule:
    user = _user(session, tenant, user_id)
    rule = session.scalar(
        select(NotificationRule).where(
            *tenant_filter(NotificationRule, tenant),
            NotificationRule.id == rule_id,
            NotificationRule.user_id == user.id,
        )
    )
    if rule is None:
        raise NotFound("notification_rule", rule_id)
    return rule


def _check_urgency(value: Any) -> str:
    if value not in RULE_URGENCIES:
        raise Invalid("urgency", "invalid", "urgency must be 'high' (HIGH incidents) or 'low' (MEDIUM, LOW)")
    return str(value)


def _check_method_of(session: Session, tenant: Tenant, user_id: str, method_id: Any) -> str:
    found = None
    if isinstance(method_id, str):
        found = session.scalar(
            select(ContactMethod.id).where(
                *tenant_filter(ContactMethod, tenant),
                ContactMethod.id == method_id,
                ContactMethod.user_id == user_id,
            )
        )
    if found is None:
        raise Invalid("contact_method_id", "not_found", f"this user has no contact method {method_id!r}")
    return str(found)


def _refuse_duplicate_rule(
    session: Session,
    tenant: Tenant,
    rule: NotificationRule,
) -> None:
    stmt = select(NotificationRule.id).where(
        *tenant_filter(NotificationRule, tenant),
        NotificationRule.user_id == rule.user_id,
        NotificationRule.contact_method_id == rule.contact_method_id,
        NotificationRule.urgency == rule.urgency,
        NotificationRule.delay_minutes == rule.delay_minutes,
        NotificationRule.id != rule.id,
    )
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(
            f"the same rule already exists ({existing}): that method, urgency and delay",
            {"notification_rule_id": existing},
        )


def create_notification_rule(
    *,
    session: Session,
    tenant: Tenant,
    user_id: str,
    contact_method_id: str,
    urgency: str,
    delay_minutes: int,
    now: datetime,
) -> NotificationRule:
    """``delay_minutes`` after the user is paged for an incident of ``urgency``, reach them through
    one of their own contact methods. The same rule twice is a 409."""
    user = _user(session, tenant, user_id)
    rule = NotificationRule(
        id=new_id("notification_rule"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        user_id=user.id,
        contact_method_id=_check_method_of(session, tenant, user.id, contact_method_id),
        urgency=_check_urgency(urgency),
        delay_minutes=check_int(delay_minutes, "delay_minutes", 0, MAX_DELAY_MINUTES),
        created_at=now,
    )
    with session.no_autoflush:
        _refuse_duplicate_rule(session, tenant, rule)
    session.add(rule)
    session.flush()
    return rule


def update_notification_rule(
    *, session: Session, tenant: Tenant, user_id: str, rule_id: str, changes: Mapping[str, Any]
) -> NotificationRule:
    rule = get_notification_rule(session=session, tenant=tenant, user_id=user_id, rule_id=rule_id)
    with session.no_autoflush:
        if "contact_method_id" in changes:
            rule.contact_method_id = _check_method_of(
                session, tenant, rule.user_id, changes["contact_method_id"]
            )
        if "urgency" in changes:
            rule.urgency = _check_urgency(changes["urgency"])
        if "delay_minutes" in changes:
            rule.delay_minutes = check_int(changes["delay_minutes"], "delay_minutes", 0, MAX_DELAY_MINUTES)
        _refuse_duplicate_rule(session, tenant, rule)
    session.flush()
    return rule


def delete_notification_rule(*, session: Session, tenant: Tenant, user_id: str, rule_id: str) -> None:
    rule = get_notification_rule(session=session, tenant=tenant, user_id=user_id, rule_id=rule_id)
    session.delete(rule)
    session.flush()


# --- what the engine asks ------------------------------------------------------------------------


def rule_urgency(urgency: str) -> str:
    """The rule set an incident urgency uses: HIGH → ``high``; MEDIUM and LOW → ``low``. A rule
    urgency (``high``, ``low``) maps to itself."""
    value = str(urgency).strip().lower()
    if value == "high":
        return "high"
    if value in ("medium", "low"):
        return "low"
    raise ValueError(f"unknown urgency {urgency!r}: expected HIGH, MEDIUM or LOW")


def plan_for(
    *,
    session: Session,
    tenant: Tenant,
    user_ids: Iterable[str],
    urgency: str,
    page_unverified: bool = False,
) -> dict[str, list[PlannedContact]]:
    """How to reach each of ``user_ids`` for an incident of ``urgency``: their rules for it, by
    delay; a user with none gets an email to their own address at once, so nobody paged is ever
    silently unreachable. Unverified methods stay in the plan, marked, for the caller to skip and
    say so; unless ``page_unverified``, a user whose every rule points at one also gets that
    account email. Ids that name no user of the tenant are left out. Two queries, whatever the
    number of users."""
    bucket = rule_urgency(urgency)
    wanted = {user_id for user_id in user_ids if isinstance(user_id, str)}
    if not wanted:
        return {}
    people = session.execute(
        select(User.id, User.name, User.email).where(*tenant_filter(User, tenant), User.id.in_(wanted))
    ).all()
    if not people:
        return {}
    rows = session.execute(
        select(
            NotificationRule.user_id,
            NotificationRule.delay_minutes,
            ContactMethod.id,
            ContactMethod.type,
            ContactMethod.address,
            ContactMethod.verified_at,
        )
        .join(ContactMethod, ContactMethod.id == NotificationRule.contact_method_id)
        .where(
            *tenant_filter(NotificationRule, tenant),
            *tenant_filter(ContactMethod, tenant),
            NotificationRule.user_id.in_([person.id for person in people]),
            NotificationRule.urgency == bucket,
        )
        .order_by(
            NotificationRule.user_id,
            NotificationRule.delay_minutes,
            NotificationRule.created_at,
            NotificationRule.id,
        )
    ).all()
    names = {person.id: person.name for person in people}
    plan: dict[str, list[PlannedContact]] = defaultdict(list)
    for user_id, delay, method_id, kind, address, verified_at in rows:
        plan[user_id].append(
            PlannedContact(user_id, names[user_id], method_id, kind, address, delay, verified_at is not None)
        )
    for person in people:
        planned = plan.get(person.id, [])
        if not planned or not (page_unverified or any(contact.verified for contact in planned)):
            plan[person.id].append(PlannedContact(person.id, person.name, None, "email", person.email, 0))
    return dict(plan)
