"""API keys: minting (shown once), authenticating by hash, listing, revoking, and usage tallies."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.orm import Session

from tocsin.db.models import ApiKey, Org, User
from tocsin.db.types import UTCDateTime
from tocsin.domain.actor import Actor, Tenant
from tocsin.domain.api_keys import LIVE_PREFIX, TEST_PREFIX, display_prefix, hash_key, hashes_match, key_mode
from tocsin.domain.scopes import unknown_scopes
from tocsin.ids import new_id
from tocsin.services.errors import Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_filter


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What a request needs to know about its key, cached in memory by the API."""

    id: str
    org_id: str
    livemode: bool
    name: str
    scopes: frozenset[str]
    user_id: str | None
    user_name: str | None
    org_rate_limits: Mapping[str, str]
    org_api_id: str | None = None  # Splunk On-Call clients send it as X-VO-Api-Id
    # The role of the person a user-bound key acts as (``domain.roles``): an observer's key is
    # read-only whatever its scopes. None for a service key.
    user_role: str | None = None

    @property
    def tenant(self) -> Tenant:
        return Tenant(org_id=self.org_id, livemode=self.livemode)

    @property
    def actor(self) -> Actor:
        if self.user_id is not None:
            return Actor(type="user", id=self.user_id, name=self.user_name or self.user_id)
        return Actor(type="api_key", id=self.id, name=self.name)


@dataclass(frozen=True, slots=True)
class KeyUsage:
    calls: int
    last_used_at: datetime


def create_key(
    *,
    session: Session,
    tenant: Tenant,
    name: str,
    scopes: Iterable[str],
    now: datetime,
    user_id: str | None = None,
    created_by: str | None = None,
) -> tuple[ApiKey, str]:
    """Mint a key. The secret is returned once and only its hash is kept."""
    scope_list = sorted(set(scopes))
    if not scope_list:
        raise Invalid("scopes", "required", "a key needs at least one scope")
    unknown = unknown_scopes(scope_list)
    if unknown:
        raise Invalid("scopes", "unknown", f"unknown scopes: {', '.join(unknown)}")
    if not name.strip():
        raise Invalid("name", "required", "a key needs a name")
    if user_id is not None:
        load(session=session, model=User, tenant=tenant, ident=user_id, resource="user")
    secret = (LIVE_PREFIX if tenant.livemode else TEST_PREFIX) + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("api_key"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        name=name.strip(),
        prefix=display_prefix(secret),
        key_hash=hash_key(secret),
        scopes=scope_list,
        user_id=user_id,
        created_by=created_by,
        call_count=0,
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key, secret


def authenticate(*, session: Session, secret: str) -> KeyRecord | None:
    """The live, unrevoked key behind ``secret``, or ``None``; never says which part was wrong."""
    livemode = key_mode(secret)
    if livemode is None:
        return None
    row = session.execute(
        select(ApiKey, Org.rate_limits, Org.api_id, User.name, User.role)
        .join(Org, Org.id == ApiKey.org_id)
        .outerjoin(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    key, rate_limits, api_id, user_name, user_role = row
    if not hashes_match(key.key_hash, secret) or key.livemode != livemode:
        return None
    return KeyRecord(
        id=key.id,
        org_id=key.org_id,
        livemode=key.livemode,
        name=key.name,
        scopes=frozenset(key.scopes),
        user_id=key.user_id,
        user_name=user_name,
        org_rate_limits=dict(rate_limits or {}),
        org_api_id=api_id,
        user_role=user_role,
    )


def list_keys(*, session: Session, tenant: Tenant, limit: int, offset: int) -> Page[ApiKey]:
    stmt = select(ApiKey).where(*tenant_filter(ApiKey, tenant)).order_by(ApiKey.created_at.desc(), ApiKey.id)
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def get_key(*, session: Session, tenant: Tenant, key_id: str) -> ApiKey:
    return load(session=session, model=ApiKey, tenant=tenant, ident=key_id, resource="api_key")


def revoke_key(*, session: Session, tenant: Tenant, key_id: str, now: datetime) -> ApiKey:
    """Revoking twice is harmless: the first revocation time is kept."""
    key = load(session=session, model=ApiKey, tenant=tenant, ident=key_id, resource="api_key")
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key


def record_usage(*, session: Session, usage: Mapping[str, KeyUsage]) -> None:
    """Add a batch of call counts; one UPDATE per key per flush instead of one per request."""
    for key_id, tally in usage.items():
        seen = literal(tally.last_used_at, UTCDateTime)
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .values(
                call_count=ApiKey.call_count + tally.calls,
                last_used_at=case(
                    (or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < seen), seen),
                    else_=ApiKey.last_used_at,
                ),
            )
        )
