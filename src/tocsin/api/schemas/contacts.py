"""Contact methods, notification rules and service channels on the wire.

Addresses are checked per type by the service, which answers VALIDATION_ERROR naming the field, so
the rules live in one place; these models fix the types. Integers are strict.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tocsin.api.schemas.common import ReadModel, Timestamp, WriteModel

ContactType = Literal["email", "sms", "voice", "push", "slack", "teams", "webhook"]
ChannelType = Literal["slack", "teams", "webhook"]
RuleUrgency = Literal["high", "low"]
StrictInt = Annotated[int, Field(strict=True)]

ADDRESS_HELP = (
    "email: an address; sms and voice: E.164 (+14155550123); push: an ntfy topic; "
    "slack, teams, webhook: an https:// (or http://) URL without credentials"
)


class ContactMethodRead(ReadModel):
    id: str
    user_id: str
    type: ContactType
    address: str
    label: str | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class ContactMethodCreate(WriteModel):
    type: ContactType
    address: str = Field(description=ADDRESS_HELP)
    label: str | None = Field(default=None, max_length=200)


class ContactMethodUpdate(WriteModel):
    """A new ``type`` needs an ``address`` valid for it (the stored one is checked if none is sent)."""

    type: ContactType | None = None
    address: str | None = Field(default=None, description=ADDRESS_HELP)
    label: str | None = Field(default=None, max_length=200)


class NotificationRuleRead(ReadModel):
    id: str
    user_id: str
    contact_method_id: str
    urgency: RuleUrgency
    delay_minutes: int
    livemode: bool
    created_at: Timestamp


class NotificationRuleCreate(WriteModel):
    """``delay_minutes`` (0-1440) after the user is paged for an incident of ``urgency`` (``high``:
    HIGH incidents; ``low``: MEDIUM and LOW), reach them through ``contact_method_id``, one of their
    own methods. A user with no rule for an urgency is emailed at their user email at once."""

    contact_method_id: str
    urgency: RuleUrgency
    delay_minutes: StrictInt = 0


class NotificationRuleUpdate(WriteModel):
    contact_method_id: str | None = None
    urgency: RuleUrgency | None = None
    delay_minutes: StrictInt | None = None


class ServiceChannelRead(ReadModel):
    id: str
    service_id: str
    type: ChannelType
    url: str
    label: str | None
    livemode: bool
    created_at: Timestamp


class ServiceChannelCreate(WriteModel):
    type: ChannelType
    url: str = Field(description="An https:// (or http://) URL without credentials")
    label: str | None = Field(default=None, max_length=200)
