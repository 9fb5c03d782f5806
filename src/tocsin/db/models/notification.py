"""How a person is reached: contact methods, and rules saying when each is used for an incident."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.models.base import Base, TenantMixin
from tocsin.db.types import UTCDateTime


class ContactMethod(TenantMixin, Base):
    """``type`` is email | sms | voice | push | slack | teams | webhook; ``address`` is the email
    address, the E.164 number, the ntfy topic, or the webhook URL."""

    __tablename__ = "contact_methods"
    index_org_id = False

    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(2048), nullable=False)
    label: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # When the person proved the address reaches them (a code sent to it came back); None: not
    # verified, and not paged unless the org allows it (``Org.page_unverified_contacts``). A new
    # address clears it.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactCheck(TenantMixin, Base):
    """One message sent to a contact method to prove it works: a verification code (``kind``
    ``verification``) or a labelled test page (``test``). The engine sends it (only the engine
    calls channels) and writes the outcome here, which the API waits on and the person can poll.

    The code itself is never stored: ``code_hash`` is salted SHA-256, written by the engine just
    before it sends the code. ``address`` is the one it went to, so a code stops working when the
    address changes. The rows also count sends for the rate limits."""

    __tablename__ = "contact_checks"
    index_org_id = False
    __table_args__ = (Index("ix_contact_checks_method_created", "contact_method_id", "created_at"),)

    contact_method_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("contact_methods.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(2048), nullable=False)
    # pending | delivered | failed
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_hash: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrong_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class NotificationRule(TenantMixin, Base):
    """ "``delay_minutes`` after I am paged, reach me through ``contact_method_id``", for incidents of
    ``urgency`` high (HIGH) or low (MEDIUM and LOW)."""

    __tablename__ = "notification_rules"
    index_org_id = False

    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    contact_method_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("contact_methods.id", ondelete="CASCADE"), nullable=False, index=True
    )
    urgency: Mapped[str] = mapped_column(String(8), nullable=False)
    delay_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ServiceChannel(TenantMixin, Base):
    """A chat room or endpoint told about every incident of a service (Slack, Teams, webhook)."""

    __tablename__ = "service_channels"
    index_org_id = False

    service_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    label: Mapped[str | None] = mapped_column(String(200))


class LinkUse(Base):
    """A one-click link that was used: its token id, so the link works once and then refuses."""

    __tablename__ = "link_uses"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False)
    incident_id: Mapped[str] = mapped_column(String(40), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ServerSecret(Base):
    """Secrets the server makes for itself (the one-click link signing key), shared by replicas."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
