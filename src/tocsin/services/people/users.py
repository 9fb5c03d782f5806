"""Users of an org: the people who get paged and act on incidents."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tocsin.db.models import ApiKey, IncidentAssignee, User
from tocsin.domain.actor import Tenant
from tocsin.domain.roles import ROLES
from tocsin.ids import new_id
from tocsin.services.checks import check_time_zone
from tocsin.services.errors import Conflict, Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.people.handles import assign_username
from tocsin.services.sql import load, tenant_filter

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _check_email(session: Session, tenant: Tenant, email: str, exclude_id: str | None = None) -> str:
    value = email.strip().lower()
    if not EMAIL.match(value) or len(value) > 320:
        raise Invalid("email", "invalid", f"{email!r} is not an email address")
    stmt = select(User.id).where(*tenant_filter(User, tenant), func.lower(User.email) == value)
    if exclude_id:
        stmt = stmt.where(User.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a user with email {value!r} already exists", {"field": "email"})
    return value


def _check_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` as stored: checked, the time zone trimmed."""
    checked = dict(changes)
    if "name" in changes and not (changes["name"] or "").strip():
        raise Invalid("name", "required", "name is required")
    if "role" in changes and changes["role"] not in ROLES:
        raise Invalid("role", "invalid", f"role must be one of {', '.join(ROLES)}")
    if "time_zone" in changes:
        checked["time_zone"] = check_time_zone(changes["time_zone"])
    if changes.get("phone") is not None and not PHONE.match(changes["phone"]):
        raise Invalid("phone", "invalid", "phone must be in E.164 form, e.g. +14155550123")
    if "status_notices" in changes and not isinstance(changes["status_notices"], bool):
        raise Invalid("status_notices", "invalid", "status_notices must be true or false")
    return checked


def create_user(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    name: str,
    email: str,
    role: str = "user",
    time_zone: str = "UTC",
    phone: str | None = None,
    username: str | None = None,
) -> User:
    """A new user; ``username`` (Splunk On-Call's handle) is derived from the email when not given."""
    checked = _check_fields({"name": name, "role": role, "time_zone": time_zone, "phone": phone})
    checked_email = _check_email(session, tenant, email)
    user = User(
        id=new_id("user"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        name=name.strip(),
        email=checked_email,
        username=assign_username(session=session, tenant=tenant, wanted=username, email=checked_email),
        role=role,
        time_zone=checked["time_zone"],
        phone=phone,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, tenant: Tenant, user_id: str) -> User:
    return load(session=session, model=User, tenant=tenant, ident=user_id, resource="user")


def list_users(
    *,
    session: Session,
    tenant: Tenant,
    email: str | None = None,
    username: str | None = None,
    query: str | None = None,
    limit: int,
    offset: int,
) -> Page[User]:
    stmt = select(User).where(*tenant_filter(User, tenant)).order_by(User.name, User.id)
    if email:
        stmt = stmt.where(func.lower(User.email) == email.strip().lower())
    if username:
        stmt = stmt.where(User.username == username.strip().lower())
    if query:
        needle = query.strip().lower()
        stmt = stmt.where(
            func.lower(User.name).contains(needle, autoescape=True)
            | func.lower(User.email).contains(needle, autoescape=True)
        )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def update_user(
    *, session: Session, tenant: Tenant, user_id: str, changes: dict[str, Any], now: datetime
) -> User:
    user = get_user(session=session, tenant=tenant, user_id=user_id)
    changes = _check_fields(changes)
    if "email" in changes:
        user.email = _check_email(session, tenant, changes["email"] or "", exclude_id=user.id)
    if changes.get("username") is not None:
        user.username = assign_username(
            session=session, tenant=tenant, wanted=changes["username"], email=user.email, exclude_id=user.id
        )
    for name in ("name", "role", "time_zone", "phone", "status_notices"):
        if name in changes:
            setattr(user, name, changes[name].strip() if name == "name" else changes[name])
    user.updated_at = now
    session.flush()
    return user


def delete_user(*, session: Session, tenant: Tenant, user_id: str, now: datetime) -> None:
    """Their keys are revoked (never turned into service keys) and their assignments dropped."""
    user = get_user(session=session, tenant=tenant, user_id=user_id)
    session.execute(
        update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
    )
    session.execute(delete(IncidentAssignee).where(IncidentAssignee.user_id == user.id))
    session.delete(user)
    session.flush()
