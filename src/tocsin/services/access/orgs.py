"""Orgs: the tenants. Created by an operator with the CLI, not over the API."""

from __future__ import annotations

import re
from datetime import datetime

from limits import parse as parse_limit
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import Org
from tocsin.ids import new_id
from tocsin.services.errors import Conflict, Invalid, NotFound

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LIMIT_CATEGORIES = ("events", "read", "write", "integration", "org_alerts")


def create_org(*, session: Session, slug: str, name: str, now: datetime) -> Org:
    """A new, empty tenant."""
    if not SLUG.match(slug):
        raise Invalid("slug", "format", "slug must be lowercase letters, digits and dashes (max 63)")
    if session.scalar(select(Org.id).where(Org.slug == slug)) is not None:
        raise Conflict(f"an org with slug {slug!r} already exists", {"field": "slug"})
    org = Org(id=new_id("org"), slug=slug, name=name or slug, rate_limits={}, created_at=now)
    session.add(org)
    session.flush()
    return org


def get_org(*, session: Session, org_id: str) -> Org:
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound("org", org_id)
    return org


def get_org_by_slug(*, session: Session, slug: str) -> Org:
    org = session.scalar(select(Org).where(Org.slug == slug))
    if org is None:
        raise NotFound("org", slug)
    return org


def set_rate_limits(*, session: Session, org_id: str, overrides: dict[str, str | None]) -> Org:
    """Per-org overrides of the default limits; ``None`` drops an override back to the default."""
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound("org", org_id)
    merged = dict(org.rate_limits)
    for category, value in overrides.items():
        if category not in LIMIT_CATEGORIES:
            raise Invalid("category", "unknown", f"rate limit category must be one of {LIMIT_CATEGORIES}")
        if value is None:
            merged.pop(category, None)
            continue
        try:
            parse_limit(value)
        except ValueError:
            raise Invalid(category, "format", f"{value!r} is not a limit such as '100/minute'") from None
        merged[category] = value
    org.rate_limits = merged
    session.flush()
    return org


def pages_unverified(*, session: Session, org_id: str) -> bool:
    """Whether the org pages contact methods nobody verified (off unless an admin turned it on)."""
    return bool(session.scalar(select(Org.page_unverified_contacts).where(Org.id == org_id)))


def update_settings(*, session: Session, org_id: str, page_unverified_contacts: object = None) -> Org:
    """Change the org's paging settings; ``None`` leaves a setting as it is."""
    org = get_org(session=session, org_id=org_id)
    if page_unverified_contacts is not None:
        if not isinstance(page_unverified_contacts, bool):
            raise Invalid(
                "page_unverified_contacts", "invalid", "page_unverified_contacts must be true or false"
            )
        org.page_unverified_contacts = page_unverified_contacts
    session.flush()
    return org
