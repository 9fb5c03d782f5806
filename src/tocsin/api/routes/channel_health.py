"""``GET /api/org/channel-health``: how each delivery channel of the calling key's org (in the key's
mode) is faring, so a team sees "SMTP has been failing for 40 minutes" before a missed page does.

A channel is configured when this server's settings set it up (SMTP, Twilio, ntfy) or, for Slack,
Teams and webhooks, when the org has somewhere to send: a room, a person's address or an enabled
subscription. Needs ``services:read``, as the webhook and room lists do: errors name hosts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from tocsin.api.deps import AppSettings, Db, Now, ServicesRead
from tocsin.api.schemas.channel_health import ChannelHealthRead, ChannelHealthView
from tocsin.api.schemas.common import Envelope, envelope
from tocsin.config import Settings
from tocsin.domain.actor import Tenant
from tocsin.domain.channel_health import ADDRESSED, CHANNELS, canonical
from tocsin.services.catalog.channels import room_types
from tocsin.services.deliveries.health import channel_health
from tocsin.services.errors import Invalid
from tocsin.services.people.contacts import contact_types
from tocsin.services.query import csv_values
from tocsin.services.webhooks.subscriptions import any_enabled

router = APIRouter(prefix="/api/org", tags=["org"])

ChannelFilter = Annotated[
    str | None,
    Query(description=f"Only these channels, comma-separated: {', '.join(CHANNELS)}"),
]


def configured_channels(*, session: Session, tenant: Tenant, settings: Settings) -> frozenset[str]:
    """The channels the server can send on by itself (``Settings.channel_types``, less those that
    need an org's address), and those the org has an address for."""
    addressed = room_types(session=session, tenant=tenant) | contact_types(session=session, tenant=tenant)
    if any_enabled(session=session, tenant=tenant):
        addressed |= {"webhook"}
    return (settings.channel_types() - ADDRESSED) | (addressed & ADDRESSED)


def _wanted(raw: str | None) -> frozenset[str] | None:
    if raw is None:
        return None
    wanted = frozenset(canonical(value.lower()) for value in csv_values(raw))
    unknown = sorted(wanted - set(CHANNELS))
    if unknown or not wanted:
        shown = ", ".join(repr(value) for value in unknown) or "nothing"
        raise Invalid("channel", "invalid", f"channel: {shown} is not one of {', '.join(CHANNELS)}")
    return wanted


@router.get(
    "/channel-health",
    response_model=Envelope[ChannelHealthView],
    summary="How each delivery channel is faring",
)
def get_channel_health(
    key: ServicesRead, db: Db, now: Now, settings: AppSettings, channel: ChannelFilter = None
) -> dict[str, Any]:
    """Every channel (configured or not), then any other channel with attempts: ``status`` is
    ``failing`` (no success for ``failing_after_minutes``), ``not_configured``, ``unused`` (never
    attempted) or ``ok``; ``last_24h`` counts attempts in the current hour and the 24 before it."""
    wanted = _wanted(channel)
    minutes = settings.channel_failing_minutes
    with db.read() as session:
        reports = channel_health(
            session=session,
            tenant=key.tenant,
            configured=configured_channels(session=session, tenant=key.tenant, settings=settings),
            now=now,
            failing_after=timedelta(minutes=minutes),
        )
    shown = [ChannelHealthRead.of(report) for report in reports if wanted is None or report.channel in wanted]
    return envelope(ChannelHealthView(channels=shown, failing_after_minutes=minutes, checked_at=now))
