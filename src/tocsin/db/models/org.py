"""Orgs, users and teams: who is who in a tenant."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import JSONType, UTCDateTime


def new_api_id() -> str:
    """The org's public API id (Splunk On-Call's ``X-VO-Api-Id``): not a secret, only names the org
    a key must belong to; 12 hex characters, like the short ids Splunk hands out."""
    return secrets.token_hex(6)


def new_ical_token() -> str:
    """The secret part of a calendar feed URL (``/ical/users/<token>.ics``): 192 random bits."""
    return secrets.token_urlsafe(24)


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Per-org overrides of the rate limits, e.g. {"read": "1000/minute"}.
    rate_limits: Mapped[dict[str, str]] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Splunk On-Call's ``X-VO-Api-Id``: sent with every key, must match the key's org.
    api_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=new_api_id)
    # Page contact methods nobody verified (off: they are skipped, and the timeline says so).
    page_unverified_contacts: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )


class Counter(Base):
    """Per-org sequences (incident numbers), one row per (org, mode, name), bumped under a row lock."""

    __tablename__ = "counters"

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class User(TenantMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("org_id", "livemode", "email"),
        # Tenant-scoped lookups by id (``org_id = ? AND livemode = ? AND id IN (...)``): without it
        # an unanalyzed SQLite walks the whole org through the email index.
        Index("ix_users_tenant_id", "org_id", "livemode", "id"),
        Index("ix_users_tenant_username", "org_id", "livemode", "username", unique=True),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="user")
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    phone: Mapped[str | None] = mapped_column(String(32))
    # The handle Splunk On-Call and Grafana OnCall name people by; unique in the tenant, lowercase.
    username: Mapped[str | None] = mapped_column(String(100))
    # A short notice when someone else acknowledges or resolves an incident they were paged for,
    # on each channel that paged them (``services/paging.notify_paged``).
    status_notices: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ical_token: Mapped[str] = mapped_column(
        String(64), nullable=False, unique=True, index=True, default=new_ical_token
    )
    # Argon2id (``services/accounts/passwords``); null: this person cannot sign in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(200))


class Team(TenantMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("org_id", "livemode", "name"),
        Index("ix_teams_tenant_slug", "org_id", "livemode", "slug", unique=True),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The handle Splunk On-Call names teams by (``team-payments``); unique in the tenant.
    slug: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamMember.created_at"
    )


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="responder")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")
