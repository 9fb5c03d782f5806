"""Outbound webhooks: the subscriptions (URL, event filter, signing secret) and their checks.
What a subscription is sent, and the log of it, is ``webhook_deliveries``."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.db.models import WebhookSubscription
from tocsin.domain import webhook_events
from tocsin.domain.actor import Tenant
from tocsin.domain.webhook_events import EVENTS
from tocsin.ids import new_id
from tocsin.services.checks import check_bool, check_optional_text, check_url
from tocsin.services.errors import Invalid
from tocsin.services.pagination import Page, paginate
from tocsin.services.sql import load, tenant_filter

SECRET_PREFIX: Final = "whsec_"
MIN_SECRET: Final = 16
MAX_SECRET: Final = 200
MAX_DESCRIPTION: Final = 2000


def mask_secret(secret: str) -> str:
    """The only form of a secret shown after it was created: its last four characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_events(value: Any, field: str = "events") -> list[str]:
    """Event names to filter on, deduplicated in order; empty (or none) means every event."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise Invalid(field, "invalid", f"{field} must be a list of event names")
    for index, name in enumerate(value):
        if webhook_events.unknown_events([name]):
            raise Invalid(
                f"{field}.{index}",
                "unknown",
                f"unknown event {name!r}; events are {', '.join(EVENTS)} (empty means all)",
            )
    return list(dict.fromkeys(value))


def check_secret(value: Any, field: str = "secret") -> str:
    if not isinstance(value, str):
        raise Invalid(field, "invalid", f"{field} must be a string")
    if not MIN_SECRET <= len(value) <= MAX_SECRET or any(ch.isspace() for ch in value):
        raise Invalid(
            field,
            "length",
            f"{field} is {MIN_SECRET} to {MAX_SECRET} characters without spaces; leave it out to get one",
        )
    return value


# Subscriptions ----------------------------------------------------------------------------------


def get_webhook(*, session: Session, tenant: Tenant, webhook_id: str) -> WebhookSubscription:
    return load(
        session=session, model=WebhookSubscription, tenant=tenant, ident=webhook_id, resource="webhook"
    )


def list_webhooks(*, session: Session, tenant: Tenant, limit: int, offset: int) -> Page[WebhookSubscription]:
    """Oldest first, so a page boundary does not move when a new one is added."""
    stmt = (
        select(WebhookSubscription)
        .where(*tenant_filter(WebhookSubscription, tenant))
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return paginate(session=session, stmt=stmt, limit=limit, offset=offset)


def any_enabled(*, session: Session, tenant: Tenant) -> bool:
    """Whether this tenant has an enabled subscription: the webhook channel is then configured."""
    found = session.scalar(
        select(WebhookSubscription.id)
        .where(*tenant_filter(WebhookSubscription, tenant), WebhookSubscription.enabled.is_(True))
        .limit(1)
    )
    return found is not None


def create_webhook(
    *,
    session: Session,
    tenant: Tenant,
    now: datetime,
    url: str,
    secret: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    enabled: bool = True,
) -> WebhookSubscription:
    """A subscription; without ``secret`` one is generated. The caller shows it once, then only masked."""
    webhook = WebhookSubscription(
        id=new_id("webhook"),
        org_id=tenant.org_id,
        livemode=tenant.livemode,
        url=check_url(url),
        secret=new_secret() if secret is None else check_secret(secret),
        events=check_events(None if events is None else list(events)),
        description=check_optional_text(description, "description", MAX_DESCRIPTION),
        enabled=check_bool(enabled, "enabled"),
        created_at=now,
        updated_at=now,
    )
    session.add(webhook)
    session.flush()
    return webhook


def update_webhook(
    *, session: Session, tenant: Tenant, webhook_id: str, changes: dict[str, Any], now: datetime
) -> WebhookSubscription:
    """Only the keys in ``changes`` change (``url``, ``events``, ``description``, ``enabled``)."""
    webhook = get_webhook(session=session, tenant=tenant, webhook_id=webhook_id)
    if "url" in changes:
        webhook.url = check_url(changes["url"])
    if "events" in changes:
        webhook.events = check_events(changes["events"])
    if "description" in changes:
        webhook.description = check_optional_text(changes["description"], "description", MAX_DESCRIPTION)
    if "enabled" in changes:
        webhook.enabled = check_bool(changes["enabled"], "enabled")
    webhook.updated_at = now
    session.flush()
    return webhook


def rotate_secret(
    *, session: Session, tenant: Tenant, webhook_id: str, now: datetime, secret: str | None = None
) -> WebhookSubscription:
    """A new signing secret, used from the next attempt on (retries of queued deliveries included)."""
    webhook = get_webhook(session=session, tenant=tenant, webhook_id=webhook_id)
    webhook.secret = new_secret() if secret is None else check_secret(secret)
    webhook.updated_at = now
    session.flush()
    return webhook


def delete_webhook(*, session: Session, tenant: Tenant, webhook_id: str) -> None:
    """Its deliveries go with it; their queued jobs then finish without sending."""
    webhook = get_webhook(session=session, tenant=tenant, webhook_id=webhook_id)
    session.delete(webhook)
    session.flush()
