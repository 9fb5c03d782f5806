"""Signed-in browser sessions: server-side rows, so one can be revoked at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.models.base import Base
from tocsin.db.types import UTCDateTime


class WebSession(Base):
    """One sign-in. ``id`` is the SHA-256 of the cookie's random token: the token itself is never
    stored, so a copy of the database signs nobody in."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Deleting a user ends their sessions with them.
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False)
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Sliding: min(last use + idle, sign-in + absolute); see ``domain.web_sessions``.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Shown in a "where you are signed in" list; never used to decide anything.
    user_agent: Mapped[str | None] = mapped_column(String(400))
    ip: Mapped[str | None] = mapped_column(String(64))
