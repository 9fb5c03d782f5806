"""Signed-in browser sessions: when one ends, when its sliding expiry is worth writing down, and its
CSRF token. Pure: the clock comes in as ``now``, the random token from the caller.

Lifetimes (``SessionPolicy``): a phone on call stays signed in for weeks, so a session slides
forward each time it is used, up to 30 days idle; it ends 90 days after sign-in however busy it
was, so a stolen cookie or a lost phone is not a key for ever and the password is asked about once
a quarter. Revocation ("sign out", "sign out everywhere") ends one at once, whatever its expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

_CSRF_CONTEXT: Final = b"tocsin web csrf v1"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = timedelta(days=30)
    absolute: timedelta = timedelta(days=90)
    # A session's last use is written at most this often: reading a page must not cost a write
    # transaction (SQLite has one writer for the whole server), and minutes are fine on 30 days.
    touch_every: timedelta = timedelta(minutes=5)


def expires_at(*, created_at: datetime, last_seen_at: datetime, policy: SessionPolicy) -> datetime:
    """The idle deadline from the last use, never past the absolute deadline from sign-in."""
    return min(last_seen_at + policy.idle, created_at + policy.absolute)


def is_live(*, expires: datetime, revoked_at: datetime | None, now: datetime) -> bool:
    """Revoked sessions end at once; the others at their expiry (exclusive)."""
    return revoked_at is None and now < expires


def needs_touch(*, last_seen_at: datetime, now: datetime, policy: SessionPolicy) -> bool:
    """Whether this use should slide the expiry forward (and so cost a write)."""
    return now - last_seen_at >= policy.touch_every


def csrf_token(session_token: str) -> str:
    """The session's CSRF token, derived from the cookie's secret (HMAC), so nothing more is stored
    and a stolen database row (which holds only the cookie's hash) cannot forge it either."""
    digest = hmac.new(session_token.encode(), _CSRF_CONTEXT, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(session_token: str, presented: str | None) -> bool:
    """Constant-time: timing says nothing about how much of a forged token was right."""
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(session_token).encode(), presented.encode())
