"""Usernames and team slugs: checked when given, derived when not, and found again by value.

Splunk On-Call names people and teams only by these handles, Grafana OnCall shows ``username``;
every user and team gets one at creation (and migration 0007 gave existing rows theirs)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tocsin.db.models import Team, User
from tocsin.domain.actor import Tenant
from tocsin.domain.handles import handle_from, is_handle, unique_handle
from tocsin.services.errors import Conflict, Invalid, NotFound
from tocsin.services.sql import tenant_filter

Handled = type[User] | type[Team]


def _column(model: Handled) -> InstrumentedAttribute[str | None]:
    return User.username if model is User else Team.slug


def _taken(session: Session, tenant: Tenant, model: Handled, prefix: str, exclude_id: str | None) -> set[str]:
    """The handles in the tenant starting with ``prefix``: all a candidate can collide with."""
    column = _column(model)
    stmt = select(column).where(*tenant_filter(model, tenant), column.startswith(prefix, autoescape=True))
    if exclude_id:
        stmt = stmt.where(model.id != exclude_id)
    return {value for value in session.scalars(stmt) if value}


def assign_username(
    *, session: Session, tenant: Tenant, wanted: str | None, email: str, exclude_id: str | None = None
) -> str:
    """``wanted`` checked (400 on a bad one, 409 when taken), or one derived from the email."""
    return _assign(session, tenant, User, "username", wanted, email, "user", exclude_id)


def assign_slug(
    *, session: Session, tenant: Tenant, wanted: str | None, name: str, exclude_id: str | None = None
) -> str:
    """``wanted`` checked (400 on a bad one, 409 when taken), or one derived from the team's name."""
    return _assign(session, tenant, Team, "slug", wanted, name, "team", exclude_id)


def _assign(
    session: Session,
    tenant: Tenant,
    model: Handled,
    field: str,
    wanted: str | None,
    source: str,
    fallback: str,
    exclude_id: str | None,
) -> str:
    if wanted is not None:
        value = wanted.strip().lower()
        if not is_handle(value):
            raise Invalid(
                field,
                "invalid",
                f"{field} must be 1-100 lowercase letters, digits, dots, dashes or underscores",
            )
        if value in _taken(session, tenant, model, value, exclude_id):
            raise Conflict(f"{field} {value!r} is already taken", {"field": field})
        return value
    base = handle_from(source, fallback)
    return unique_handle(base, _taken(session, tenant, model, base, exclude_id))


def user_by_username(*, session: Session, tenant: Tenant, username: str) -> User:
    """The user with this username (case-insensitive); 404 naming it otherwise."""
    user = session.scalar(
        select(User).where(*tenant_filter(User, tenant), User.username == username.strip().lower())
    )
    if user is None:
        raise NotFound("user", username)
    return user


def team_by_slug(*, session: Session, tenant: Tenant, slug: str) -> Team:
    """The team with this slug (case-insensitive); 404 naming it otherwise."""
    team = session.scalar(select(Team).where(*tenant_filter(Team, tenant), Team.slug == slug.strip().lower()))
    if team is None:
        raise NotFound("team", slug)
    return team
