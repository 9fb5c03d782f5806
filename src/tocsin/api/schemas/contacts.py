"""Contact methods, notification rules and service channels on the wire.

Addresses are checked per type by the service, which answers VALIDATION_ERROR naming the field, so
the rules live in one place; these models fix the types. Integers are strict.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, computed_field

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
    verified_at: Timestamp | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verified(self) -> bool:
        """Proven to reach the person (a code sent to it came back). Unverified methods are not
        paged unless the org's ``page_unverified_contacts`` is on."""
        return self.verified_at is not None


class ContactMethodCreate(WriteModel):
    type: ContactType
    address: str = Field(description=ADDRESS_HELP)
    label: str | None = Field(default=None, max_length=200)


class ContactMethodUpdate(WriteModel):
    """A new ``type`` needs an ``address`` valid for it (the stored one is checked if none is sent).
    A new address or type makes the method unverified again."""

    type: ContactType | None = None
    address: str | None = Field(default=None, description=ADDRESS_HELP)
    label: str | None = Field(default=None, max_length=200)


class ContactCheckRead(ReadModel):
    """A verification code or test page sent to a contact method, and what the provider said."""

    id: str
    contact_method_id: str
    user_id: str
    kind: Literal["verification", "test"]
    outcome: Literal["pending", "delivered", "failed"] = Field(validation_alias="status")
    error: str | None = Field(description="The provider's error when the outcome is failed")
    provider_id: str | None = Field(
        description="The provider's id for the message (SMTP Message-ID, Twilio SID)"
    )
    expires_at: Timestamp | None = Field(description="When a verification code stops working")
    livemode: bool
    created_at: Timestamp
    finished_at: Timestamp | None


class VerifyBody(WriteModel):
    code: str = Field(description="The 6-digit code sent to the contact method", max_length=32)


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
